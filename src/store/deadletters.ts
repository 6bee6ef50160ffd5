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
