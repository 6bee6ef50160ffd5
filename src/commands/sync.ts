// `pos-sync sync`: one bounded pass (src/pass/pass.ts), or one every Sync.SyncIntervalSeconds with
// --watch; a spinner on a terminal, the metrics file after each pass, SIGTERM/SIGINT stop it
// after the batch in flight; then its human output and closing line. The pass itself, and all it
// loads, is loaded once the configuration is: --help and a usage error never load it.

import { resolve } from 'node:path';
import { checkTls, centralClient } from '../cli/clients.js';
import type { Context } from '../cli/context.js';
import { positiveInt, positiveNumber } from '../cli/options.js';
import { createProgress, noProgress } from '../cli/progress.js';
import { seconds, type Paint } from '../cli/render.js';
import { stopOnSignals } from '../cli/signals.js';
import type { Config } from '../config/types.js';
import { kafkaTrouble } from '../domain/kafka-trouble.js';
import { formatLocalTime, storeTimeZone, plural } from '../domain/localtime.js';
import { escapeControl } from '../domain/redact.js';
import { monotonicClock, systemClock } from '../domain/time.js';
import { passTrouble } from '../domain/verdict.js';
import { ExitCode, PosSyncError, UsageError, worstExitCode } from '../errors.js';
import { scrub } from '../log.js';
import type { PassResult, StopRequest } from '../pass/pass.js';
import { defineCommand } from './command.js';
import { breakerOpenWarning, nextProbe } from './sync-lines.js';

interface SyncFlags {
  batchSize?: number;
  maxRunSeconds?: number;
  force?: boolean;
  dryRun?: boolean;
  metricsFile?: string;
  watch?: boolean;
}

const SYNC_EXIT_CODES = `Exit codes:
  0   every row tried was delivered, or nothing was due
  65  the central refused some rows, or some hold a value pos-sync cannot read (the rest were delivered)
  74  local I/O: the database is missing (no file is created unless Sync.AutoCreateDatabase), unreadable or full
  75  try later: central unreachable, circuit breaker open, another pass holds the lock
  77  the central refused the credentials
  78  configuration error
  64  usage error; 1 a bug`;

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync --db /var/lib/pos/POS_Local.db --central-url https://central.example sync
  pos-sync sync --dry-run                  what would be sent, nothing changed
  pos-sync sync --force                    try now although the circuit breaker is open
  pos-sync --json sync | jq .delivered

