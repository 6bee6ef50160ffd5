// `pos-sync status`: what a store technician needs at a glance, answering three questions first —
// is it working (the verdict), since when (the last success), what to do next (one hint per
// problem) — then the figures, each fact once. Reads only; never creates a database.
// The whole command: its options and --help, its run, the reading, and its human output (the
// verdict line, since when, what to do; then the figures, times in the store's zone).

import type { DeadlineLevel, DeadlineStanding } from '../domain/offline-deadline.js';
import type { Database } from 'better-sqlite3';
import { positiveInt } from '../cli/options.js';
import { seconds, type Paint } from '../cli/render.js';
import type { Config, ValueSource } from '../config/types.js';
import { describeKafkaTrouble } from '../domain/kafka-trouble.js';
import { formatLocalTime, formatRelative, formatWhen, storeTimeZone, plural, startOfLocalDay } from '../domain/localtime.js';
import { escapeControl } from '../domain/redact.js';
import type { Entity } from '../domain/rows.js';
import { parseDbTime, systemClock, type Clock } from '../domain/time.js';
import { describeOutcome, judgeStatus, latestTrace, timerFor, type Verdict } from '../domain/verdict.js';
import { lastPassTrace } from '../pass/trace.js';
import { refusalReason } from '../domain/refusal.js';
import { readBacklog, todayTotals, type EntityBacklog, type TodayTotals } from '../store/history.js';
import { listDeadLetters, type DeadLetter } from '../store/deadletters.js';
import { listQuarantined, type QuarantinedRow } from '../store/quarantine.js';
import { listUnreadable, type ListedUnreadable } from '../store/unreadable.js';
import { describeBreaker, type BreakerView } from '../domain/breaker.js';
import { databaseIdentity, peekState, type Peeked } from '../state/file.js';
import { inspectSchema } from '../store/migrations.js';
import { verdictFacts } from '../heartbeat/standing.js';
import { SAMPLE_MARK } from '../domain/sample.js';
import { COMMON_EXIT_CODES, defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
The first three lines answer: is it working (OK / DEGRADED / NOT SYNCING), since when (the last
success, in the store's time zone, Sync.TimeZone), what to do next. Rows held in the quarantine
(failing alone at the central) and rows with a value pos-sync cannot read are always listed.

Examples:
  pos-sync status
  pos-sync status --dead-letters           which rows were dead-lettered and why, and the requeue line
  pos-sync --json status | jq -r .verdict

Exit codes:
  0   OK
  1   DEGRADED: dead letters, quarantined or unreadable rows, refused rows waiting, a backlog past its warning, a failing pass, Kafka trouble
  2   NOT SYNCING: no pass yet, no pass at all for Sync.Health.NoPassSeconds (the timer does not run), credentials refused,
      configuration or local I/O error, breaker open, no success for too long
${COMMON_EXIT_CODES}`;

export const status = defineCommand<{ deadLetters?: boolean; limit: number }>({
  options: [
    { flags: '--dead-letters', description: 'also list the dead-lettered rows: id, entity, product, amount, refusals, reason, and the requeue line' },
    { flags: '--limit <n>', description: 'with --dead-letters: at most this many rows (oldest first)', parse: positiveInt('--limit', 100_000), defaultValue: 50 },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const loaded = await ctx.loadConfig();
    const { config } = loaded;
    const openDb = await ctx.databases();
    const result = runStatus({
      config,
      clock: systemClock,
      openDb: () => openDb(config, false, true),
      configFile: loaded.file,
      tokenSource: loaded.tokenSource,
      ...(opts.deadLetters ? { deadLetters: { limit: opts.limit } } : {}),
    });
    ctx.print(result, () => renderStatus(result, ctx.paint));
    return result.exitCode;
  },
});

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
  /** Sync.TillId: this till within its store. */
  readonly tillId: string;
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
  /** The oldest pending sale against Sync.OfflineDeadlineHours; null when no deadline is set. */
  readonly offlineDeadline: StatusDeadline | null;
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
  /** Rows holding a value pos-sync cannot read (not sent, never counted as refused), oldest first. */
  readonly unreadable: { readonly total: number; readonly rows: readonly ListedUnreadable[] };
  /** Rows held in the quarantine, oldest first (at most `limit`, 50 by default): named always, they are few. */
  readonly quarantine: { readonly total: number; readonly rows: readonly QuarantinedRow[]; readonly requeue: string | null };
  /** With --dead-letters: the rows, oldest first (at most `limit`). */
  readonly deadLetters?: { readonly total: number; readonly rows: readonly DeadLetter[]; readonly requeue: string | null };
}

export interface StatusDeadline {
  readonly hours: number;
  readonly level: DeadlineLevel;
  readonly oldestPendingSaleAt: string | null;
  readonly dueAt: string | null;
  readonly secondsLeft: number;
}

/** The deadline as status --json shows it (and the heartbeat can send it). */
export function deadlineView(d: DeadlineStanding | null): StatusDeadline | null {
  if (d === null) return null;
  return {
    hours: d.deadlineSeconds / 3600,
    level: d.level,
    oldestPendingSaleAt: d.oldestPendingSaleAt === null ? null : iso(d.oldestPendingSaleAt),
    dueAt: d.dueAt === null ? null : iso(d.dueAt),
    secondsLeft: d.secondsLeft,
  };
}

export interface StatusDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly openDb: () => Database;
  /** Reads the state file without changing it (default: config.stateFile). */
  readonly readState?: () => Peeked;
  /** When the last pass left its trace (default: the state file's mtime, pass/trace.ts). */
  readonly readTrace?: () => number | null;
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
  const zone = storeTimeZone(config.timeZone);
  // Read-only: a corrupt state file is shown, not moved (the next sync does that).
  const peeked = (deps.readState ?? (() => peekState(config.stateFile, databaseIdentity(config.db.path))))();
  const saved = peeked.state;
  const db = deps.openDb();
  try {
    // A read-only open: on a database pos-sync has not set up, what is missing is left out of the queries.
    const facts = inspectSchema(db);
    const pending = readBacklog(db, now, facts);
    const notSetUp =
      facts.version === 0 ? 'pos-sync has not set up this database yet (the first sync does)' : facts.missing.length > 0 ? `missing ${facts.missing.join(', ')} (the next sync recreates them)` : null;
    const dayStart = startOfLocalDay(now, zone);
    const held = facts.hasQuarantine ? listQuarantined(db, deps.deadLetters?.limit ?? 50) : { total: 0, rows: [] };
    const unreadable = facts.hasUnreadable ? listUnreadable(db, deps.deadLetters?.limit ?? 50) : { total: 0, rows: [] };
    const standing = verdictFacts(
      config,
      { now, peeked, pending, unreadable: unreadable.total },
      {
        timeZone: zone,
        lastTraceAt: latestTrace(saved.lastPass?.at ?? null, (deps.readTrace ?? (() => lastPassTrace(config.stateFile)))()),
        timer: timerFor(deps.configFile ?? null),
      },
    );
    const verdict = judgeStatus(standing);
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
      tillId: config.tillId,
      now: iso(now),
      timeZone: zone,
      pending,
      deadLettered: standing.deadLettered,
      lastPass:
        p === null
          ? null
          : { at: iso(p.at), exitCode: p.exitCode, outcome: p.outcome, delivered: p.delivered, refused: p.refused, durationMs: p.durationMs, error: p.error, since: iso(p.since) },
      breaker: describeBreaker(saved.breaker, now, config.breaker),
      today: { ...todayTotals(db, now, dayStart), since: iso(dayStart) },
      kafka: { enabled: config.kafka.enabled, backlog: standing.kafkaBacklog, error: standing.kafkaError },
      offlineDeadline: deadlineView(standing.offlineDeadline),
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
      unreadable,
      quarantine: { ...held, requeue: held.rows.length === 0 ? null : `pos-sync requeue --id ${held.rows.map((r) => r.id).join(' ')}` },
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

/** The central's reason in a remembered lone refusal, as `HTTP 422: price must be positive`. */
function dbTimeIso(text: string): string {
  const ms = parseDbTime(text);
  return ms === undefined ? text : iso(ms);
}

const row = (label: string, text: string): string => `${label.padEnd(15)}${text}`;

export function renderStatus(r: StatusResult, p: Paint): string {
  const now = Date.parse(r.now);
  const zone = r.timeZone;
  const when = (isoText: string): string => formatWhen(Date.parse(isoText), now, zone);
  const colour = r.verdict === 'OK' ? p.ok : r.verdict === 'DEGRADED' ? p.warn : p.bad;
  const lines: string[] = [];
  lines.push(`${p.bold(colour(r.verdict))} — ${escapeControl(r.headline)}`);
  lines.push(`last success: ${r.lastSuccessAt === null ? 'never' : when(r.lastSuccessAt)}`);
  if (r.problems.length === 0) lines.push('to do: nothing');
  // A problem may quote the central's answer (a refusal's reason): escaped for the terminal.
  else if (r.problems.length === 1) lines.push(`to do: ${escapeControl(r.problems[0]!.hint)}`);
  else {
    lines.push('to do:');
    for (const x of r.problems) lines.push(escapeControl(`  - ${x.problem}: ${x.hint}`));
  }
  lines.push('');

  const t = r.pending.transaction;
  const i = r.pending.inventory;
  const pendingTotal = t.pending + i.pending;
  const oldest = [t.oldestPendingAt, i.oldestPendingAt].filter((x): x is string => x !== null).sort()[0];
  const waiting = t.waiting + i.waiting;
  lines.push(
    row(
      'pending',
      pendingTotal === 0
        ? 'nothing'
        : `${plural(t.pending, 'transaction')}, ${plural(i.pending, 'inventory update')}${oldest ? `; the oldest from ${when(oldest)}` : ''}${waiting > 0 ? p.warn(`; ${waiting} of them waiting after a refusal`) : ''}`,
    ),
  );
  lines.push(row('dead-lettered', r.deadLettered === 0 ? 'none' : p.bad(`${plural(r.deadLettered, 'row')} (pos-sync status --dead-letters lists them)`)));
  if (r.unreadable.total > 0) {
    lines.push(row('unreadable', p.bad(`${plural(r.unreadable.total, 'row')} not sent: the POS wrote a value pos-sync cannot read (not refused by the central; fixed in the POS, it goes out)`)));
    for (const u of r.unreadable.rows) lines.push(`  ${escapeControl(`${u.entity} ${u.id}: ${u.reason}`)}`);
  }
  if (r.quarantine.total > 0) lines.push(row('quarantined', p.warn(`${plural(r.quarantine.total, 'row')} failing alone at the central while the rest goes through (listed below)`)));
  if (r.sampleRows > 0) lines.push(row('sample data', p.warn(`${plural(r.sampleRows, 'row')} made by \`pos-sync seed\` (not sales)`)));
  const lp = r.lastPass;
  if (lp === null) lines.push(row('last pass', 'none recorded'));
  else {
    const words = describeOutcome(lp.outcome);
    const outcome = lp.exitCode === 0 ? p.ok(`exit 0 (${words})`) : lp.exitCode === 65 ? p.warn(`exit 65 (${words})`) : p.bad(`exit ${lp.exitCode} (${words})`);
    const refused = lp.refused > 0 ? `, ${lp.refused} refused` : '';
    // Errors quote what the central answered: escaped for the terminal.
    const error = lp.error !== null && lp.exitCode !== 0 ? ` — ${escapeControl(lp.error)}` : '';
    lines.push(row('last pass', `${when(lp.at)}: ${outcome}, ${lp.delivered} delivered${refused}, ${seconds(lp.durationMs)}${error}`));
  }
  lines.push(row('central', breakerText(r, p, now)));
  // Shown until a pass succeeds: the rows wait unpenalised for the proxy or the central to be fixed.
  if (r.notAboutRows) lines.push(row('not about rows', p.bad(`${formatWhen(Date.parse(r.notAboutRows.at), now, zone)}: ${escapeControl(r.notAboutRows.reason)}`)));
  const d = r.today;
  lines.push(
    row(
      'today',
      `${plural(d.transactionsSynced, 'transaction')} and ${plural(d.inventorySynced, 'inventory update')} synced in ${plural(d.passes, 'pass', 'passes')} since ${formatLocalTime(Date.parse(d.since), now, zone)}; ${plural(d.failedAttempts, 'failed attempt')}${d.averagePassMs !== null ? `; average pass ${seconds(d.averagePassMs)}` : ''}`,
    ),
  );
  if (r.kafka.enabled) {
    const waiting = r.kafka.backlog === 0 ? 'every event published' : `${plural(r.kafka.backlog ?? 0, 'event')} not yet published`;
    lines.push(row('kafka', r.kafka.error === null ? waiting : `${waiting} — ${p.bad(escapeControl(describeKafkaTrouble(r.kafka.error)))}`));
  }
  const parked = t.kafkaParked + i.kafkaParked;
  if (parked > 0) {
    const reason = t.kafkaParkedReason ?? i.kafkaParkedReason ?? 'cannot be built';
    lines.push(row('kafka parked', p.bad(`${plural(parked, 'event')} that cannot be built (${escapeControl(reason)}); pos-sync requeue after fixing the row`)));
  }
  lines.push(row('store', `${r.storeId}, till ${r.tillId}, time zone ${zone}`));
  lines.push(row('database', `${r.sources.database}${r.notSetUp !== null ? p.warn(` (${r.notSetUp})`) : ''}`));
  lines.push(row('state file', `${r.sources.stateFile}${r.sources.stateFileProblem ? p.warn(` (${r.sources.stateFileProblem})`) : ''}`));
  lines.push(row('config file', r.sources.configFile ?? 'none (defaults, environment and flags)'));
  lines.push(row('token', r.sources.token));
  if (r.quarantine.total > 0) lines.push('', ...renderQuarantine(r, p));
  if (r.deadLetters) lines.push('', ...renderDeadLetters(r, p));
  return lines.join('\n') + '\n';
}

