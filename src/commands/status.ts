// `pos-sync status`: what a store technician needs at a glance. Reads only; never creates a database.

import type { Database } from 'better-sqlite3';
import type { Config } from '../config/types.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import type { Clock } from '../domain/time.js';
import { parseDbTime } from '../domain/time.js';
import { entityBacklog, parseTimeSpan, todayTotals, type EntityBacklog, type TodayTotals } from '../store/history.js';
import { describeBreaker, type BreakerView } from '../domain/breaker.js';
import { peekState, type Peeked } from '../state/file.js';
import { inspectSchema } from '../store/migrations.js';
import { SAMPLE_MARK } from '../domain/sample.js';

/** Rows seed made, recognised by SAMPLE_MARK (a scan: status is run by hand, never per tick). */
function sampleRows(db: Database): number {
  const n = SAMPLE_MARK.length;
  return (
    (db.prepare(`SELECT count(*) FROM "PosTransactions" WHERE substr("Notes", 1, ${n}) = ?`).pluck().get(SAMPLE_MARK) as number) +
    (db.prepare(`SELECT count(*) FROM "InventoryUpdates" WHERE substr("Reason", 1, ${n}) = ?`).pluck().get(SAMPLE_MARK) as number)
  );
}

export interface LastPass {
  readonly at: string;
  readonly outcome: string;
  readonly transactionsSynced: number;
  readonly inventorySynced: number;
  readonly failed: number;
  readonly durationMs: number | null;
  readonly error: string | null;
}

export interface StatusResult {
  readonly command: 'status';
  readonly exitCode: 0;
  readonly storeId: string;
  readonly database: string;
  readonly now: string;
  readonly backlog: Record<Entity, EntityBacklog>;
  readonly lastPass: LastPass | null;
  readonly today: TodayTotals;
  readonly kafkaEnabled: boolean;
  /** The circuit breaker as the state file has it, and when the next probe is due. */
  readonly breaker: BreakerView & { readonly stateFile: string; readonly problem: string | null };
  /** The most recent pass of any kind (idle and refused ones too), from the state file. */
  readonly lastRun: LastRun | null;
  readonly lastSuccessAt: string | null;
  /** Null when pos-sync has set the database up; else what is missing (the next sync sets it up). */
  readonly notSetUp: string | null;
  /** Rows `seed` made (sample data, not sales), counted in the backlog above. */
  readonly sampleRows: number;
  /** The last answer that was not about the rows (exit 78, no row penalised), until a pass succeeds. */
  readonly notAboutRows: { readonly at: string; readonly reason: string } | null;
}

export interface LastRun {
  readonly at: string;
  readonly exitCode: number;
  readonly outcome: string;
  readonly delivered: number;
  readonly refused: number;
  readonly durationMs: number;
  readonly error: string | null;
}

export interface StatusDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly openDb: () => Database;
  /** Reads the state file without changing it (default: config.stateFile). */
  readonly readState?: () => Peeked;
}

function lastRecordedPass(db: Database): LastPass | null {
  const row = db
    .prepare(
      `SELECT "LastSyncRun" AS at, "Status" AS status, "TransactionsSyncedInLastRun" AS t, "InventoryUpdatesSyncedInLastRun" AS i,
              "FailedSyncsInLastRun" AS f, "LastRunDuration" AS d, "LastError" AS e
       FROM "SyncServiceStatuses" ORDER BY "LastSyncRun" DESC LIMIT 1`,
    )
    .get() as { at: unknown; status: unknown; t: unknown; i: unknown; f: unknown; d: unknown; e: unknown } | undefined;
  if (!row || typeof row.at !== 'string') return null;
  const atMs = parseDbTime(row.at);
  return {
    at: atMs === undefined ? row.at : new Date(atMs).toISOString(),
    outcome: row.status === 'Running' ? 'ok' : 'error',
    transactionsSynced: typeof row.t === 'number' ? row.t : 0,
    inventorySynced: typeof row.i === 'number' ? row.i : 0,
    failed: typeof row.f === 'number' ? row.f : 0,
    durationMs: typeof row.d === 'string' ? (parseTimeSpan(row.d) ?? null) : null,
    error: typeof row.e === 'string' ? row.e : null,
  };
}

export function runStatus(deps: StatusDeps): StatusResult {
  const now = deps.clock.now();
  // Read-only: a corrupt state file is shown, not moved (the next sync does that).
  const peeked = (deps.readState ?? (() => peekState(deps.config.stateFile)))();
  const saved = peeked.state;
  const db = deps.openDb();
  try {
    const facts = inspectSchema(db);
    const backlog = Object.fromEntries(ENTITIES.map((e) => [e, entityBacklog(db, e, now, facts)])) as Record<Entity, EntityBacklog>;
    const notSetUp =
      facts.version === 0 ? 'pos-sync has not set up this database yet (the first sync does)' : facts.missing.length > 0 ? `missing ${facts.missing.join(', ')} (the next sync recreates them)` : null;
    return {
      command: 'status',
      exitCode: 0,
      storeId: deps.config.storeId,
      database: deps.config.db.path,
      now: new Date(now).toISOString(),
      backlog,
      lastPass: lastRecordedPass(db),
      today: todayTotals(db, now),
      kafkaEnabled: deps.config.kafka.enabled,
      breaker: { ...describeBreaker(saved.breaker, now, deps.config.breaker), stateFile: deps.config.stateFile, problem: peeked.problem },
      lastRun:
        saved.lastPass === null
          ? null
          : {
              at: new Date(saved.lastPass.at).toISOString(),
              exitCode: saved.lastPass.exitCode,
              outcome: saved.lastPass.outcome,
              delivered: saved.lastPass.delivered,
              refused: saved.lastPass.refused,
              durationMs: saved.lastPass.durationMs,
              error: saved.lastPass.error,
            },
      lastSuccessAt: saved.lastSuccessAt === null ? null : new Date(saved.lastSuccessAt).toISOString(),
      notSetUp,
      sampleRows: sampleRows(db),
      notAboutRows: saved.notAboutRows ? { at: new Date(saved.notAboutRows.at).toISOString(), reason: saved.notAboutRows.reason } : null,
    };
  } finally {
    db.close();
  }
}
