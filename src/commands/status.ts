// `pos-sync status`: what a store technician needs at a glance, answering three questions first —
// is it working (the verdict), since when (the last success), what to do next (one hint per
// problem) — then the figures, each fact once. Reads only; never creates a database.

import type { Database } from 'better-sqlite3';
import type { Config, ValueSource } from '../config/types.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import type { Clock } from '../domain/time.js';
import { parseDbTime } from '../domain/time.js';
import { machineTimeZone, startOfLocalDay } from '../domain/localtime.js';
import { judgeStatus, type Verdict } from '../domain/verdict.js';
import { refusalReason } from '../domain/refusal.js';
import { entityBacklog, todayTotals, type EntityBacklog, type TodayTotals } from '../store/history.js';
import { listDeadLetters, type DeadLetter } from '../store/deadletters.js';
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

/** The version of the JSON document (man/schemas/status.schema.json). */
export const STATUS_SCHEMA_VERSION = 1;

export interface StatusPass {
  readonly at: string;
  readonly exitCode: number;
  readonly outcome: string;
  readonly delivered: number;
  readonly refused: number;
  readonly durationMs: number;
  readonly error: string | null;
  /** First pass of the unbroken run that ended with this exit code. */
  readonly since: string;
}

export interface StatusResult {
  readonly schemaVersion: typeof STATUS_SCHEMA_VERSION;
  readonly command: 'status';
  readonly exitCode: 0 | 1 | 2;
  readonly verdict: Verdict;
  readonly headline: string;
  readonly lastSuccessAt: string | null;
  readonly problems: readonly { readonly problem: string; readonly hint: string }[];
  readonly storeId: string;
  readonly now: string;
  readonly timeZone: string;
  readonly pending: Record<Entity, EntityBacklog>;
  readonly deadLettered: number;
  readonly lastPass: StatusPass | null;
  /** The circuit breaker as the state file has it, and when the next probe is due. */
  readonly breaker: BreakerView;
  /** Totals since the store's local midnight (`since`), from the run history (idle passes are not recorded). */
  readonly today: TodayTotals & { readonly since: string };
  readonly kafka: { readonly enabled: boolean; readonly backlog: number | null; readonly error: string | null };
  /** Which files and sources this answer came from. */
  readonly sources: {
    readonly database: string;
    readonly stateFile: string;
    readonly stateFileProblem: string | null;
    readonly configFile: string | null;
    readonly token: string;
  };
  /** The last answer that was not about the rows (exit 78, no row penalised), until a pass succeeds. */
  readonly notAboutRows: { readonly at: string; readonly reason: string } | null;
  /** Null when pos-sync has set the database up; else what is missing (the next sync sets it up). */
  readonly notSetUp: string | null;
  /** Rows `seed` made (sample data, not sales), counted in `pending`. */
  readonly sampleRows: number;
  /** With --dead-letters: the rows, oldest first (at most `limit`). */
  readonly deadLetters?: { readonly total: number; readonly rows: readonly DeadLetter[]; readonly requeue: string | null };
}

export interface StatusDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly openDb: () => Database;
  /** Reads the state file without changing it (default: config.stateFile). */
  readonly readState?: () => Peeked;
  readonly configFile?: string | null;
  readonly tokenSource?: ValueSource | null;
  readonly deadLetters?: { readonly limit: number };
}

