// Run history in the seed's SyncServiceStatuses table, and the counts `status` shows.

import type { Database } from 'better-sqlite3';
import type { Entity } from '../domain/rows.js';
import { formatDbTime, parseDbTime } from '../domain/time.js';
import { TABLE } from './queue.js';

export interface PassRecord {
  readonly exitCode: number;
  readonly stoppedBy: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly delivered: Record<Entity, number>;
  readonly rejected: Record<Entity, number>;
  readonly failedRequests: number;
  readonly error: string | null;
}

/** .NET TimeSpan text 'hh:mm:ss.fffffff', as the seed writes LastRunDuration. */
export function formatTimeSpan(ms: number): string {
  const totalSeconds = Math.floor(ms / 1000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const frac = String(Math.round((ms % 1000) * 10_000)).padStart(7, '0');
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${frac}`;
}

export function parseTimeSpan(text: string): number | undefined {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(text);
  if (!m) return undefined;
  const [, days, h, mi, s, frac] = m;
  return ((Number(days ?? 0) * 24 + Number(h)) * 3600 + Number(mi) * 60 + Number(s)) * 1000 + Number(`0.${frac ?? '0'}`) * 1000;
}

export function countPending(db: Database, entity: Entity): number {
  const t = TABLE[entity];
  return db.prepare(`SELECT count(*) FROM "${t}" INDEXED BY "IX_${t}_PosSync_Pending" WHERE "Synced" = 0 AND "DeadLetteredAt" IS NULL`).pluck().get() as number;
}

export function recordPass(db: Database, storeId: string, pass: PassRecord, newId: () => string): void {
  const now = formatDbTime(Date.parse(pass.startedAt) + pass.durationMs);
  const status = pass.exitCode === 0 ? 'Running' : 'Error'; // the seed's two values
  db.prepare(
    `INSERT INTO "SyncServiceStatuses" ("Id", "StoreId", "LastSyncRun", "TransactionsSyncedInLastRun", "InventoryUpdatesSyncedInLastRun",
       "FailedSyncsInLastRun", "LastRunDuration", "Status", "LastError", "CreatedAt", "PendingTransactions", "PendingInventoryUpdates")
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    newId(),
    storeId,
    now,
    pass.delivered.transaction,
    pass.delivered.inventory,
    pass.failedRequests + pass.rejected.transaction + pass.rejected.inventory,
    formatTimeSpan(pass.durationMs),
    status,
    pass.error,
    now,
    countPending(db, 'transaction'),
    countPending(db, 'inventory'),
  );
}

export interface EntityBacklog {
  readonly pending: number;
  /** Rows waiting out a refusal backoff (counted in pending). */
  readonly waiting: number;
  readonly deadLettered: number;
  readonly oldestPendingAt: string | null;
  readonly oldestPendingAgeSeconds: number | null;
  readonly kafkaBacklog: number;
}

export function entityBacklog(db: Database, entity: Entity, now: number): EntityBacklog {
  const t = TABLE[entity];
  const row = db
    .prepare(
      `SELECT count(*) FILTER (WHERE "DeadLetteredAt" IS NULL) AS pending,
              count(*) FILTER (WHERE "DeadLetteredAt" IS NULL AND "NextAttemptAt" > ?) AS waiting,
              count(*) FILTER (WHERE "DeadLetteredAt" IS NOT NULL) AS dead,
              min("CreatedAt") FILTER (WHERE "DeadLetteredAt" IS NULL) AS oldest
       FROM "${t}" INDEXED BY "IX_${t}_PosSync_Pending" WHERE "Synced" = 0`,
    )
    .get(formatDbTime(now)) as { pending: number; waiting: number; dead: number; oldest: string | null };
  const kafka = db.prepare(`SELECT count(*) FROM "${t}" INDEXED BY "IX_${t}_PosSync_KafkaPending" WHERE "KafkaPending" = 1`).pluck().get() as number;
  const oldestMs = typeof row.oldest === 'string' ? parseDbTime(row.oldest) : undefined;
  return {
    pending: row.pending,
    waiting: row.waiting,
    deadLettered: row.dead,
    oldestPendingAt: oldestMs === undefined ? null : new Date(oldestMs).toISOString(),
    oldestPendingAgeSeconds: oldestMs === undefined ? null : Math.max(0, Math.round((now - oldestMs) / 1000)),
    kafkaBacklog: kafka,
  };
}

export interface TodayTotals {
  readonly passes: number;
  readonly transactionsSynced: number;
  readonly inventorySynced: number;
  readonly failedAttempts: number;
  readonly averagePassMs: number | null;
}

/**
 * Totals since `since` (the store's local midnight; UTC midnight when not given) from the run
 * history (idle passes are not recorded).
 */
export function todayTotals(db: Database, now: number, since?: number): TodayTotals {
  const midnight = new Date(since ?? now);
  if (since === undefined) midnight.setUTCHours(0, 0, 0, 0);
  const rows = db
    .prepare(
      `SELECT "TransactionsSyncedInLastRun" AS t, "InventoryUpdatesSyncedInLastRun" AS i, "FailedSyncsInLastRun" AS f, "LastRunDuration" AS d
       FROM "SyncServiceStatuses" WHERE "LastSyncRun" >= ?`,
    )
    .iterate(formatDbTime(midnight.getTime())) as IterableIterator<{ t: unknown; i: unknown; f: unknown; d: unknown }>;
  let passes = 0, t = 0, i = 0, f = 0, durations = 0, timed = 0;
  for (const r of rows) {
    passes++;
    t += typeof r.t === 'number' ? r.t : 0;
    i += typeof r.i === 'number' ? r.i : 0;
    f += typeof r.f === 'number' ? r.f : 0;
    const ms = typeof r.d === 'string' ? parseTimeSpan(r.d) : undefined;
    if (ms !== undefined) {
      durations += ms;
      timed++;
    }
  }
  return { passes, transactionsSynced: t, inventorySynced: i, failedAttempts: f, averagePassMs: timed ? Math.round(durations / timed) : null };
}

/**
 * Rows held back by a refusal's backoff (pending, not yet due) and when the first is due: what an
 * idle-looking pass tells instead of "nothing pending". One indexed count per entity.
 */
export function waitingRows(db: Database, now: number): { readonly rows: number; readonly until: string | null } {
  let rows = 0;
  let until: string | null = null;
  for (const t of Object.values(TABLE)) {
    const r = db
      .prepare(`SELECT count(*) AS n, min("NextAttemptAt") AS next FROM "${t}" INDEXED BY "IX_${t}_PosSync_Pending" WHERE "Synced" = 0 AND "DeadLetteredAt" IS NULL AND "NextAttemptAt" > ?`)
      .get(formatDbTime(now)) as { n: number; next: string | null };
    rows += r.n;
    const ms = r.next === null ? undefined : parseDbTime(r.next);
    if (ms !== undefined) {
      const isoText = new Date(ms).toISOString();
      if (until === null || isoText < until) until = isoText;
    }
  }
  return { rows, until };
}