function breakerText(r: StatusResult, p: Paint, now: number): string {
  const b = r.breaker;
  const last = b.lastFailure ? ` — last failure: ${escapeControl(b.lastFailure)}` : '';
  if (b.state === 'closed') {
    return b.consecutiveFailures > 0 ? p.warn(`circuit breaker closed, ${plural(b.consecutiveFailures, 'failed request')} in a row${last}`) : p.ok('circuit breaker closed');
  }
  const since = b.openedAt ? ` since ${formatWhen(Date.parse(b.openedAt), now, r.timeZone)}` : '';
  if (b.state === 'halfOpen' || b.nextProbeAt === null || Date.parse(b.nextProbeAt) <= now) return p.bad(`circuit breaker open${since}; the next pass probes${last}`);
  const probe = Date.parse(b.nextProbeAt);
  return p.bad(`circuit breaker open${since}; next probe ${formatLocalTime(probe, now, r.timeZone)} (${formatRelative(probe, now)})${last}`);
}

/** The dead-letter table: id, entity, product, amount, refusals, when, last reason; then the requeue line. */
export function renderDeadLetters(r: StatusResult, p: Paint): string[] {
  const d = r.deadLetters;
  if (!d) return [];
  if (d.total === 0) return ['dead letters: none'];
  const now = Date.parse(r.now);
  const lines = [p.bold(`dead letters: ${plural(d.total, 'row')}${d.rows.length < d.total ? `, the oldest ${d.rows.length} shown` : ''}`)];
  const head = ['id', 'entity', 'product', 'amount', 'refusals', 'dead-lettered', 'last reason'];
  // Every value but the counts comes from the POS database or the central: escaped.
  const cells = d.rows.map((x) => [
    escapeControl(x.id),
    x.entity,
    escapeControl(x.productId ?? '-'),
    escapeControl(x.amount ?? '-'),
    String(x.refusals),
    formatLocalTime(Date.parse(x.deadLetteredAt), now, r.timeZone),
    oneLine(x.lastReason ?? '-'),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, k) => (k === cols.length - 1 ? c : c.padEnd(widths[k]!))).join('  ');
  lines.push(p.dim(fmt(head)));
  for (const c of cells) lines.push(fmt(c));
  if (d.requeue) lines.push('', `after fixing the cause, send ${d.rows.length === 1 ? 'it' : 'them'} again with:`, `  ${escapeControl(d.requeue)}`);
  return lines;
}

