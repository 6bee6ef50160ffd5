// `pos-sync sync`: one bounded pass (src/pass/pass.ts), or one every Sync.SyncIntervalSeconds with
// --watch; a spinner on a terminal, the metrics file after each pass, SIGTERM/SIGINT stop it
// after the batch in flight.

import { resolve } from 'node:path';
import type { Config } from '../../config/types.js';
import { machineTimeZone } from '../../domain/localtime.js';
import { monotonicClock, systemClock } from '../../domain/time.js';
import { ExitCode, PosSyncError, UsageError, worstExitCode } from '../../errors.js';
import { scrub } from '../../log.js';
import type { PassResult, StopRequest } from '../../pass/pass.js';
import { checkTls, centralClient } from '../clients.js';
import type { Context } from '../context.js';
import { positiveInt, positiveNumber } from '../options.js';
import { createProgress, noProgress } from '../progress.js';
import { stopOnSignals } from '../signals.js';
import { defineCommand } from './command.js';

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
  65  the central refused some rows (the rest were delivered)
  74  local I/O: the database is missing (no file is created unless Sync.AutoCreateDatabase), unreadable or full
  75  try later: central unreachable, circuit breaker open, another pass holds the lock
  77  the central refused the credentials
  78  configuration error
  64  usage error; 1 a bug`;

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync --db /var/lib/pos/POS_Local.db --central-url https://central.example sync
  pos-sync sync --dry-run                  what would be sent, nothing changed
  pos-sync sync --force                    try now although the circuit breaker is open
  pos-sync --json sync | jq .delivered

${SYNC_EXIT_CODES}
A failed pass ends with one line: pos-sync: <what failed> — <what to do>.`;

export const sync = defineCommand<SyncFlags>({
  name: 'sync',
  description: 'deliver pending rows to the central API (one bounded pass)',
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
    const { config } = await ctx.loadConfig();
    await checkTls(config);
    if (opts.watch && opts.dryRun) throw new UsageError('--watch and --dry-run cannot be combined');
    const metricsFile = opts.metricsFile !== undefined ? metricsPath(opts.metricsFile, ctx.io.cwd) : config.metricsFile;
    if (metricsFile !== null && !metricsFile.endsWith('.prom')) ctx.log.warn(`node_exporter's textfile collector reads only *.prom files, not ${metricsFile}`);
    if (config.kafka.enabled) {
      // Before anything is sent: a Kafka file that is not there is named now. It never stops
      // delivery to the central; the events wait until it is fixed (the pass records why).
      const [{ unreadableKafkaFiles }, { describeKafkaTrouble }, fs] = await Promise.all([import('../../kafka/settings.js'), import('../../domain/kafka-trouble.js'), import('node:fs')]);
      for (const bad of unreadableKafkaFiles(config.kafka.producerConfig, (f) => fs.accessSync(f, fs.constants.R_OK))) {
        ctx.log.error(`${describeKafkaTrouble(bad)}; delivery to the central goes on`);
      }
    }
    const { runSync } = await import('../../pass/pass.js');
    const { renderSync } = await import('../render.js');
    const { realSleep } = await import('../../central/retry.js');
    /** One pass, its metrics written; the exit code merges a metrics write failure (74). */
    const pass = async (signal?: StopRequest, watching = false): Promise<{ result: Awaited<ReturnType<typeof runSync>>; exitCode: number }> => {
      // process.stderr is touched only for a spinner: creating the stream costs a tick milliseconds.
      const spinner = !ctx.json && ctx.globals.quiet !== true && ctx.io.stderr.isTTY === true;
      const progress = spinner ? createProgress(process.stderr, true) : noProgress;
      // stop() in finally: a spinner left running would keep the process alive after an error.
      let result: Awaited<ReturnType<typeof runSync>>;
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
            openDb: async () => {
              const openDb = await ctx.databases();
              // Never an empty database in place of a missing one, unless asked (SPEC §2);
              // a dry run opens read-only (SPEC §4).
              return openDb(config, config.db.autoCreate, opts.dryRun === true);
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
      if (result.error && !closesItself) (result.stoppedBy === 'breakerOpen' ? ctx.log.warn : ctx.log.error)(result.error);
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
        ctx.print(doc, () => renderSync(result, ctx.paint, () => config.timeZone ?? machineTimeZone()));
        const { syncClosingLine } = await import('../render.js');
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

function metricsPath(raw: string, cwd: string): string {
  if (raw.trim() === '') throw new UsageError('--metrics-file needs a path');
  return resolve(cwd, raw);
}

async function writeMetrics(file: string, config: Config, result: PassResult): Promise<void> {
  const { writeMetricsAfterPass } = await import('../../metrics/after-pass.js');
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
  const { runWatch, abortableSleep } = await import('../../commands/watch.js');
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
