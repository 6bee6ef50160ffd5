// Run history in the seed's SyncServiceStatuses table, and the counts `status` shows.

import type { Database } from 'better-sqlite3';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { formatDbTime, parseDbTime } from '../domain/time.js';
import { pendingIndex, QUARANTINE_TABLE, schemaFactsOf, STATE_TABLE, type SchemaFacts } from './migrations.js';
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

/** Pending rows not dead-lettered (what a pass still has to send). */
export function countPending(db: Database, entity: Entity, facts: SchemaFacts = schemaFactsOf(db)): number {
  const t = TABLE[entity];
  const indexed = facts.hasPendingIndex[t] ? `INDEXED BY "${pendingIndex(t)}"` : '';
  const all = db.prepare(`SELECT count(*) FROM "${t}" ${indexed} WHERE "Synced" = 0`).pluck().get() as number;
  return all - (facts.hasState ? deadCount(db, entity) : 0);
}

/** Dead letters whose row is still unsynced, counted from pos-sync's own table. */
function deadCount(db: Database, entity: Entity): number {
  return db
    .prepare(
      `SELECT count(*) FROM "${STATE_TABLE}" AS s JOIN "${TABLE[entity]}" AS p ON p."Id" = s."Id"
       WHERE s."Entity" = ? AND s."DeadLetteredAt" IS NOT NULL AND p."Synced" = 0`,
    )
    .pluck()
    .get(entity) as number;
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
  /** Rows waiting out a refusal backoff (counted in pending; quarantined rows not). */
  readonly waiting: number;
  /** Rows held in the quarantine (counted in pending): they failed alone while the rest went through. */
  readonly quarantined: number;
  readonly deadLettered: number;
  readonly oldestPendingAt: string | null;
  readonly oldestPendingAgeSeconds: number | null;
  /** Delivered rows waiting for Kafka (parked ones not counted: they wait for a requeue). */
  readonly kafkaBacklog: number;
  /** Delivered rows whose Kafka event can never be built, parked with the reason. */
  readonly kafkaParked: number;
  /** The reason of one parked event, for status. */
  readonly kafkaParkedReason: string | null;
}

/** The backlog of every entity summed, as status's verdict (and so the heartbeat's) counts it. */
export interface BacklogTotals {
  readonly pending: number;
  readonly waiting: number;
  readonly deadLettered: number;
  readonly quarantined: number;
  readonly kafkaBacklog: number;
  /** Epoch ms of the oldest pending row of any entity, or null. */
  readonly oldestPendingAt: number | null;
  /** Epoch ms of the oldest pending sale (the offline deadline runs on sales), or null. */
  readonly oldestSaleAt: number | null;
}

export function backlogTotals(backlog: Readonly<Record<Entity, EntityBacklog>>): BacklogTotals {
  const sum = (f: (b: EntityBacklog) => number): number => ENTITIES.reduce((n, e) => n + f(backlog[e]), 0);
  const at = (t: string | null): number | null => (t === null ? null : Date.parse(t));
  const oldest = ENTITIES.map((e) => at(backlog[e].oldestPendingAt)).reduce<number | null>((a, b) => (b === null ? a : a === null || b < a ? b : a), null);
  return {
    pending: sum((b) => b.pending),
    waiting: sum((b) => b.waiting),
    deadLettered: sum((b) => b.deadLettered),
    quarantined: sum((b) => b.quarantined),
    kafkaBacklog: sum((b) => b.kafkaBacklog),
    oldestPendingAt: oldest,
    oldestSaleAt: at(backlog.transaction.oldestPendingAt),
  };
}

/** The backlog of every entity, as status and the heartbeat read it (read-only, on a database maybe not yet set up). */
export function readBacklog(db: Database, now: number, facts: SchemaFacts = schemaFactsOf(db)): Record<Entity, EntityBacklog> {
  return Object.fromEntries(ENTITIES.map((e) => [e, entityBacklog(db, e, now, facts)])) as Record<Entity, EntityBacklog>;
}

/**
 * The backlog of one entity. On a database pos-sync has not set up (read-only callers) there is
 * no bookkeeping yet: every Synced = 0 row is pending.
 */