After the pass, when one is due, a heartbeat (the till's standing) goes to Sync.HeartbeatEndpoint:
at most every Sync.HeartbeatSeconds and at once when the verdict changes; it never changes the
exit code (man pos-sync, HEARTBEAT).

${SYNC_EXIT_CODES}
A failed pass ends with one line: pos-sync: <what failed> — <what to do>.`;

export const sync = defineCommand<SyncFlags>({
  options: [
    { flags: '--batch-size <n>', description: 'rows per request (Sync.BatchSize)', parse: positiveInt('--batch-size', 10000) },
    { flags: '--max-run-seconds <s>', description: 'time budget of the pass (Sync.MaxRunSeconds)', parse: positiveNumber('--max-run-seconds', 3600) },
    { flags: '--force', description: 'ignore an open circuit breaker for this pass' },
    { flags: '--dry-run', description: 'show what would be sent; send and change nothing' },
    { flags: '--metrics-file <path>', description: 'write Prometheus metrics after the pass (Sync.MetricsFile)' },
    { flags: '--watch', description: 'run a pass every Sync.SyncIntervalSeconds until SIGTERM/SIGINT' },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config, file } = await ctx.loadConfig();
    // Only without a token (never the service's case: its credential): one access() call.
    if (config.http.token === null && !opts.dryRun) (await import('../config/load.js')).refuseWithoutReadableToken(file, 'sync');
    await checkTls(config);
    if (opts.watch && opts.dryRun) throw new UsageError('--watch and --dry-run cannot be combined');
    // root writes as the service user (man page, FILES); the token is read already.
    if (!opts.dryRun && process.geteuid?.() === 0) (await import('../state/run-as.js')).becomeServiceUser(config.db.path, config.stateFile, ctx.io.argv, ctx.log);
    const metricsFile = opts.metricsFile !== undefined ? metricsPath(opts.metricsFile, ctx.io.cwd) : config.metricsFile;
    if (metricsFile !== null && !metricsFile.endsWith('.prom')) ctx.log.warn(`node_exporter's textfile collector reads only *.prom files, not ${metricsFile}`);
    if (config.kafka.enabled) {
      // Before anything is sent: a Kafka file that is not there is named now. It never stops
      // delivery to the central; the events wait until it is fixed (the pass records why).
      const [{ unreadableKafkaFiles }, { describeKafkaTrouble }, fs] = await Promise.all([import('../kafka/settings.js'), import('../domain/kafka-trouble.js'), import('node:fs')]);
      for (const bad of unreadableKafkaFiles(config.kafka.producerConfig, (f) => fs.accessSync(f, fs.constants.R_OK))) {
        ctx.log.error(`${describeKafkaTrouble(bad)}; delivery to the central goes on`);
      }
    }
    const { runSync } = await import('../pass/pass.js');
    const { realSleep } = await import('../central/retry.js');
    /** One pass, its metrics written; the exit code merges a metrics write failure (74). */
    const pass = async (signal?: StopRequest, watching = false): Promise<{ result: Awaited<ReturnType<typeof runSync>>; exitCode: number }> => {
      // process.stderr is touched only for a spinner: creating the stream costs a tick milliseconds.
      const spinner = !ctx.json && ctx.globals.quiet !== true && ctx.io.stderr.isTTY === true;
      const progress = spinner ? createProgress(process.stderr, true) : noProgress;
      // stop() in finally: a spinner left running would keep the process alive after an error.
      let result: Awaited<ReturnType<typeof runSync>>;
      const startedMs = monotonicClock.now();
      try {
        result = await runSync(
          { batchSize: opts.batchSize, maxRunSeconds: opts.maxRunSeconds, dryRun: opts.dryRun, force: opts.force, signal },
          {
            config,
            clock: systemClock,
            random: Math.random,
            sleep: realSleep,
            log: ctx.log,
            // Loaded on first use: a pass refused by an open breaker never loads the SQLite module.
            openDb: async (waitMs) => {
              const openDb = await ctx.databases();
              // Never an empty database in place of a missing one, unless asked (pos-sync(1) COMMANDS);
              // a dry run opens read-only (pos-sync-operations(7) THE LOCAL DATABASE).
              return openDb(config, config.db.autoCreate, opts.dryRun === true, waitMs);
            },
            central: () => centralClient(config),
            onProgress: (n) => progress.update(`delivered ${n} ${n === 1 ? 'row' : 'rows'}`),
          },
        );
      } finally {
        progress.stop();
      }
      // An open breaker is an expected state that repeats every tick: a warning, not an error.
      // On a terminal a single pass's failure is told once, by its closing line (after the
      // result); off a terminal the JSON log line stays too, for whatever parses the log.
      const closesItself = !watching && ctx.io.stderr.isTTY === true;
      if (result.error && !closesItself) {
        if (result.stoppedBy === 'breakerOpen') ctx.log.warn(breakerOpenWarning(result.error, result));
        else ctx.log.error(result.error);
      }
      let exitCode = result.exitCode;
      if (metricsFile !== null && !result.dryRun) {
        try {
          await writeMetrics(metricsFile, config, result);
        } catch (err) {
          if (!(err instanceof PosSyncError)) throw err;
          ctx.log.error(`${err.message}${err.hint ? ` — ${err.hint}` : ''}`);
          exitCode = worstExitCode([exitCode, err.exitCode]);
        }
      }
      if (!result.dryRun && config.heartbeatSeconds > 0) {
        const maxRunMs = opts.maxRunSeconds !== undefined ? opts.maxRunSeconds * 1000 : config.sync.maxRunMs;
        await heartbeat(ctx, config, result, signal?.aborted === true, () => maxRunMs - (monotonicClock.now() - startedMs));
      }
      return { result, exitCode };
    };
    if (!opts.watch) {
      // A timer's pass stopped by `systemctl stop` ends like a --watch pass does.
      const stopping = stopOnSignals(ctx.log);
      try {
        const { result, exitCode } = await pass(stopping.stopped);
        // "refused", as status, health and the state file name the central's refusals.
        const { rejected, ...rest } = result;
        const doc = { ...rest, refused: rejected, exitCode };
        // Under the timer (neither stream a terminal) an open breaker's tick is told once, by the
        // warning log line above: the human line on stdout would be a second journal line per tick.
        const toldByTheLog = result.stoppedBy === 'breakerOpen' && ctx.io.stderr.isTTY !== true && ctx.io.stdout.isTTY !== true;
        if (!(ctx.human && toldByTheLog)) ctx.print(doc, () => renderSync(result, ctx.paint, () => storeTimeZone(config.timeZone)));
        const closing = syncClosingLine(result, ctx.io.stderr.isTTY === true);
        if (closing !== null) ctx.io.stderr.write(scrub(`${ctx.io.stderr.isTTY === true ? ctx.paint.bad(closing) : closing}\n`, ctx.secrets));
        return exitCode;
      } finally {
        stopping.release();
      }
    }
    return watch(ctx, config, async (signal, n) => {
      if (n > 1) ctx.newPass();
      const { result, exitCode } = await pass(signal, true);
      // Idle passes print nothing: a container's log would otherwise get 8,640 lines a day.
      const idle = exitCode === 0 && result.requests === 0 && result.rejected.transaction + result.rejected.inventory === 0;
      if (ctx.human && !idle) ctx.io.stdout.write(scrub(renderSync(result, ctx.paint), ctx.secrets));
      return { result, exitCode };
    });
  },
});