/** The quarantine: id, entity, amount, passes failed, next try, last answer; then the requeue line. */
export function renderQuarantine(r: StatusResult, p: Paint): string[] {
  const q = r.quarantine;
  const now = Date.parse(r.now);
  const lines = [p.bold(`quarantine: ${plural(q.total, 'row')}${q.rows.length < q.total ? `, the oldest ${q.rows.length} shown` : ''}`)];
  const head = ['id', 'entity', 'amount', 'failed', 'next try', 'last answer'];
  const cells = q.rows.map((x) => [
    escapeControl(x.id),
    x.entity,
    escapeControl(x.amount ?? '-'),
    `${x.strikes} passes`,
    x.nextTryAt === null ? '-' : formatLocalTime(Date.parse(x.nextTryAt), now, r.timeZone),
    oneLine(x.answers[0] ?? '-'),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, k) => (k === cols.length - 1 ? c : c.padEnd(widths[k]!))).join('  ');
  lines.push(p.dim(fmt(head)));
  for (const c of cells) lines.push(fmt(c));
  if (q.requeue) lines.push('', `each is tried alone at its next try; to send ${q.rows.length === 1 ? 'it' : 'them'} at the next pass instead:`, `  ${escapeControl(q.requeue)}`);
  return lines;
}

/** A reason on one line, cut to a length a terminal row can take. */
function oneLine(text: string): string {
  // The reason is the central's text: no control character of it reaches the terminal.
  const flat = escapeControl(text.replace(/\s+/g, ' ').trim());
  return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat;
}
