// The command line: commander program, global options, and the one place where errors become
// printed lines and exit codes (SPEC §8, §9). Commands are plain functions loaded on demand.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { LoadedConfig } from '../config/load.js';
import type { GlobalFlags } from '../config/resolve.js';
import { ExitCode, PosSyncError, UsageError, worstExitCode } from '../errors.js';
import { createLogger, scrub, type Level, type Logger } from '../log.js';
import { escapeControl } from '../domain/redact.js';
import { monotonicClock, systemClock } from '../domain/time.js';
import { noPaint, type Paint } from './render.js';
import { createProgress, noProgress } from './progress.js';
import { COMMAND_HELP } from './help.js';
import { machineTimeZone } from '../domain/localtime.js';

export { processStdio } from './stdio.js';

export interface Io {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: { write(s: string): unknown; isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Takes over Node's own process warnings (bin/pos-sync passes one; tests may not). */
  readonly onProcessWarning?: (handler: (warning: Error) => void) => void;
}

interface GlobalOptions {
  config?: string;
  db?: string;
  stateFile?: string;
  storeId?: string;
  centralUrl?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  color?: boolean;
}

export function positiveInt(name: string, max = 1_000_000_000) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    }
    return Number(value);
  };
}

export function nonNegativeInt(name: string, max = 1_000_000_000) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) > max) throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${max}`);
    return Number(value);
  };
}

export function positiveNumber(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0) || n > max) throw new InvalidArgumentError(`${name} must be a number above 0 and at most ${max}`);
    return n;
  };
}

/** What every command action gets: the validated config, a logger, output helpers. */
export interface Context {
  readonly io: Io;
  readonly globals: GlobalOptions;
  readonly json: boolean;
  readonly log: Logger;
  /** Values that must never be printed (token, passwords); empty until the config is loaded. */
  readonly secrets: readonly string[];
  readonly paint: Paint;
  readonly human: boolean;
  /** Starts a new pass id on the log lines (--watch runs several passes in one process). */
  newPass(): string;
  loadConfig(): Promise<LoadedConfig>;
  /** readonly: status, sync --dry-run (SPEC §4: read-only commands change nothing). */
  openDb(config: LoadedConfig['config'], create: boolean, readonly?: boolean): Database;
  print(result: { exitCode: number }, human: () => string): void;
}

async function makePaint(io: Io, globals: GlobalOptions): Promise<Paint> {
  const tty = io.stdout.isTTY === true;
  const forced = io.env['FORCE_COLOR'] !== undefined && io.env['FORCE_COLOR'] !== '0';
  if (globals.color === false || (io.env['NO_COLOR'] ?? '') !== '' || (!tty && !forced)) return noPaint;
  const { Chalk } = await import('chalk');
  const chalk = new Chalk({ level: 1 });
  return { ok: chalk.green, warn: chalk.yellow, bad: chalk.red, dim: chalk.dim, bold: chalk.bold };
}

/**
 * A short id that tells one pass's log lines from the next one's. Not a UUID: node:crypto would
 * cost every idle tick a module load for an id that only has to be unique per store.
 */
function newPassId(): string {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0')}`;
}