/**
 * The heartbeat after a pass (man page, HEARTBEAT), when one is due: after delivery, within what
 * is left of the budget; whatever happens to it, the pass's exit code stays as it is.
 */
async function heartbeat(ctx: Context, config: Config, result: PassResult, stopping: boolean, remainingMs: () => number): Promise<void> {
  const { maybeSendHeartbeat } = await import('../heartbeat/send.js');
  let client: Awaited<ReturnType<typeof centralClient>> | undefined;
  try {
    const quiet = result.exitCode === 0 && result.requests === 0 && result.rejected.transaction + result.rejected.inventory === 0;
    const outcome = await maybeSendHeartbeat(
      {
        config,
        clock: systemClock,
        log: ctx.log,
        openDb: async () => (await ctx.databases())(config, false, true),
        central: async () => (client = await centralClient(config)),
        remainingMs,
      },
      { quiet, exitCode: result.exitCode, breakerOpen: result.stoppedBy === 'breakerOpen', stopping: stopping || result.stoppedBy === 'stopped' },
    );
    if (outcome.sent) ctx.log.debug('heartbeat answered', { status: outcome.status, verdict: outcome.document.verdict });
  } catch (err) {
    // Never a pass's failure: the standing is sent again with the next heartbeat.
    ctx.log.info(`heartbeat not sent: ${err instanceof Error ? err.message : String(err)}; delivery is not affected`);
  } finally {
    client?.close?.();
  }
}

function metricsPath(raw: string, cwd: string): string {
  if (raw.trim() === '') throw new UsageError('--metrics-file needs a path');
  return resolve(cwd, raw);
}

async function writeMetrics(file: string, config: Config, result: PassResult): Promise<void> {
  const { writeMetricsAfterPass } = await import('../metrics/after-pass.js');
  await writeMetricsAfterPass(file, config, result);
}

/**
 * `sync --watch`: passes until SIGTERM or SIGINT, which stop it after the current batch (see
 * stopOnSignals). Exits with the last pass's code.
 */
