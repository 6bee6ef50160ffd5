// Retention (`pos-sync cleanup`): which rows are old enough to delete, and deleting them in short
// transactions so the POS, writing into the same file, is never locked out for long.

import type { Database } from 'better-sqlite3';
import type { Entity } from '../domain/rows.js';
import { STATE_TABLE } from './migrations.js';
import { TABLE } from './queue.js';

export interface RetentionCutoffs {
  /** SyncRetryLogs and SyncServiceStatuses rows before this (EF datetime text) go. */
  readonly dataBefore: string;
  /** Synced business rows whose SyncedAt is before this go; null: keep them all. */
  readonly syncedBefore: string | null;
}

export interface RetentionCounts {
  readonly retryLogs: number;
  readonly runHistory: number;
  readonly transactions: number;
  readonly inventory: number;
}

interface Target {
  readonly key: keyof RetentionCounts;
  readonly table: string;
  /** A condition on the row alone, with `?` parameters. */
  readonly where: string;
  readonly params: readonly (string | number)[];
}

/**
 * Only a row that is synced, delivered to Kafka when that is on, never dead-lettered and with a
 * known SyncedAt is ever deleted: the POS's unsynced sales are the one thing that must not be lost.
 */
const deliveredAndOld = (entity: Entity): string =>
  `"Synced" = 1 AND "SyncedAt" IS NOT NULL AND "SyncedAt" < ? AND NOT EXISTS (SELECT 1 FROM "${STATE_TABLE}" AS s
     WHERE s."Entity" = '${entity}' AND s."Id" = "${TABLE[entity]}"."Id" AND (s."KafkaPending" <> 0 OR s."DeadLetteredAt" IS NOT NULL))`;

function targets(db: Database, cutoffs: RetentionCutoffs): Target[] {
  // The newest run-history row stays whatever its age, so `status` can still show the last pass.
  const newest = db.prepare(`SELECT rowid FROM "SyncServiceStatuses" ORDER BY "LastSyncRun" DESC, rowid DESC LIMIT 1`).pluck().get() as number | undefined;
  const list: Target[] = [
    { key: 'retryLogs', table: 'SyncRetryLogs', where: `"AttemptTime" < ?`, params: [cutoffs.dataBefore] },
    { key: 'runHistory', table: 'SyncServiceStatuses', where: `"LastSyncRun" < ? AND rowid <> ?`, params: [cutoffs.dataBefore, newest ?? -1] },
  ];
  if (cutoffs.syncedBefore !== null) {
    const entityKey: Record<Entity, keyof RetentionCounts> = { transaction: 'transactions', inventory: 'inventory' };
    for (const entity of ['transaction', 'inventory'] as const) {
      list.push({ key: entityKey[entity], table: TABLE[entity], where: deliveredAndOld(entity), params: [cutoffs.syncedBefore] });
    }
  }
  return list;
}

const none = (): { -readonly [K in keyof RetentionCounts]: number } => ({ retryLogs: 0, runHistory: 0, transactions: 0, inventory: 0 });

/** How many rows deleteExpired would delete now (for --dry-run). */
export function countExpired(db: Database, cutoffs: RetentionCutoffs): RetentionCounts {
  const counts = none();
  for (const t of targets(db, cutoffs)) {
    counts[t.key] = db.prepare(`SELECT count(*) FROM "${t.table}" WHERE ${t.where}`).pluck().get(...t.params) as number;
  }
  return counts;
}

export interface DeleteOptions {
  /** Rowids looked at per transaction (and so at most that many rows deleted per transaction). */
  readonly batchRows: number;
  /** Called between transactions (the lock's heartbeat, progress). */
  readonly between?: () => void;
}

/**
 * Deletes what is past retention, walking each table once in rowid order, `batchRows` rowids per
 * IMMEDIATE transaction: each step is a seek on the rowid, so a huge table is never rescanned
 * from the start, and between steps the POS gets the write lock back. Rows written while this
 * runs are past the walk's end and untouched.
 */
export function deleteExpired(db: Database, cutoffs: RetentionCutoffs, options: DeleteOptions): RetentionCounts {
  const counts = none();
  for (const t of targets(db, cutoffs)) {
    const bounds = db.prepare(`SELECT min(rowid) AS lo, max(rowid) AS hi FROM "${t.table}"`).get() as { lo: number | null; hi: number | null };
    if (bounds.lo === null || bounds.hi === null) continue;
    const stepEnd = db.prepare(`SELECT max(rowid) FROM (SELECT rowid FROM "${t.table}" WHERE rowid > ? ORDER BY rowid LIMIT ?)`).pluck();
    const remove = db.prepare(`DELETE FROM "${t.table}" WHERE rowid > ? AND rowid <= ? AND ${t.where}`);
    const step = db.transaction((from: number, to: number) => remove.run(from, to, ...t.params).changes);
    let cursor = bounds.lo - 1;
    while (cursor < bounds.hi) {
      const end = stepEnd.get(cursor, options.batchRows) as number | null;
      if (end === null) break;
      const to = Math.min(end, bounds.hi);
      counts[t.key] += step.immediate(cursor, to);
      cursor = to;
      options.between?.();
    }
  }
  // Bookkeeping of rows the POS (or this cleanup) deleted means nothing any more.
  for (const entity of ['transaction', 'inventory'] as const) {
    db.prepare(`DELETE FROM "${STATE_TABLE}" WHERE "Entity" = ? AND NOT EXISTS (SELECT 1 FROM "${TABLE[entity]}" AS p WHERE p."Id" = "${STATE_TABLE}"."Id")`).run(entity);
  }
  return counts;
}

/** The database file's size in bytes as SQLite sees it (pages × page size). */
export function databaseBytes(db: Database): number {
  return (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
}
