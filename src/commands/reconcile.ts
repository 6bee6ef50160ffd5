// `pos-sync reconcile`: does the central hold every row this till delivered, with the same money?
// Per entity, one summary of the whole window on each side; equal → done (one request per entity).
// Different → domain/reconcile.ts narrows the range until the differing rows can be listed by id.
// Read-only unless --resend, which puts the rows the central lacks back in the queue.
// The whole command: its options and --help, its run with its edges (the database, the summary
// client with the TLS settings when configured, the record for health), the comparison, its output.

import type { Database } from 'better-sqlite3';
import type { SummaryClient } from '../central/summary.js';
import { checkTls } from '../cli/clients.js';
import type { Context } from '../cli/context.js';
import { positiveNumber } from '../cli/options.js';
import type { Config } from '../config/types.js';
import {
  dayRange,
  defaultWindow,
  formatDecimal,
  isDate,
  narrow,
  parseDecimal,
  sameSummary,
  startOfDay,
  zoneOffset,
  type AmountDifference,
  type ListedRow,
  type Range,
  type Summary,
} from '../domain/reconcile.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { storeTimeZone } from '../domain/localtime.js';
import { systemClock, type Clock } from '../domain/time.js';
import { ExitCode, PosSyncError, TempFailError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { escapeControl } from '../domain/redact.js';
import type { LocalReconcileStore, UnreadableRow } from '../store/reconcile.js';
import type { ReconcileRecord } from '../state/reconcile-record.js';
import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync reconcile                       yesterday and today in the store's zone (Sync.TimeZone, else the machine's)
  pos-sync reconcile --date 2026-11-24
  pos-sync reconcile --from 2026-11-01 --to 2026-12-01 --resend
  pos-sync --json reconcile | jq .entities

Exit codes:
  0   everything matches
  65  a difference was found (the same answer comes back until someone acts)
  64  bad dates or options
  74  the database cannot be read
  75  the central is unreachable, answers 5xx, or the budget ran out
  77  the central refused the credentials
  78  the central does not offer reconciliation (404/405 from the summary endpoint), or another configuration error`;

export const reconcile = defineCommand<{ date?: string; from?: string; to?: string; resend?: boolean; maxRunSeconds?: number }>({
  options: [
    { flags: '--date <date>', description: 'one local day YYYY-MM-DD (default: yesterday and today in Sync.TimeZone, else the machine\'s zone)' },
    { flags: '--from <time>', description: 'start of the window: YYYY-MM-DD or ISO 8601 time with zone (with --to)' },
    { flags: '--to <time>', description: 'end of the window, exclusive (with --from)' },
    { flags: '--resend', description: 'put the rows the central lacks back in the queue for the next pass' },
    { flags: '--max-run-seconds <s>', description: 'time budget of the reconciliation (default 60)', parse: positiveNumber('--max-run-seconds', 3600) },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config, file } = await ctx.loadConfig();
    if (config.http.token === null) (await import('../config/load.js')).refuseWithoutReadableToken(file, 'reconcile');
    await checkTls(config);
    // It writes (its record beside the state file; the queue with --resend): root does so as the
    // service user (man page, FILES), the token read already.
    if (process.geteuid?.() === 0) (await import('../state/run-as.js')).becomeServiceUser(config.db.path, config.stateFile, ctx.io.argv, ctx.log);
    return reconcileCommand(ctx, config, opts);
  },
});

async function reconcileCommand(ctx: Context, config: Config, options: ReconcileOptions): Promise<number> {
  const [{ openDatabase }, { localReconcileStore }, { createSummaryClient }, record] = await Promise.all([
    import('../store/db.js'),
    import('../store/reconcile.js'),
    import('../central/summary.js'),
    import('../state/reconcile-record.js'),
  ]);
  const recordFile = record.reconcileRecordPath(config.stateFile);
  const result = await runReconcile(options, {
    config,
    clock: systemClock,
    log: ctx.log,
    openDb: async (writable) =>
      openDatabase({
        path: config.db.path,
        create: false,
        autoMigrate: writable && config.db.autoMigrate,
        busyTimeoutMs: Math.min(config.db.busyTimeoutMs, 5000),
        readonly: !writable,
      }),
    localStore: localReconcileStore,
    central: async () => {
      let tlsFetch: typeof fetch | undefined;
      if (config.http.caFile !== null || config.http.clientCertFile !== null) {
        const { createTlsFetch } = await import('../central/tls.js');
        tlsFetch = createTlsFetch(config.http);
      }
      return createSummaryClient({
        url: config.endpoints.summary,
        storeId: config.storeId,
        tillId: config.tillId,
        token: config.http.token,
        headers: config.http.headers,
        ...(tlsFetch ? { fetch: tlsFetch } : {}),
      });
    },
    record: (r) => {
      try {
        record.writeReconcileRecord(recordFile, r);
      } catch (err) {
        ctx.log.warn(`cannot record the reconciliation in ${recordFile}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  });
  ctx.print(result, () => renderReconcile(result, ctx.paint));
  return result.exitCode;
}