async function watch(
  ctx: Context,
  config: Config,
  pass: (signal: AbortSignal, n: number) => Promise<{ result: PassResult; exitCode: number }>,
): Promise<number> {
  const { runWatch, abortableSleep } = await import('./watch.js');
  const stopping = stopOnSignals(ctx.log);
  let last: PassResult | null = null;
  try {
    ctx.log.info('watching: one pass every Sync.SyncIntervalSeconds until SIGTERM or SIGINT', { intervalSeconds: config.sync.intervalSeconds });
    const outcome = await runWatch({
      intervalMs: config.sync.intervalSeconds * 1000,
      // Start to start on the monotonic clock: a clock step neither skips a pass nor sleeps an hour.
      clock: monotonicClock,
      sleep: abortableSleep,
      signal: stopping.signal,
      pass: async (signal, n) => {
        systemClock.reanchor(); // each pass's timestamps follow the wall clock as it is now
        try {
          const { result, exitCode } = await pass(signal, n);
          last = result;
          ctx.log.debug('pass finished', { exitCode, stoppedBy: result.stoppedBy, delivered: result.delivered.transaction + result.delivered.inventory, durationMs: Math.round(result.durationMs) });
          return exitCode;
        } catch (err) {
          // Like a timer's next tick: a pass that cannot run now (another pass holds the lock,
          // the database is unavailable) is tried again next interval. A configuration error or
          // a bug ends the watch.
          if (err instanceof PosSyncError && (err.exitCode === ExitCode.tempFail || err.exitCode === ExitCode.io)) {
            ctx.log.error(`${err.message}${err.hint ? ` — ${err.hint}` : ''}`);
            return err.exitCode;
          }
          throw err;
        }
      },
    });
    ctx.log.info('stopped', { passes: outcome.passes, exitCode: outcome.exitCode });
    // --json: still exactly one document, the last pass's result.
    if (ctx.json) {
      const lastPass = last === null ? null : (({ rejected, ...rest }: PassResult) => ({ ...rest, refused: rejected }))(last);
      const summary = { command: 'sync', watch: true, passes: outcome.passes, exitCode: outcome.exitCode, lastPass };
      ctx.print(summary, () => '');
    }
    return outcome.exitCode;
  } finally {
    stopping.release();
  }
}

// ---- logic ----

/**
 * `zone`: the store's IANA zone (Sync.TimeZone or the machine's), for the times shown; a function,
 * so an idle tick never pays for Intl's time-zone data.
 */
export function renderSync(r: PassResult, p: Paint, zone?: () => string): string {
  if (r.dryRun && r.wouldSend) {
    const w = r.wouldSend;
    const lines = [`dry run: would send ${plural(w.rows.transaction, 'transaction')} and ${plural(w.rows.inventory, 'inventory update')} in ${plural(w.batches, 'batch', 'batches')}; nothing was sent or changed`];
    // Row values come from the POS database: escaped for the terminal.
    for (const e of w.firstBatch.slice(0, 20)) lines.push(escapeControl(`  ${e.entity} ${e.id} ${e.productId} ${e.type} ${e.occurredAt}`));
    if (w.firstBatch.length > 20) lines.push(`  … and ${w.firstBatch.length - 20} more in the first batch`);
    return lines.join('\n') + '\n';
  }
  if (r.stoppedBy === 'breakerOpen') {
    const endedAt = Date.parse(r.startedAt) + r.durationMs;
    return `${p.warn('circuit breaker open')}: no request sent; ${nextProbe(r.breaker, endedAt)}; \`pos-sync sync --force\` tries now\n`;
  }
  const d = r.delivered.transaction + r.delivered.inventory;
  const rej = r.rejected.transaction + r.rejected.inventory;
  const dead = r.deadLettered.transaction + r.deadLettered.inventory;
  const kafka = kafkaOutcome(r, p);
  if (r.requests === 0 && rej === 0 && r.exitCode === 0 && (r.unreadable?.transaction ?? 0) + (r.unreadable?.inventory ?? 0) === 0) {
    const w = r.waiting;
    const until = w?.until ? (zone ? formatLocalTime(Date.parse(w.until), Date.parse(r.startedAt) + r.durationMs, zone()) : w.until) : 'later';
    const idle = w && w.rows > 0 ? `nothing due: ${plural(w.rows, 'refused row')} ${w.rows === 1 ? 'waits' : 'wait'} until ${until}` : 'nothing pending';
    return `${idle}${kafka ? `, ${kafka}` : ''} ${p.dim(`(${seconds(r.durationMs)})`)}\n`;
  }
  const good = r.exitCode === 0 || r.exitCode === 65;
  const parts = [
    `${good ? p.ok(`delivered ${d}`) : `delivered ${d}`} (${plural(r.delivered.transaction, 'transaction')}, ${plural(r.delivered.inventory, 'inventory update')})`,
    plural(r.requests, 'request'),
    seconds(r.durationMs),
  ];
  if (rej > 0) parts.push(p.warn(`${rej} refused${dead > 0 ? `, ${dead} dead-lettered` : ''}`));
  const unreadable = (r.unreadable?.transaction ?? 0) + (r.unreadable?.inventory ?? 0);
  if (unreadable > 0) parts.push(p.warn(`${unreadable} not sent: a value pos-sync cannot read (pos-sync status lists ${unreadable === 1 ? 'it' : 'them'})`));
  if (r.stoppedBy === 'time') parts.push('stopped at the time budget, the next pass goes on');
  if (r.probe) parts.push(r.breaker.state === 'closed' ? p.ok('circuit breaker closed') : p.bad(`circuit breaker open again, ${nextProbe(r.breaker, Date.parse(r.startedAt) + r.durationMs)}`));
  else if (r.breaker.state === 'open') parts.push(p.bad(`circuit breaker opened, ${nextProbe(r.breaker, Date.parse(r.startedAt) + r.durationMs)}`));
  if (kafka) parts.push(kafka);
  return `${parts.join(', ')}\n`;
}

