// What every command gets from the command line: the Io, the global options, a logger that knows
// the pass and the store, the config loaded once, the database opener and the printer.

import type { Database } from 'better-sqlite3';
import type { LoadedConfig } from '../config/load.js';
import type { GlobalFlags } from '../config/resolve.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { mapProducerConfig } from '../kafka/settings.js';
import { scrub, type Logger } from '../log.js';
import { commandLogContext, commandLogger, newPassId } from './command-log.js';
import { noPaint, type Paint } from './render.js';

export interface Io {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: { write(s: string): unknown; isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Takes over Node's own process warnings (bin/pos-sync passes one; tests may not). */
  readonly onProcessWarning?: (handler: (warning: Error) => void) => void;
}

export interface GlobalOptions {
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

/** Opens the configured database (created only when `create`, and never when `readonly`). */
/** `waitMs`: the longest any wait for a lock may take while opening (default Sync.MaxRunSeconds). */
export type OpenDb = (config: Config, create: boolean, readonly?: boolean, waitMs?: number) => Database;

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
  /**
   * The database opener, loaded on first use so --help and usage errors never load the native
   * module. readonly: status, sync --dry-run (pos-sync-operations(7) THE LOCAL DATABASE: read-only commands change nothing).
   */
  databases(): Promise<OpenDb>;
  print(result: { exitCode: number }, human: () => string): void;
}

export async function makePaint(io: Io, globals: GlobalOptions): Promise<Paint> {
  const tty = io.stdout.isTTY === true;
  const forced = io.env['FORCE_COLOR'] !== undefined && io.env['FORCE_COLOR'] !== '0';
  if (globals.color === false || (io.env['NO_COLOR'] ?? '') !== '' || (!tty && !forced)) return noPaint;
  const { Chalk } = await import('chalk');
  const chalk = new Chalk({ level: 1 });
  return { ok: chalk.green, warn: chalk.yellow, bad: chalk.red, dim: chalk.dim, bold: chalk.bold };
}

export function createContext(io: Io, globals: GlobalOptions, paint: Paint, command: string): Context {
  const json = globals.json === true;
  let secrets: string[] = [];
  let verbose = globals.verbose === true;
  // On every JSON log line, so the lines of one pass (and one store) can be grouped downstream.
  const logContext = commandLogContext(command);
  const makeLog = (): Logger => commandLogger({ stderr: io.stderr, verbose, quiet: globals.quiet === true, paint, secrets, context: logContext });
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
      checkProducerConfig(loaded);
      const { secretValues } = await import('../config/secrets.js');
      secrets = secretValues(loaded.config);
      verbose = verbose || loaded.config.detailedLogging;
      logContext['store'] = loaded.config.storeId;
      log = makeLog();
      for (const w of loaded.warnings) log.warn(w);
      return loaded;
    },
    async databases() {
      const { openDatabase } = await import('../store/db.js');
      const runAs = process.geteuid?.() === 0 ? await import('../state/run-as.js') : null;
      return (config, create, readonly = false, waitMs = config.sync.maxRunMs) => {
        // root writes as the service user (man page, FILES).
        if (!readonly) runAs?.becomeServiceUser(config.db.path, config.stateFile, io.argv, log);
        return openDatabase({ path: config.db.path, create: create && !readonly, autoMigrate: config.db.autoMigrate, readonly, busyTimeoutMs: Math.min(config.db.busyTimeoutMs, waitMs) });
      };
    },
    print(result, human) {
      // Every document leads with its schema's version (man/schemas/<command>.schema.json).
      io.stdout.write(scrub(json ? `${JSON.stringify({ schemaVersion: 1, ...result }, null, 2)}\n` : human(), secrets));
    },
  };
  return ctx;
}

/**
 * Kafka.ProducerConfig is checked up front, so a wrong key is exit 78 before any pass starts. Here,
 * not in src/config/: the mapping is Kafka's, and the configuration sits below Kafka (README →
 * Architecture). Its warnings (the seed's acks=1 is raised to all) are not logged here: that would
 * repeat every 10 s in the journal. `pos-sync config` shows them.
 */
function checkProducerConfig(loaded: LoadedConfig): void {
  const resolved = loaded.settings.get('Kafka.ProducerConfig');
  if (!resolved) return;
  const result = mapProducerConfig(resolved.value as Record<string, unknown>);
  const from = resolved.source.kind === 'default' ? '' : ` (from ${resolved.source.kind} ${resolved.source.name})`;
  if ('error' in result) throw new ConfigError(`${result.error}${from}`);
}