/** A data mismatch is not temporary: the same answer comes back until someone acts (README, exit codes). */
export const MISMATCH_EXIT = ExitCode.rejected;

export const DEFAULT_RECONCILE_SECONDS = 60;

export interface ReconcileOptions {
  readonly date?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly resend?: boolean | undefined;
  readonly maxRunSeconds?: number | undefined;
}

export interface ReconcileDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  /** Opens the database: read-only unless `writable` (--resend). */
  readonly openDb: (writable: boolean) => Promise<Database>;
  readonly localStore: (db: Database) => LocalReconcileStore;
  readonly central: () => Promise<SummaryClient>;
  /** Records the outcome for health and metrics; its failure is logged, not fatal. */
  readonly record: (record: ReconcileRecord) => void;
}

export interface SideFigures {
  readonly count: number;
  readonly totalAmount: string;
}

export interface EntityReport {
  readonly entity: Entity;
  readonly status: 'match' | 'mismatch' | 'disabled';
  readonly here: SideFigures | null;
  readonly central: SideFigures | null;
  /** here − central, decimal text. */
  readonly moneyDifference: string | null;
  /**
   * The part of the money difference no listed row explains (a central whose sums disagree with its
   * own rows): "0" when every cent is accounted for; anything else is a mismatch.
   */
  readonly unexplainedDifference: string | null;
  readonly missingAtCentral: ListedRow[];
  readonly extraAtCentral: ListedRow[];
  readonly amountDiffers: AmountDifference[];
  /** At the central, still pending or dead-lettered here: delivered, its local mark not yet written. */
  readonly atCentralNotMarkedHere: ListedRow[];
  /**
   * At the central without a till (sent before events carried tillId), not delivered from here: in
   * a store with several tills, another till's older rows. Listed apart, not a difference.
   */
  readonly atCentralWithoutTill: ListedRow[];
  readonly pending: number;
  readonly deadLettered: number;
  readonly unreadable: UnreadableRow[];
  /** Ranges that were listed by id to find the differences. */
  readonly listedRanges: Array<{ from: string; to: string }>;
}