function createContext(io: Io, globals: GlobalOptions, paint: Paint, command: string): Context {
  const json = globals.json === true;
  const stderrTty = io.stderr.isTTY === true;
  let secrets: string[] = [];
  let verbose = globals.verbose === true;
  // On every JSON log line, so the lines of one pass (and one store) can be grouped downstream.
  const logContext: Record<string, string> = command === 'sync' ? { command, pass: newPassId() } : { command };
  const paintLevel = (level: Level, text: string): string => (level === 'error' ? paint.bad(text) : level === 'warn' ? paint.warn(text) : paint.dim(text));
  const makeLog = (): Logger =>
    createLogger({
      json: !stderrTty,
      verbose,
      quiet: globals.quiet === true,
      write: (l) => io.stderr.write(l),
      now: () => Date.now(),
      paint: paintLevel,
      secrets,
      context: { ...logContext },
    });
  let log = makeLog();
  // Node prints its warnings as raw "(node:PID) …" lines, which would break the one-JSON-object-
  // per-line log off a terminal; they go through the logger instead. kafkajs 2.2.4 arms a timer
  // with a negative delay on every request, which Node 23+ reports as TimeoutNegativeWarning and
  // runs after 1 ms, as older Node did silently: known and harmless, so debug only.
  io.onProcessWarning?.((warning) => {
    if (warning.name === 'TimeoutNegativeWarning') log.debug(`node: ${warning.name}: ${warning.message}`);
    else log.warn(`node: ${warning.name}: ${warning.message}`);
  });
  let loaded: LoadedConfig | undefined;
  const ctx: Context = {
    io,
    globals,
    json,
    get log() {
      return log;
    },
    get secrets() {
      return secrets;
    },
    paint,
    human: !json,
    newPass() {
      logContext['pass'] = newPassId();
      log = makeLog();
      return logContext['pass'];
    },
    async loadConfig() {
      if (loaded) return loaded;
      const { loadConfig } = await import('../config/load.js');
      const flags: GlobalFlags = {
        config: globals.config,
        db: globals.db,
        stateFile: globals.stateFile,
        storeId: globals.storeId,
        centralUrl: globals.centralUrl,
        verbose: globals.verbose,
      };
      loaded = await loadConfig({ flags, env: io.env, cwd: io.cwd });
      const { secretValues } = await import('../config/secrets.js');
      secrets = secretValues(loaded.config);
      verbose = verbose || loaded.config.detailedLogging;
      logContext['store'] = loaded.config.storeId;
      log = makeLog();
      for (const w of loaded.warnings) log.warn(w);
      return loaded;
    },
    openDb(config, create, readonly = false) {
      // Loaded here, not at the top, so --help and usage errors never load the native module.
      return openDatabaseSync(config, create, readonly);
    },
    print(result, human) {
      // Every document leads with its schema's version (man/schemas/<command>.schema.json).
      io.stdout.write(scrub(json ? `${JSON.stringify({ schemaVersion: 1, ...result }, null, 2)}\n` : human(), secrets));
    },
  };
  return ctx;
}

/**
 * The central API client; with a TLS file configured, over a fetch that carries the CA and client
 * certificate. Loaded on first use, so a pass with nothing to send never loads the HTTP stack.
 */
async function centralClient(config: LoadedConfig['config']): Promise<import('../central/client.js').CentralClient> {
  const { createCentralClient } = await import('../central/client.js');
  let tlsFetch: (typeof fetch & { close(): void }) | undefined;
  if (tlsConfigured(config.http)) {
    const { createTlsFetch } = await import('../central/tls.js');
    tlsFetch = createTlsFetch(config.http);
  }
  return createCentralClient({
    eventsUrl: config.endpoints.events,
    healthUrl: config.endpoints.health,
    storeId: config.storeId,
    token: config.http.token,
    headers: config.http.headers,
    ...(tlsFetch ? { fetch: tlsFetch, close: tlsFetch.close } : {}),
  });
}

function tlsConfigured(http: LoadedConfig['config']['http']): boolean {
  return http.caFile !== null || http.clientCertFile !== null || http.clientKeyFile !== null;
}

/**
 * A wrong TLS path is a configuration error (exit 78) on every pass, not only on the first one
 * with something to send; one access() per file, and only when TLS files are configured.
 */
async function checkTls(config: LoadedConfig['config']): Promise<void> {
  if (!tlsConfigured(config.http)) return;
  const { checkTlsFiles } = await import('../central/tls-files.js');
  checkTlsFiles(config.http);
}

interface SyncFlags {
  batchSize?: number;
  maxRunSeconds?: number;
  force?: boolean;
  dryRun?: boolean;
  metricsFile?: string;
  watch?: boolean;
}

type PassResultOf = import('../commands/sync.js').PassResult;

function metricsPath(raw: string, cwd: string): string {
  if (raw.trim() === '') throw new UsageError('--metrics-file needs a path');
  return path.resolve(cwd, raw);
}

/**
 * Pending rows per entity for the metrics file, read after the pass (an open-breaker pass never
 * opened the database). Null when it cannot be read: the backlog gauges are then left out.
 */