/** What the pass did on Kafka, or '' when Kafka is off or there was nothing to publish. */
function kafkaOutcome(r: PassResult, p: Paint): string {
  const k = r.kafka;
  if (!k) return '';
  const events = (n: number): string => (n === 1 ? '1 event' : `${n} events`);
  const wait = (n: number): string => `${events(n)} ${n === 1 ? 'waits' : 'wait'}`;
  const published = k.published > 0 ? `${events(k.published)} published to Kafka` : '';
  if (k.error !== null) {
    const trouble = kafkaTrouble(k.error);
    const said = trouble.heals ? p.warn(`Kafka unavailable, ${wait(k.backlog)} for the next pass`) : p.bad(`${trouble.label} (cannot heal by waiting), ${wait(k.backlog)}`);
    return [published, said].filter(Boolean).join(', ');
  }
  if (k.backlog > 0) return [published, `${wait(k.backlog)} for Kafka`].filter(Boolean).join(', ');
  return published;
}

/**
 * The closing line of a failed pass (pos-sync(1) LOGGING): `pos-sync: <what failed> — <what to do>`, or null
 * for a pass that succeeded. The one error line of the pass: it replaces the error log line.
 */
export function syncClosingLine(r: PassResult, terminal = false): string | null {
  if (r.exitCode === 0) return null;
  // An open breaker repeats every tick while the central is down: closed with a line only for a
  // person at a terminal; the journal has its warning.
  if (r.stoppedBy === 'breakerOpen') {
    if (!terminal) return null;
    return `pos-sync: ${escapeControl(r.error ?? 'the circuit breaker is open')} — nothing is lost, the rows wait; pos-sync sync --force tries now`;
  }
  // The error may quote the central's answer: escaped for the terminal.
  const line = closingText(r);
  return `pos-sync: ${escapeControl(line.slice('pos-sync: '.length))}`;
}

function closingText(r: PassResult): string {
  const trouble = passTrouble(r.exitCode);
  if (trouble !== null) return `pos-sync: ${r.error ?? trouble.label} — ${trouble.hint}`;
  if (r.exitCode === 65) {
    const rej = r.rejected.transaction + r.rejected.inventory;
    const dead = r.deadLettered.transaction + r.deadLettered.inventory;
    const unreadable = (r.unreadable?.transaction ?? 0) + (r.unreadable?.inventory ?? 0);
    const notRead = `${plural(unreadable, 'row')} the POS wrote ${unreadable === 1 ? 'holds' : 'hold'} a value pos-sync cannot read: not sent (not refused by the central)`;
    if (rej === 0) return `pos-sync: ${notRead}; the rest were delivered — pos-sync status lists ${unreadable === 1 ? 'it' : 'them'}; fixed in the POS, ${unreadable === 1 ? 'it goes' : 'they go'} out`;
    if (unreadable > 0) return `pos-sync: the central API refused ${plural(rej, 'row')}${dead > 0 ? ` (${dead} dead-lettered)` : ''}, and ${notRead}; the rest were delivered — pos-sync status --dead-letters lists both`;
    return `pos-sync: the central API refused ${plural(rej, 'row')}${dead > 0 ? ` (${dead} dead-lettered)` : ''}; the rest were delivered — see why with pos-sync status --dead-letters and the "row refused" log lines`;
  }
  return `pos-sync: ${r.error ?? `the pass ended with exit ${r.exitCode}`} — nothing is lost: the next pass retries (pos-sync status shows since when)`;
}