/** Where the token came from, without the token. */
export function describeTokenSource(source: ValueSource | null | undefined): string {
  if (!source) return 'none (no Authorization header)';
  if (source.kind === 'file') return `file ${source.name}`;
  if (source.kind === 'environment') return `environment ${source.name}`;
  return `${source.kind} ${source.name}`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function runStatus(deps: StatusDeps): StatusResult {
  const { config } = deps;
  const now = deps.clock.now();
  const zone = config.timeZone ?? machineTimeZone();
  // Read-only: a corrupt state file is shown, not moved (the next sync does that).
  const peeked = (deps.readState ?? (() => peekState(config.stateFile)))();
  const saved = peeked.state;
  const db = deps.openDb();
  try {
    // A read-only open: on a database pos-sync has not set up, what is missing is left out of the queries.
    const facts = inspectSchema(db);
    const pending = Object.fromEntries(ENTITIES.map((e) => [e, entityBacklog(db, e, now, facts)])) as Record<Entity, EntityBacklog>;
    const notSetUp =
      facts.version === 0 ? 'pos-sync has not set up this database yet (the first sync does)' : facts.missing.length > 0 ? `missing ${facts.missing.join(', ')} (the next sync recreates them)` : null;
    const sum = (f: (b: EntityBacklog) => number): number => ENTITIES.reduce((n, e) => n + f(pending[e]), 0);
    const oldest = ENTITIES.map((e) => pending[e].oldestPendingAt)
      .filter((t): t is string => t !== null)
      .map((t) => Date.parse(t))
      .reduce<number | null>((a, b) => (a === null || b < a ? b : a), null);
    const dayStart = startOfLocalDay(now, zone);
    const kafkaBacklog = config.kafka.enabled ? sum((b) => b.kafkaBacklog) : null;
    const verdict = judgeStatus({
      now,
      timeZone: zone,
      lastPass: saved.lastPass,
      lastSuccessAt: saved.lastSuccessAt,
      stateProblem: peeked.problem,
      breaker: saved.breaker,
      breakerSettings: config.breaker,
      pending: sum((b) => b.pending),
      waiting: sum((b) => b.waiting),
      deadLettered: sum((b) => b.deadLettered),
      oldestPendingAt: oldest,
      kafkaBacklog,
      kafkaError: config.kafka.enabled ? (saved.lastPass?.kafkaError ?? null) : null,
      thresholds: config.health,
    });
    const p = saved.lastPass;
    const listed = deps.deadLetters && facts.hasState ? listDeadLetters(db, deps.deadLetters.limit) : deps.deadLetters ? { total: 0, rows: [] } : null;
    return {
      schemaVersion: STATUS_SCHEMA_VERSION,
      command: 'status',
      exitCode: verdict.exitCode,
      verdict: verdict.verdict,
      headline: verdict.headline,
      lastSuccessAt: saved.lastSuccessAt === null ? null : iso(saved.lastSuccessAt),
      problems: verdict.problems.map(({ problem, hint }) => ({ problem, hint })),
      storeId: config.storeId,
      now: iso(now),
      timeZone: zone,
      pending,
      deadLettered: sum((b) => b.deadLettered),
      lastPass:
        p === null
          ? null
          : { at: iso(p.at), exitCode: p.exitCode, outcome: p.outcome, delivered: p.delivered, refused: p.refused, durationMs: p.durationMs, error: p.error, since: iso(p.since) },
      breaker: describeBreaker(saved.breaker, now, config.breaker),
      today: { ...todayTotals(db, now, dayStart), since: iso(dayStart) },
      kafka: { enabled: config.kafka.enabled, backlog: kafkaBacklog, error: config.kafka.enabled ? (p?.kafkaError ?? null) : null },
      sources: {
        database: config.db.path,
        stateFile: config.stateFile,
        stateFileProblem: peeked.problem,
        configFile: deps.configFile ?? null,
        token: describeTokenSource(deps.tokenSource),
      },
      notAboutRows: saved.notAboutRows ? { at: iso(saved.notAboutRows.at), reason: saved.notAboutRows.reason } : null,
      notSetUp,
      sampleRows: sampleRows(db),
      ...(listed
        ? {
            deadLetters: {
              total: listed.total,
              rows: listed.rows.map((r) => ({ ...r, lastReason: r.lastReason === null ? null : refusalReason(r.lastReason, r.id), deadLetteredAt: dbTimeIso(r.deadLetteredAt) })),
              requeue: listed.rows.length === 0 ? null : `pos-sync requeue --id ${listed.rows.map((r) => r.id).join(' ')}`,
            },
          }
        : {}),
    };
  } finally {
    db.close();
  }
}

function dbTimeIso(text: string): string {
  const ms = parseDbTime(text);
  return ms === undefined ? text : iso(ms);
}