async function readBacklog(config: LoadedConfig['config']): Promise<Record<'transaction' | 'inventory', import('../store/history.js').EntityBacklog> | null> {
  try {
    const [{ openDatabase }, { entityBacklog }] = await Promise.all([import('../store/db.js'), import('../store/history.js')]);
    const db = openDatabase({ path: config.db.path, create: false, autoMigrate: false, readonly: true, busyTimeoutMs: Math.min(config.db.busyTimeoutMs, 2000) });
    try {
      const now = Date.now();
      return { transaction: entityBacklog(db, 'transaction', now), inventory: entityBacklog(db, 'inventory', now) };
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

async function writeMetrics(file: string, config: LoadedConfig['config'], result: PassResultOf): Promise<void> {
  const [{ writePassMetrics }, backlog, { lastReconcile }] = await Promise.all([import('../metrics/pass.js'), readBacklog(config), import('../state/reconcile-record.js')]);
  writePassMetrics({ file, store: config.storeId, version: VERSION, result, backlog, kafkaEnabled: config.kafka.enabled, now: Date.now(), reconcile: lastReconcile(config.stateFile) });
}

/**
 * SIGTERM (`systemctl stop`) or SIGINT stop a sync after the batch in flight: its answer is
 * committed (or, unanswered, it stays pending) and the state file is saved as after any pass. A
 * second signal kills at once: the handlers are installed once. `release` removes them.
 */
function stopOnSignals(ctx: Context): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    ctx.log.info(`${signal} received: stopping after the current batch`);
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}

/**
 * `sync --watch`: passes until SIGTERM or SIGINT, which stop it after the current batch (see
 * stopOnSignals). Exits with the last pass's code.
 */
async function watch(
  ctx: Context,
  config: LoadedConfig['config'],
  pass: (signal: AbortSignal, n: number) => Promise<{ result: PassResultOf; exitCode: number }>,
): Promise<number> {
  const { runWatch, abortableSleep } = await import('../commands/watch.js');
  const stopping = stopOnSignals(ctx);
  let last: PassResultOf | null = null;
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
      const lastPass = last === null ? null : (({ rejected, ...rest }: PassResultOf) => ({ ...rest, refused: rejected }))(last);
      const summary = { command: 'sync', watch: true, passes: outcome.passes, exitCode: outcome.exitCode, lastPass };
      ctx.print(summary, () => '');
    }
    return outcome.exitCode;
  } finally {
    stopping.release();
  }
}

let openDatabaseSync: (config: LoadedConfig['config'], create: boolean, readonly: boolean) => Database = () => {
  throw new Error('database module not loaded');
};

async function loadDbModule(): Promise<void> {
  const { openDatabase } = await import('../store/db.js');
  openDatabaseSync = (config, create, readonly) =>
    openDatabase({ path: config.db.path, create: create && !readonly, autoMigrate: config.db.autoMigrate, readonly, busyTimeoutMs: Math.min(config.db.busyTimeoutMs, config.sync.maxRunMs) });
}

