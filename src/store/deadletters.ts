// Dead letters back to the queue (`pos-sync requeue`): the row becomes pending again with a fresh
// refusal count. SyncAttempts stays: it is the seed's history of every attempt.

import type { Database } from 'better-sqlite3';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { TABLE } from './queue.js';

const RESET = `"DeadLetteredAt" = NULL, "NextAttemptAt" = NULL, "SyncRejections" = 0`;

export type IdFate =
  | { readonly id: string; readonly entity: Entity; readonly result: 'requeued' }
  /** Found, but not dead-lettered: still pending, or already synced. Nothing to do. */
  | { readonly id: string; readonly entity: Entity; readonly result: 'notDeadLettered'; readonly synced: boolean }
  | { readonly id: string; readonly entity: null; readonly result: 'unknown' };

export function requeueAll(db: Database): Record<Entity, number> {
  return db.transaction(() => {
    const counts = { transaction: 0, inventory: 0 };
    for (const entity of ENTITIES) {
      counts[entity] = db.prepare(`UPDATE "${TABLE[entity]}" SET ${RESET} WHERE "DeadLetteredAt" IS NOT NULL AND "Synced" = 0`).run().changes;
    }
    return counts;
  }).immediate();
}

/**
 * Requeues the given row ids (either entity). Ids are the POS's upper-case GUIDs; one typed in
 * lower case is found too, through an exact lookup of its upper-case form (the primary key stays
 * usable, unlike a case-insensitive comparison).
 */
export function requeueIds(db: Database, ids: readonly string[]): IdFate[] {
  const find = Object.fromEntries(
    ENTITIES.map((e) => [e, db.prepare(`SELECT "Id" AS id, "Synced" AS synced, "DeadLetteredAt" AS dead FROM "${TABLE[e]}" WHERE "Id" = ?`)]),
  ) as Record<Entity, import('better-sqlite3').Statement>;
  const update = Object.fromEntries(
    ENTITIES.map((e) => [e, db.prepare(`UPDATE "${TABLE[e]}" SET ${RESET} WHERE "Id" = ? AND "DeadLetteredAt" IS NOT NULL AND "Synced" = 0`)]),
  ) as Record<Entity, import('better-sqlite3').Statement>;
  return db.transaction(() => {
    const fates: IdFate[] = [];
    for (const given of [...new Set(ids)]) {
      fates.push(requeueOne(given));
    }
    return fates;
  }).immediate();

  function requeueOne(given: string): IdFate {
    for (const entity of ENTITIES) {
      for (const candidate of new Set([given, given.toUpperCase()])) {
        const row = find[entity].get(candidate) as { id: string; synced: number; dead: string | null } | undefined;
        if (!row) continue;
        if (row.dead === null || row.synced !== 0) return { id: row.id, entity, result: 'notDeadLettered', synced: row.synced === 1 };
        update[entity].run(row.id);
        return { id: row.id, entity, result: 'requeued' };
      }
    }
    return { id: given, entity: null, result: 'unknown' };
  }
}

/** One dead-lettered row as a technician needs it to decide (and to run `requeue --id`). */
export interface DeadLetter {
  readonly id: string;
  readonly entity: Entity;
  readonly productId: string | null;
  /** A sale's TotalAmount as the POS wrote it; an inventory update's "PreviousStock → NewStock". */
  readonly amount: string | null;
  readonly refusals: number;
  /** The central's last reason (LastSyncError). */
  readonly lastReason: string | null;
  /** When it was dead-lettered, as stored (the database's UTC text). */
  readonly deadLetteredAt: string;
}

/**
 * Dead-lettered rows, oldest first, at most `limit` of them, and how many there are in all. Every
 * query about dead letters lives here, so where pos-sync keeps its per-row bookkeeping can change
 * under the callers.
 */
export function listDeadLetters(db: Database, limit: number): { readonly rows: DeadLetter[]; readonly total: number } {
  const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  const rows: DeadLetter[] = [];
  let total = 0;
  for (const entity of ENTITIES) {
    const t = TABLE[entity];
    total += db.prepare(`SELECT count(*) FROM "${t}" WHERE "DeadLetteredAt" IS NOT NULL AND "Synced" = 0`).pluck().get() as number;
    const amount = entity === 'transaction' ? `"TotalAmount"` : `"PreviousStock" || ' → ' || "NewStock"`;
    const found = db
      .prepare(
        `SELECT "Id" AS id, "ProductId" AS productId, ${amount} AS amount, "SyncRejections" AS refusals, "LastSyncError" AS reason, "DeadLetteredAt" AS at
         FROM "${t}" WHERE "DeadLetteredAt" IS NOT NULL AND "Synced" = 0 ORDER BY "DeadLetteredAt", rowid LIMIT ?`,
      )
      .all(limit) as { id: unknown; productId: unknown; amount: unknown; refusals: unknown; reason: unknown; at: unknown }[];
    for (const r of found) {
      rows.push({
        id: String(r.id),
        entity,
        productId: text(r.productId),
        amount: text(r.amount),
        refusals: typeof r.refusals === 'number' ? r.refusals : 0,
        lastReason: text(r.reason),
        deadLetteredAt: String(r.at),
      });
    }
  }
  rows.sort((a, b) => (a.deadLetteredAt < b.deadLetteredAt ? -1 : a.deadLetteredAt > b.deadLetteredAt ? 1 : 0));
  return { rows: rows.slice(0, limit), total };
}