export interface ReconcileResult {
  readonly command: 'reconcile';
  readonly exitCode: number;
  readonly window: { readonly from: string; readonly to: string; readonly timeZone: string };
  readonly entities: EntityReport[];
  readonly resent: Array<{ entity: Entity; id: string }>;
  readonly requests: number;
  readonly durationMs: number;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A --from/--to value: a date (that local day's midnight) or an ISO 8601 time with its zone. */
function parseInstant(flag: string, text: string, timeZone: string): number {
  const t = text.trim();
  if (isDate(t)) return startOfDay(t, timeZone);
  const ms = ISO_WITH_ZONE.test(t) ? Date.parse(t) : NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(`${flag} "${text}" is not a date (YYYY-MM-DD) or an ISO 8601 time with a zone (2026-10-25T00:00:00+02:00)`);
  }
  return ms;
}

/** The window from the options; a UsageError (64) for bad or contradictory dates. */
export function reconcileWindow(options: ReconcileOptions, now: number, timeZone: string): Range {
  if (options.date !== undefined && (options.from !== undefined || options.to !== undefined)) throw new UsageError('--date cannot be combined with --from/--to');
  if (options.date !== undefined) {
    if (!isDate(options.date.trim())) throw new UsageError(`--date "${options.date}" is not a calendar date YYYY-MM-DD`);
    return dayRange(options.date.trim(), timeZone);
  }
  if ((options.from === undefined) !== (options.to === undefined)) throw new UsageError('--from and --to go together');
  if (options.from !== undefined && options.to !== undefined) {
    const from = parseInstant('--from', options.from, timeZone);
    const to = parseInstant('--to', options.to, timeZone);
    if (!(from < to)) throw new UsageError(`--from must be before --to (${options.from} is not before ${options.to})`);
    if (to - from > 400 * 86_400_000) throw new UsageError('the window is longer than 400 days: reconcile a year or less at a time');
    return { from, to };
  }
  return defaultWindow(now, timeZone);
}

/** "2026-10-25 00:00" in the zone, for people. */
export function localTime(ms: number, timeZone: string): string {
  const shifted = new Date(ms + zoneOffset(ms, timeZone)).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 16)}${ms % 60_000 !== 0 ? shifted.slice(16, 23) : ''}`;
}

const MAX_UNREADABLE = 100;

export async function runReconcile(options: ReconcileOptions, deps: ReconcileDeps): Promise<ReconcileResult> {
  const { config, clock, log } = deps;
  const started = clock.now();
  const timeZone = storeTimeZone(config.timeZone);
  const window = reconcileWindow(options, started, timeZone);
  const deadline = started + (options.maxRunSeconds ?? DEFAULT_RECONCILE_SECONDS) * 1000;
  const timeout = (): number => {
    const left = deadline - clock.now();
    if (left <= 0) throw new TempFailError(`reconcile did not finish within ${options.maxRunSeconds ?? DEFAULT_RECONCILE_SECONDS} s`, { hint: 'try a shorter window or --max-run-seconds' });
    return Math.min(config.http.timeoutMs, left);
  };
  let client: SummaryClient | null = null;
  const base = {
    from: window.from,
    to: window.to,
  };
  const failed = (err: unknown): void => {
    deps.record({
      at: clock.now(), outcome: 'failed', exitCode: err instanceof PosSyncError ? err.exitCode : ExitCode.internal, ...base,
      missingAtCentral: 0, extraAtCentral: 0, amountDiffers: 0, error: err instanceof Error ? err.message : String(err),
    });
  };

  const db = await deps.openDb(options.resend === true);
  try {
    const local = deps.localStore(db);
    client = await deps.central();
    const central = client;
    const reports: EntityReport[] = [];
    const resent: Array<{ entity: Entity; id: string }> = [];
    for (const entity of ENTITIES) {
      const enabled = entity === 'transaction' ? config.sync.transactions : config.sync.inventory;
      if (!enabled) {
        reports.push(emptyReport(entity, 'disabled'));
        continue;
      }
      const unreadable: UnreadableRow[] = [];
      let unreadableCount = 0;
      const here = local.summary(entity, window, (row) => {
        unreadableCount++;
        if (unreadable.length < MAX_UNREADABLE) unreadable.push(row);
      });
      if (unreadableCount > MAX_UNREADABLE) log.warn(`${unreadableCount} ${entity} rows have an unreadable amount; the first ${MAX_UNREADABLE} are listed`);
      const there = await central.summary(entity, window, timeout());
      const notDelivered = local.notDelivered(entity, window);
      const figures = (s: Summary): SideFigures => ({ count: s.count, totalAmount: formatDecimal(s.total) });
      if (sameSummary(here, there)) {
        reports.push({
          ...emptyReport(entity, unreadable.length > 0 ? 'mismatch' : 'match'), here: figures(here), central: figures(there), moneyDifference: '0', unexplainedDifference: '0', unreadable, ...notDelivered,
        });
        continue;
      }
      const diff = await narrow(window, here, there, {
        local: async (r) => local.summary(entity, r),
        central: async (r) => central.summary(entity, r, timeout()),
        localRows: async (r) => local.rows(entity, r),
        centralRows: async (r) => central.rows(entity, r, timeout()),
      }, timeZone);
      // Ids the central holds that this till has not marked delivered yet (a lost answer, or the
      // pass that will mark them is under way): the next pass re-sends them, the central
      // deduplicates. Not a loss, so not a mismatch.
      const extra: ListedRow[] = [];
      const notMarked: ListedRow[] = [];
      const withoutTill: ListedRow[] = [];
      for (const row of diff.extraAtCentral) {
        const state = local.stateOf(entity, row.id);
        (state === 'pending' || state === 'deadLettered' ? notMarked : row.till === null ? withoutTill : extra).push(row);
      }
      // The money: the rows set apart above explain their share of the difference; what is left must be
      // zero. Otherwise the totals disagree although every row matches (a central that sums inexactly),
      // which is a mismatch like any other.
      const unexplained = unexplainedMoney(here.total - there.total, { ...diff, extraAtCentral: extra }, [...notMarked, ...withoutTill]);
      const mismatch = diff.missingAtCentral.length + extra.length + diff.amountDiffers.length + unreadable.length > 0 || unexplained !== 0n;
      if (options.resend && diff.missingAtCentral.length > 0) {
        const done = local.requeue(entity, diff.missingAtCentral.map((r) => r.id));
        for (const id of done) {
          log.info(`${entity} ${id}: put back in the queue (the central does not have it); the next pass sends it`, { entity, id });
          resent.push({ entity, id });
        }
      }
      reports.push({
        entity,
        status: mismatch ? 'mismatch' : 'match',
        here: figures(here),
        central: figures(there),
        moneyDifference: formatDecimal(here.total - there.total),
        unexplainedDifference: formatDecimal(unexplained),
        missingAtCentral: diff.missingAtCentral,
        extraAtCentral: extra,
        amountDiffers: diff.amountDiffers,
        atCentralNotMarkedHere: notMarked,
        atCentralWithoutTill: withoutTill,
        ...notDelivered,
        unreadable,
        listedRanges: diff.ranges.map((r) => ({ from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString() })),
      });
    }
    const mismatch = reports.some((r) => r.status === 'mismatch');
    const exitCode = mismatch ? MISMATCH_EXIT : ExitCode.ok;
    const ended = clock.now();
    deps.record({
      at: ended, outcome: mismatch ? 'mismatch' : 'match', exitCode, ...base,
      missingAtCentral: sum(reports.map((r) => r.missingAtCentral.length)),
      extraAtCentral: sum(reports.map((r) => r.extraAtCentral.length)),
      amountDiffers: sum(reports.map((r) => r.amountDiffers.length)),
      error: null,
    });
    return {
      command: 'reconcile',
      exitCode,
      window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), timeZone },
      entities: reports,
      resent,
      requests: central.requests,
      durationMs: ended - started,
    };
  } catch (err) {
    failed(err);
    throw err;
  } finally {
    db.close();
  }
}

/** The exact sum of listed amounts (central rows always carry one; an unreadable one counts 0). */
function amountSum(rows: readonly ListedRow[]): bigint {
  let total = 0n;
  for (const r of rows) total += r.amount === null ? 0n : (parseDecimal(r.amount) ?? 0n);
  return total;
}

/**
 * The money (here − central) no listed row explains: every row missing, extra, differing or set
 * apart explains its own share; what is left is a difference in the totals themselves.
 */
function unexplainedMoney(
  difference: bigint,
  diff: { missingAtCentral: readonly ListedRow[]; extraAtCentral: readonly ListedRow[]; amountDiffers: readonly AmountDifference[] },
  setApart: readonly ListedRow[],
): bigint {
  const amount = (a: string | null): bigint => (a === null ? 0n : (parseDecimal(a) ?? 0n));
  let rest = difference - amountSum(diff.missingAtCentral) + amountSum(diff.extraAtCentral) + amountSum(setApart);
  for (const d of diff.amountDiffers) rest -= amount(d.here) - amount(d.central);
  return rest;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function emptyReport(entity: Entity, status: EntityReport['status']): EntityReport {
  return {
    entity, status, here: null, central: null, moneyDifference: null, unexplainedDifference: null, missingAtCentral: [], extraAtCentral: [], amountDiffers: [],
    atCentralNotMarkedHere: [], atCentralWithoutTill: [], pending: 0, deadLettered: 0, unreadable: [], listedRanges: [],
  };
}

const NAMES: Record<Entity, string> = { transaction: 'transactions', inventory: 'inventory updates' };
const MAX_LINES = 50;

/** Human output: one line per entity when it matches; the differing ids beneath when not. */
export function renderReconcile(result: ReconcileResult, paint: { ok(s: string): string; bad(s: string): string; warn(s: string): string }): string {
  const tz = result.window.timeZone;
  const from = localTime(Date.parse(result.window.from), tz);
  const to = localTime(Date.parse(result.window.to), tz);
  const out: string[] = [];
  for (const r of result.entities) {
    const head = `${NAMES[r.entity]} ${from} – ${to} ${tz}:`;
    if (r.status === 'disabled') {
      out.push(`${head} not synced (disabled in the configuration)`);
      continue;
    }
    const aside = [r.pending > 0 ? `${r.pending} pending` : '', r.deadLettered > 0 ? `${r.deadLettered} dead-lettered` : ''].filter(Boolean).join(', ');
    const besides = aside ? ` (${aside} here, not counted)` : '';
    if (r.status === 'match') {
      out.push(`${head} ${paint.ok('match')}, ${r.here!.count} rows, total ${r.here!.totalAmount}${besides}`);
    } else {
      out.push(
        `${head} ${paint.bad('MISMATCH')}: here ${r.here!.count} rows, total ${r.here!.totalAmount}; central ${r.central!.count} rows, total ${r.central!.totalAmount}; difference ${r.moneyDifference}${besides}`,
      );
    }
    const list = (label: string, rows: string[]): void => {
      if (rows.length === 0) return;
      out.push(`  ${label} (${rows.length}):`);
      // Ids and amounts come from the database and from the central: never raw to a terminal.
      for (const line of rows.slice(0, MAX_LINES)) out.push(escapeControl(`    ${line}`));
      if (rows.length > MAX_LINES) out.push(`    … and ${rows.length - MAX_LINES} more (--json lists them all)`);
    };
    const amount = (a: string | null): string => (a === null ? 'unreadable' : a);
    list('missing at the central', r.missingAtCentral.map((x) => `${x.id} ${amount(x.amount)}`));
    list('at the central, not delivered from here', r.extraAtCentral.map((x) => `${x.id} ${amount(x.amount)}`));
    list('amount differs', r.amountDiffers.map((x) => `${x.id} here ${amount(x.here)}, central ${amount(x.central)}`));
    list('unreadable amount here', r.unreadable.map((x) => `${x.id}: ${x.why}`));
    list('at the central, still pending here (the next pass marks them)', r.atCentralNotMarkedHere.map((x) => x.id));
    list('at the central without a till (sent before tillId; another till\'s, not counted)', r.atCentralWithoutTill.map((x) => `${x.id} ${amount(x.amount)}`));
    if (r.unexplainedDifference !== null && r.unexplainedDifference !== '0') {
      out.push(`  ${paint.bad(`the totals differ by ${r.unexplainedDifference} more than the rows listed explain`)} (the central's sum disagrees with its own rows)`);
    }
  }
  if (result.resent.length > 0) out.push(paint.warn(`put back in the queue: ${result.resent.length} rows (the next pass sends them)`));
  return `${out.join('\n')}\n`;
}