function buildProgram(io: Io, run: (fn: (ctx: Context) => Promise<number>) => Promise<void>): Command {
  const program = new Command('pos-sync')
    .description("Keeps a store's local POS database in step with the central store API: one bounded pass per run.")
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file (appsettings.json shape); env POS_SYNC_CONFIG; default: searched')
    .option('--db <path>', 'SQLite database; env POS_SYNC_DB; default data/POS_Local.db')
    .option('--state-file <path>', 'state file; env POS_SYNC_STATE_FILE; default pos-sync.state.json beside the database (service and shell alike)')
    .option('--store-id <id>', 'store id; env STORE_ID; default STORE001')
    .option('--central-url <url>', 'central API base URL; env CENTRAL_API_URL')
    .option('--json', 'print one JSON document on stdout')
    .addOption(new Option('-v, --verbose', 'debug logs and stack traces').conflicts('quiet'))
    .option('-q, --quiet', 'warnings and errors only')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined })
    // Global options work after the command too: each command's --help lists them.
    .configureHelp({ showGlobalOptions: true });

  program
    .command('sync')
    .description('deliver pending rows to the central API (one bounded pass)')
    .option('--batch-size <n>', 'rows per request (Sync.BatchSize)', positiveInt('--batch-size', 10000))
    .option('--max-run-seconds <s>', 'time budget of the pass (Sync.MaxRunSeconds)', positiveNumber('--max-run-seconds', 3600))
    .option('--force', 'ignore an open circuit breaker for this pass')
    .option('--dry-run', 'show what would be sent; send and change nothing')
    .option('--metrics-file <path>', 'write Prometheus metrics after the pass (Sync.MetricsFile)')
    .option('--watch', 'run a pass every Sync.SyncIntervalSeconds until SIGTERM/SIGINT')
    .action((opts: SyncFlags) =>
      run(async (ctx) => {
        const { config } = await ctx.loadConfig();
        await checkTls(config);
        if (opts.watch && opts.dryRun) throw new UsageError('--watch and --dry-run cannot be combined');
        const metricsFile = opts.metricsFile !== undefined ? metricsPath(opts.metricsFile, io.cwd) : config.metricsFile;
        if (metricsFile !== null && !metricsFile.endsWith('.prom')) ctx.log.warn(`node_exporter's textfile collector reads only *.prom files, not ${metricsFile}`);
        if (config.kafka.enabled) {
          // Before anything is sent: a Kafka file that is not there is named now. It never stops
          // delivery to the central; the events wait until it is fixed (the pass records why).
          const [{ unreadableKafkaFiles }, { describeKafkaTrouble }, fs] = await Promise.all([import('../kafka/settings.js'), import('../domain/kafka-trouble.js'), import('node:fs')]);
          for (const bad of unreadableKafkaFiles(config.kafka.producerConfig, (f) => fs.accessSync(f, fs.constants.R_OK))) {
            ctx.log.error(`${describeKafkaTrouble(bad)}; delivery to the central goes on`);
          }
        }
        const { runSync } = await import('../commands/sync.js');
        const { renderSync } = await import('./render.js');
        const { realSleep } = await import('../central/retry.js');
        /** One pass, its metrics written; the exit code merges a metrics write failure (74). */
        const pass = async (signal?: AbortSignal, watching = false): Promise<{ result: Awaited<ReturnType<typeof runSync>>; exitCode: number }> => {
          // process.stderr is touched only for a spinner: creating the stream costs a tick milliseconds.
          const spinner = !ctx.json && ctx.globals.quiet !== true && io.stderr.isTTY === true;
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
                  await loadDbModule();
                  // Never an empty database in place of a missing one, unless asked (SPEC §2);
                  // a dry run opens read-only (SPEC §4).
                  return ctx.openDb(config, config.db.autoCreate, opts.dryRun === true);
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
          const closesItself = !watching && io.stderr.isTTY === true;
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
          const stopping = stopOnSignals(ctx);
          try {
            const { result, exitCode } = await pass(stopping.signal);
            // "refused", as status, health and the state file name the central's refusals.
            const { rejected, ...rest } = result;
            const doc = { ...rest, refused: rejected, exitCode };
            ctx.print(doc, () => renderSync(result, ctx.paint, () => config.timeZone ?? machineTimeZone()));
            const { syncClosingLine } = await import('./render.js');
            const closing = syncClosingLine(result, io.stderr.isTTY === true);
            if (closing !== null) io.stderr.write(scrub(`${io.stderr.isTTY === true ? ctx.paint.bad(closing) : closing}\n`, ctx.secrets));
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
      }),
    );

  program
    .command('seed')
    .description('insert realistic unsynced sample rows, for testing')
    .option('--transactions <n>', 'sales transactions to insert', nonNegativeInt('--transactions', 100_000_000), 10)
    .option('--inventory <n>', 'inventory updates to insert', nonNegativeInt('--inventory', 100_000_000), 5)
    .option('--random-seed <n>', 'seed of the random generator, for a repeatable set', nonNegativeInt('--random-seed', 2 ** 31 - 1))
    .option('--force', 'seed even a database holding rows seed did not make (a real POS database)')
    .action((opts: { transactions: number; inventory: number; randomSeed?: number; force?: boolean }) =>
      run(async (ctx) => {
        const { config } = await ctx.loadConfig();
        await loadDbModule();
        const { runSeed } = await import('../commands/seed.js');
        const { renderSeed } = await import('./render.js');
        const result = runSeed(
          { transactions: opts.transactions, inventory: opts.inventory, randomSeed: opts.randomSeed, storeId: config.storeId, force: opts.force },
          { clock: systemClock, openDb: () => ctx.openDb(config, true), dbPath: config.db.path },
        );
        ctx.print(result, () => renderSeed(result));
        return result.exitCode;
      }),
    );

  program
    .command('status')
    .description('is it syncing (OK / DEGRADED / NOT SYNCING), since when, what to do; then the figures')
    .option('--dead-letters', 'also list the dead-lettered rows: id, entity, product, amount, refusals, reason, and the requeue line')
    .option('--limit <n>', 'with --dead-letters: at most this many rows (oldest first)', positiveInt('--limit', 100_000), 50)
    .action((opts: { deadLetters?: boolean; limit: number }) =>
      run(async (ctx) => {
        const loaded = await ctx.loadConfig();
        const { config } = loaded;
        await loadDbModule();
        const { runStatus } = await import('../commands/status.js');
        const { renderStatus } = await import('./render-status.js');
        const result = runStatus({
          config,
          clock: systemClock,
          openDb: () => ctx.openDb(config, false, true),
          configFile: loaded.file,
          tokenSource: loaded.tokenSource,
          ...(opts.deadLetters ? { deadLetters: { limit: opts.limit } } : {}),
        });
        ctx.print(result, () => renderStatus(result, ctx.paint));
        return result.exitCode;
      }),
    );

  program
    .command('health')
    .description('checks for monitoring (Monitoring Plugins exit codes 0-3)')
    .action(() =>
      run(async (ctx) => {
        const { runHealth, unknownHealth, kafkaReachable } = await import('../commands/health.js');
        const { renderHealth } = await import('./render.js');
        let result: Awaited<ReturnType<typeof runHealth>>;
        try {
          const { config } = await ctx.loadConfig();
          const [{ inspectDatabaseInWorker }, { peekState }, { SCHEMA_VERSION }, { readReconcileFacts }] = await Promise.all([
            import('../store/inspect.js'),
            import('../state/file.js'),
            import('../store/migrations.js'),
            import('../state/reconcile-record.js'),
          ]);
          result = await runHealth({
            config,
            clock: systemClock,
            log: ctx.log,
            checkDatabase: (ms) => inspectDatabaseInWorker(config.db.path, Math.min(config.db.busyTimeoutMs, config.health.timeoutMs), Date.now(), ms),
            central: () => centralClient(config),
            checkKafka: config.kafka.enabled ? (ms) => kafkaReachable(config, ctx.log, ms) : null,
            readState: () => peekState(config.stateFile),
            readReconcile: () => readReconcileFacts(config.stateFile),
            expectedSchemaVersion: SCHEMA_VERSION,
          });
        } catch (err) {
          // Whatever stops the checks (a config error, a bug) is UNKNOWN to a monitoring system.
          const message = err instanceof Error ? err.message : String(err);
          ctx.log.error(message);
          result = unknownHealth(message);
        }
        ctx.print(result, () => renderHealth(result));
        return result.exitCode;
      }),
    );
  program
    .command('cleanup')
    .description('delete retry logs and run history past retention; never an unsynced row')
    .option('--dry-run', 'report what would be deleted')
    .option('--synced-older-than <days>', 'also delete synced business rows older than this', positiveInt('--synced-older-than', 36500))
    .option('--vacuum', 'compact the database afterwards (blocks the POS while it runs)')
    .action((opts: { dryRun?: boolean; syncedOlderThan?: number; vacuum?: boolean }) =>
      run(async (ctx) => {
        const { config } = await ctx.loadConfig();
        await loadDbModule();
        const { runCleanup } = await import('../commands/cleanup.js');
        const { renderCleanup } = await import('./render.js');
        const result = runCleanup(
          { dryRun: opts.dryRun, syncedOlderThanDays: opts.syncedOlderThan, vacuum: opts.vacuum },
          { config, clock: systemClock, log: ctx.log, openDb: () => ctx.openDb(config, false) },
        );
        ctx.print(result, () => renderCleanup(result));
        return result.exitCode;
      }),
    );
  program
    .command('requeue')
    .description('put dead-lettered rows back in the queue')
    .option('--all', 'every dead-lettered row')
    .option('--id <id...>', 'these row ids')
    .action((opts: { all?: boolean; id?: string[] }) =>
      run(async (ctx) => {
        const { runRequeue, checkRequeueOptions } = await import('../commands/requeue.js');
        checkRequeueOptions({ all: opts.all, ids: opts.id }); // a usage error before anything is opened
        const { config } = await ctx.loadConfig();
        await loadDbModule();
        const { renderRequeue } = await import('./render.js');
        const result = runRequeue({ all: opts.all, ids: opts.id }, { openDb: () => ctx.openDb(config, false) });
        if (result.unknownIds.length > 0) ctx.log.error(`no row has the id ${result.unknownIds.join(', ')}`);
        ctx.print(result, () => renderRequeue(result, ctx.paint));
        return result.exitCode;
      }),
    );
  program
    .command('reconcile')
    .description("compare the rows delivered from here with the central's figures; list the ids that differ")
    .option('--date <date>', 'one local day YYYY-MM-DD (default: yesterday and today in Sync.TimeZone)')
    .option('--from <time>', 'start of the window: YYYY-MM-DD or ISO 8601 time with zone (with --to)')
    .option('--to <time>', 'end of the window, exclusive (with --from)')
    .option('--resend', 'put the rows the central lacks back in the queue for the next pass')
    .option('--max-run-seconds <s>', 'time budget of the reconciliation (default 60)', positiveNumber('--max-run-seconds', 3600))
    .action((opts: { date?: string; from?: string; to?: string; resend?: boolean; maxRunSeconds?: number }) =>
      run(async (ctx) => {
        const { config } = await ctx.loadConfig();
        await checkTls(config);
        const { reconcileCommand } = await import('../commands/reconcile-cli.js');
        return reconcileCommand(ctx, config, opts);
      }),
    );
  program
    .command('config')
    .description('print the effective configuration and where each value came from (secrets redacted)')
    .action(() =>
      run(async (ctx) => {
        let loaded: LoadedConfig;
        try {
          loaded = await ctx.loadConfig();
        } catch (err) {
          // Every invalid value at once, in the table, then the one closing line.
          const { InvalidSettingsError } = await import('../config/resolve.js');
          if (err instanceof InvalidSettingsError && ctx.human) {
            const { renderInvalidConfig } = await import('../commands/config.js');
            io.stdout.write(renderInvalidConfig(err.invalid, err.settings));
          }
          throw err;
        }
        const { runConfig, renderConfig } = await import('../commands/config.js');
        const result = runConfig(loaded, io.env);
        ctx.print(result, () => renderConfig(result));
        return result.exitCode;
      }),
    );
  for (const command of program.commands) {
    const text = COMMAND_HELP[command.name()];
    if (text) command.addHelpText('after', text);
  }
  return program;
}

const VERSION = '0.1.0';

/** Runs the CLI and returns the exit code; never calls process.exit. */
export async function main(io: Io): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let ctx: Context | undefined;
  let command = '';
  const run = async (fn: (ctx: Context) => Promise<number>): Promise<void> => {
    const globals = program.opts<GlobalOptions>();
    ctx = createContext(io, globals, await makePaint(io, globals), command);
    exitCode = await fn(ctx);
  };
  const program = buildProgram(io, run);
  program.hook('preAction', (_program, actionCommand) => {
    command = actionCommand.name();
  });
  // Known before the subcommand parses its options, so even a usage error of `health` is UNKNOWN (3).
  let subcommand = '';
  program.hook('preSubcommand', (_program, sub) => {
    subcommand = sub.name();
  });
  try {
    await program.parseAsync(io.argv as string[], { from: 'user' });
    if (io.argv.length === 0) {
      io.stderr.write(program.helpInformation());
      return ExitCode.usage;
    }
  } catch (err) {
    if (subcommand === 'health') return reportHealthError(err, io, ctx, program.opts<GlobalOptions>());
    return reportError(err, io, ctx, program.opts<GlobalOptions>(), subcommand || command || null);
  }
  return exitCode;
}

