// Dead letters back to the queue (`pos-sync requeue`): the row becomes pending again with a fresh
// refusal count (its bookkeeping row is removed). SyncAttempts stays: it is the seed's history of
// every attempt. Kafka events parked because they cannot be built are queued for Kafka again.

import type { Database, Statement } from 'better-sqlite3';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { STATE_TABLE } from './migrations.js';
import { TABLE } from './queue.js';

export type IdFate =
  /** `kafka`: it was a parked Kafka event (delivered, its event could not be built), queued for Kafka again. */
  | { readonly id: string; readonly entity: Entity; readonly result: 'requeued'; readonly kafka?: true }
  /** Found, but not dead-lettered: still pending, or already synced. Nothing to do. */
  | { readonly id: string; readonly entity: Entity; readonly result: 'notDeadLettered'; readonly synced: boolean }
  | { readonly id: string; readonly entity: null; readonly result: 'unknown' };

/** Dead letters of an entity whose row is still unsynced (the POS's queue decides). */
const deadOf = (entity: Entity): string =>
  `"Entity" = '${entity}' AND "DeadLetteredAt" IS NOT NULL AND EXISTS (SELECT 1 FROM "${TABLE[entity]}" AS p WHERE p."Id" = "${STATE_TABLE}"."Id" AND p."Synced" = 0)`;

/** Parked Kafka events back to the Kafka backlog; returns how many. */
function unparkKafka(db: Database, where = '', ...params: unknown[]): number {
  return db.prepare(`UPDATE "${STATE_TABLE}" SET "KafkaPending" = 1, "KafkaError" = NULL WHERE "KafkaPending" = 2 ${where}`).run(...params).changes;
}

export function requeueAll(db: Database): Record<Entity, number> & { readonly kafka: number } {
  return db.transaction(() => {
    const counts = { transaction: 0, inventory: 0, kafka: 0 };
    for (const entity of ENTITIES) counts[entity] = db.prepare(`DELETE FROM "${STATE_TABLE}" WHERE ${deadOf(entity)}`).run().changes;
    counts.kafka = unparkKafka(db);
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
    ENTITIES.map((e) => [
      e,
      db.prepare(
        `SELECT p."Id" AS id, p."Synced" AS synced, s."DeadLetteredAt" AS dead, s."KafkaPending" AS kafka FROM "${TABLE[e]}" AS p
         LEFT JOIN "${STATE_TABLE}" AS s ON s."Entity" = '${e}' AND s."Id" = p."Id" WHERE p."Id" = ?`,
      ),
    ]),
  ) as Record<Entity, Statement>;
  const update = Object.fromEntries(ENTITIES.map((e) => [e, db.prepare(`DELETE FROM "${STATE_TABLE}" WHERE "Entity" = '${e}' AND "Id" = ? AND "DeadLetteredAt" IS NOT NULL`)])) as Record<
    Entity,
    Statement
  >;
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
        const row = find[entity].get(candidate) as { id: string; synced: number; dead: string | null; kafka: number | null } | undefined;
        if (!row) continue;
        if (row.kafka === 2) {
          unparkKafka(db, `AND "Entity" = ? AND "Id" = ?`, entity, row.id);
          return { id: row.id, entity, result: 'requeued', kafka: true };
        }
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
    // Dead letters are pos-sync's own bookkeeping (PosSync_RowState) of rows still unsynced.
    const from = `"${STATE_TABLE}" AS s JOIN "${t}" AS p ON p."Id" = s."Id" WHERE s."Entity" = '${entity}' AND s."DeadLetteredAt" IS NOT NULL AND p."Synced" = 0`;
    total += db.prepare(`SELECT count(*) FROM ${from}`).pluck().get() as number;
    const amount = entity === 'transaction' ? `p."TotalAmount"` : `p."PreviousStock" || ' → ' || p."NewStock"`;
    const found = db
      .prepare(
        `SELECT p."Id" AS id, p."ProductId" AS productId, ${amount} AS amount, s."Rejections" AS refusals, p."LastSyncError" AS reason, s."DeadLetteredAt" AS at
         FROM ${from} ORDER BY s."DeadLetteredAt", p.rowid LIMIT ?`,
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