export function entityBacklog(db: Database, entity: Entity, now: number, facts: SchemaFacts = schemaFactsOf(db)): EntityBacklog {
  const t = TABLE[entity];
  const indexed = facts.hasPendingIndex[t] ? `INDEXED BY "${pendingIndex(t)}"` : '';
  const state = (cond: string): string =>
    facts.hasState ? `EXISTS (SELECT 1 FROM "${STATE_TABLE}" AS s WHERE s."Entity" = '${entity}' AND s."Id" = p."Id" AND ${cond})` : '0';
  const dead = state('s."DeadLetteredAt" IS NOT NULL');
  const row = db
    .prepare(
      `SELECT count(*) FILTER (WHERE NOT ${dead}) AS pending,
              count(*) FILTER (WHERE NOT ${dead} AND ${state('s."NextAttemptAt" > ?')}) AS waiting,
              count(*) FILTER (WHERE ${dead}) AS dead,
              min(p."CreatedAt") FILTER (WHERE NOT ${dead}) AS oldest
       FROM "${t}" AS p ${indexed} WHERE p."Synced" = 0`,
    )
    .get(...(facts.hasState ? [formatDbTime(now)] : [])) as { pending: number; waiting: number; dead: number; oldest: string | null };
  const kafka = facts.hasState
    ? (db
        .prepare(
          `SELECT count(*) FILTER (WHERE s."KafkaPending" = 1) AS waiting, count(*) FILTER (WHERE s."KafkaPending" = 2) AS parked,
                  max(s."KafkaError") FILTER (WHERE s."KafkaPending" = 2) AS reason
           FROM "${STATE_TABLE}" AS s WHERE s."Entity" = ? AND s."KafkaPending" <> 0
             AND EXISTS (SELECT 1 FROM "${t}" AS p WHERE p."Id" = s."Id")`,
        )
        .get(entity) as { waiting: number; parked: number; reason: string | null })
    : { waiting: 0, parked: 0, reason: null };
  // Quarantined rows are held by the same NextAttemptAt as a refusal's backoff: counted apart.
  const held = facts.hasQuarantine
    ? (db
        .prepare(
          `SELECT count(*) AS held, count(*) FILTER (WHERE q."NextAttemptAt" > ?) AS waiting FROM "${QUARANTINE_TABLE}" AS q
           WHERE q."Entity" = ? AND q."QuarantinedAt" IS NOT NULL AND EXISTS (SELECT 1 FROM "${t}" AS p WHERE p."Id" = q."Id" AND p."Synced" = 0)`,
        )
        .get(formatDbTime(now), entity) as { held: number; waiting: number })
    : { held: 0, waiting: 0 };
  const oldestMs = typeof row.oldest === 'string' ? parseDbTime(row.oldest) : undefined;
  return {
    pending: row.pending,
    waiting: Math.max(0, row.waiting - held.waiting),
    quarantined: held.held,
    deadLettered: row.dead,
    oldestPendingAt: oldestMs === undefined ? null : new Date(oldestMs).toISOString(),
    oldestPendingAgeSeconds: oldestMs === undefined ? null : Math.max(0, Math.round((now - oldestMs) / 1000)),
    kafkaBacklog: kafka.waiting,
    kafkaParked: kafka.parked,
    kafkaParkedReason: kafka.reason,
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
export function waitingRows(
  db: Database,
  now: number,
  entities: readonly Entity[] = ['transaction', 'inventory'],
  facts: SchemaFacts = schemaFactsOf(db),
): { readonly rows: number; readonly until: string | null } {
  let rows = 0;
  let until: string | null = null;
  // The backoff is pos-sync's own bookkeeping; a database it has not set up has none.
  if (!facts.hasState) return { rows, until };
  for (const entity of entities) {
    const t = TABLE[entity];
    const r = db
      .prepare(
        `SELECT count(*) AS n, min(s."NextAttemptAt") AS next FROM "${STATE_TABLE}" AS s JOIN "${t}" AS p ON p."Id" = s."Id"
         WHERE s."Entity" = ? AND s."DeadLetteredAt" IS NULL AND s."NextAttemptAt" > ? AND p."Synced" = 0`,
      )
      .get(entity, formatDbTime(now)) as { n: number; next: string | null };
    rows += r.n;
    const ms = r.next === null ? undefined : parseDbTime(r.next);
    if (ms !== undefined) {
      const isoText = new Date(ms).toISOString();
      if (until === null || isoText < until) until = isoText;
    }
  }
  return { rows, until };
}