/**
 * `health` speaks the Monitoring Plugins protocol even when it cannot run: status UNKNOWN (3) and
 * a status line on stdout, which is what a monitoring system reads.
 */
function reportHealthError(err: unknown, io: Io, ctx: Context | undefined, globals: GlobalOptions): number {
  if (err instanceof CommanderError && ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) return ExitCode.ok;
  const message = (err instanceof Error ? err.message : String(err)).replace(/^error: /, '');
  const secrets = ctx?.secrets ?? [];
  io.stderr.write(scrub(`pos-sync: ${escapeControl(message)}\n`, secrets));
  const result = { schemaVersion: 1, command: 'health', exitCode: 3, status: 'UNKNOWN', summary: message, checks: [], perfdata: [], durationMs: 0 };
  io.stdout.write(scrub(globals.json ? `${JSON.stringify(result, null, 2)}\n` : `POS-SYNC UNKNOWN - ${escapeControl(message)}\n`, secrets));
  return 3;
}

/** The --json document of a failed command (man/schemas/error.schema.json). */
function errorDocument(command: string | null, error: string, hint: string | null | undefined, exitCode: number): string {
  return `${JSON.stringify({ schemaVersion: 1, command, error, hint: hint ?? null, exitCode }, null, 2)}\n`;
}

function reportError(err: unknown, io: Io, ctx: Context | undefined, globals: GlobalOptions, command: string | null): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    const message = err.message.replace(/^error: /, '');
    const hint = `see pos-sync ${command ? `${command} ` : ''}--help`;
    io.stderr.write(`${redOnTerminal(`pos-sync: ${message} — ${hint}`, io, globals)}\n`);
    if (globals.json) io.stdout.write(errorDocument(command, message, hint, ExitCode.usage));
    return ExitCode.usage;
  }
  let code: number;
  let message: string;
  let hint: string | undefined;
  if (err instanceof PosSyncError) {
    code = err.exitCode;
    message = err.message;
    hint = err.hint;
  } else if (isSqliteOrFsError(err)) {
    // A database the POS holds locked past the busy timeout: the next tick tries again.
    const busy = /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown }).code));
    code = busy ? ExitCode.tempFail : ExitCode.io;
    message = `${busy ? 'database busy' : 'local I/O error'}: ${(err as Error).message}`;
    hint = busy ? 'the POS holds the database; the next pass tries again' : 'check the database file, its permissions and the free disk space';
  } else {
    code = ExitCode.internal;
    message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
    hint = globals.verbose ? 'a bug: please report it with the stack above' : 'a bug: run again with --verbose for the stack and report it';
  }
  // Every failed command ends with one "what failed — what to do" line (SPEC §8).
  hint ??= defaultHint(code, command);
  // An error can quote what a peer answered (which may echo our Authorization header) or a
  // config value: scrubbed like every other output.
  const secrets = ctx?.secrets ?? [];
  // Escaped: the message may quote a central's answer or a database value.
  const line = `pos-sync: ${escapeControl(`${message}${hint ? ` — ${hint}` : ''}`)}`;
  io.stderr.write(scrub(`${redOnTerminal(line, io, globals)}\n`, secrets));
  if (globals.verbose && err instanceof Error && err.stack) io.stderr.write(scrub(`${err.stack}\n`, secrets));
  if (globals.json) io.stdout.write(scrub(errorDocument(command, message, hint, code), secrets));
  return code;
}

/** What to do, for an error that brought no hint of its own: by its exit code (SPEC §9). */
function defaultHint(code: number, command: string | null): string {
  switch (code) {
    case ExitCode.usage:
      return `see pos-sync ${command ? `${command} ` : ''}--help`;
    case ExitCode.config:
      return 'fix it; pos-sync config shows every setting and where it came from';
    case ExitCode.io:
      return 'check the path, its permissions and the free disk space';
    case ExitCode.tempFail:
      return 'nothing is lost: the next pass tries again';
    case ExitCode.noPermission:
      return 'check the API token with the central\'s operator';
    default:
      return 'pos-sync --help lists what each exit code means';
  }
}

/** Red on a terminal (SPEC §8), unless colour is turned off. */
function redOnTerminal(line: string, io: Io, globals: GlobalOptions): string {
  const off = globals.color === false || (io.env['NO_COLOR'] ?? '') !== '';
  return io.stderr.isTTY === true && !off ? `\u001b[31m${line}\u001b[39m` : line;
}

function isSqliteOrFsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_') || ['ENOSPC', 'EACCES', 'EROFS', 'EIO', 'EDQUOT'].includes(code));
}
