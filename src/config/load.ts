// The edge of configuration: finds and reads the config file (cosmiconfig), reads the token
// file, and turns resolved settings into the typed Config.

import { accessSync, constants, existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { ConfigError, CredentialsError } from '../errors.js';
import { hostName } from '../host.js';
import { databaseRealPath } from '../state/lock.js';
import { mightFindConfig } from './search-places.js';
import { resolveSettings, type GlobalFlags, type ResolvedSettings } from './resolve.js';
import type { ApiFormat, Config, ValueSource } from './types.js';

export interface LoadedConfig {
  readonly config: Config;
  readonly settings: ResolvedSettings;
  readonly file: string | null;
  /** Things worth one warning line (e.g. an inline token in a readable file). */
  readonly warnings: readonly string[];
  /** Where the API token came from (for `pos-sync config`), or null without a token. */
  readonly tokenSource: ValueSource | null;
}

export interface LoadInput {
  readonly flags: GlobalFlags;
  /** The system-wide config file, found after every other place (default SYSTEM_CONFIG_FILE; tests name their own). */
  readonly systemConfigFile?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

const MODULE_NAME = 'pos-sync';

/**
 * pos-sync(1) CONFIGURATION's places, in cosmiconfig's order. Its defaults leave out pos-sync.config.{json,yaml,yml}
 * (and include .ts files, which would need a TypeScript loader at run time).
 */
const SEARCH_PLACES = [
  'package.json',
  `.${MODULE_NAME}rc`,
  `.${MODULE_NAME}rc.json`,
  `.${MODULE_NAME}rc.yaml`,
  `.${MODULE_NAME}rc.yml`,
  `.${MODULE_NAME}rc.js`,
  `.${MODULE_NAME}rc.cjs`,
  `.${MODULE_NAME}rc.mjs`,
  `${MODULE_NAME}.config.json`,
  `${MODULE_NAME}.config.yaml`,
  `${MODULE_NAME}.config.yml`,
  `${MODULE_NAME}.config.js`,
  `${MODULE_NAME}.config.cjs`,
  `${MODULE_NAME}.config.mjs`,
];

/**
 * Where the Debian package's install.sh puts the configuration: found when no --config,
 * POS_SYNC_CONFIG or searched place names one, so a plain `pos-sync status` on an installed till
 * reads the till's configuration (man page, CONFIGURATION).
 */
export const SYSTEM_CONFIG_FILE = '/etc/pos-sync/appsettings.json';

/** The system-wide config file when it exists, else null; one it may not read is an error naming it. */
function systemConfig(input: LoadInput): string | null {
  const file = input.systemConfigFile ?? SYSTEM_CONFIG_FILE;
  try {
    statSync(file);
    return file;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      // Its folder is root:pos 0750: outside the group the till's settings cannot be read, and
      // defaults would describe another database (a wrong verdict). Say so instead.
      throw new ConfigError(`permission denied: ${file}`, { hint: 'run as a member of group pos, or as root, or name a config file with --config', cause: err });
    }
    return null;
  }
}

/** Whether `file` cannot even be looked up: a folder on its path denies this user (EACCES). */
function unreachable(file: string): boolean {
  try {
    statSync(file);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EACCES';
  }
}

async function readConfigFile(input: LoadInput): Promise<{ path: string; content: unknown } | null> {
  let explicit = input.flags.config ?? (input.env['POS_SYNC_CONFIG'] || undefined);
  // Most runs have no config file (every idle tick configured by flags and environment): a few
  // stat calls prove it and spare loading cosmiconfig, whose search would find the same nothing.
  // After every searched place: the system-wide file (the service names it with --config).
  if (explicit === undefined && !mightFindConfig(MODULE_NAME, SEARCH_PLACES, input.cwd)) {
    const system = systemConfig(input);
    if (system === null) return null;
    explicit = system;
  }
  const file = explicit === undefined ? undefined : resolve(input.cwd, explicit);
  if (file !== undefined) {
    if (!existsSync(file)) {
      const from = input.flags.config !== undefined ? '--config' : 'POS_SYNC_CONFIG';
      // A folder this user may not search (/etc/pos-sync is root:pos 0750) is not a missing file.
      if (unreachable(file)) throw new ConfigError(`permission denied: ${file} (from ${from})`, { hint: 'run as a member of group pos, or as root' });
      throw new ConfigError(`config file ${file} (from ${from}) does not exist`);
    }
    // The seed's appsettings.json, as the service names it on every tick: read here, as
    // cosmiconfig's JSON loader would, without loading cosmiconfig and its loaders (about ten
    // milliseconds of every tick, pos-sync-internals(7) PERFORMANCE).
    if (extname(file).toLowerCase() === '.json') {
      const json = readJsonConfig(file);
      if (json !== IMPORTS) return { path: file, content: json };
    }
  }
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig(MODULE_NAME, { searchStrategy: 'global', searchPlaces: SEARCH_PLACES, cache: false });
  try {
    if (file !== undefined) {
      const result = await explorer.load(file);
      return { path: file, content: result?.config ?? null };
    }
    const result = await explorer.search(input.cwd);
    if (result) return { path: result.filepath, content: result.config ?? null };
    // mightFindConfig answers "maybe" more often than cosmiconfig finds something.
    const system = systemConfig(input);
    return system === null ? null : { path: system, content: (await explorer.load(system))?.config ?? null };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new ConfigError(`cannot read the config file: ${message}`, { cause: err });
  }
}

/** A JSON config file that imports others ($import): cosmiconfig merges those. */
const IMPORTS = Symbol('$import');

/**
 * A JSON config file's content as cosmiconfig's JSON loader gives it (UTF-16 by its byte-order
 * mark, else UTF-8; an empty file is no configuration), and one thing more: a UTF-8 byte-order
 * mark is skipped, as .NET's configuration reads the appsettings.json that Visual Studio writes.
 * IMPORTS when it has an `$import` key.
 */
function readJsonConfig(file: string): unknown {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read the config file: ${(err as Error).message}`, { cause: err });
  }
  const text =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? new TextDecoder('utf-16le').decode(bytes)
      : bytes[0] === 0xfe && bytes[1] === 0xff
        ? new TextDecoder('utf-16be').decode(bytes)
        : bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.trim() === '') return null;
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`cannot read the config file: JSON Error in ${file}: ${(err as Error).message}`, { cause: err });
  }
  return content !== null && typeof content === 'object' && Object.hasOwn(content, '$import') ? IMPORTS : content;
}

function get<T>(settings: ResolvedSettings, key: string): T {
  const r = settings.get(key);
  if (!r) throw new Error(`setting ${key} was not resolved`); // a bug, not user input
  return r.value as T;
}

function readToken(file: string, from: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`cannot read the API token file ${file} (${from}): ${code}`);
  }
  if (token === '') throw new ConfigError(`the API token file ${file} (${from}) is empty`);
  if (/[\r\n]/.test(token)) throw new ConfigError(`the API token file ${file} (${from}) holds more than one line`);
  return token;
}

interface TokenChoice {
  readonly token: string;
  readonly source: ValueSource;
}

/** Token preference: Sync.ApiTokenFile, $CREDENTIALS_DIRECTORY/api-token, POS_SYNC_API_TOKEN, Sync.ApiToken, /etc/pos-sync/api-token. */
export function resolveToken(settings: ResolvedSettings, env: LoadInput['env'], warnings: string[], configFile: string | null = null): TokenChoice | null {
  const tokenFile = get<string | null>(settings, 'Sync.ApiTokenFile');
  if (tokenFile) return { token: readToken(tokenFile, 'Sync.ApiTokenFile'), source: { kind: 'file', name: tokenFile } };
  const credDir = env['CREDENTIALS_DIRECTORY'];
  if (credDir) {
    const file = join(credDir, 'api-token');
    if (existsSync(file)) return { token: readToken(file, 'systemd credential api-token'), source: { kind: 'file', name: file } };
  }
  const fromEnv = env['POS_SYNC_API_TOKEN'];
  if (fromEnv) return { token: fromEnv.trim(), source: { kind: 'environment', name: 'POS_SYNC_API_TOKEN' } };
  const inline = settings.get('Sync.ApiToken');
  if (inline && typeof inline.value === 'string') {
    if (inline.source.kind === 'file') {
      try {
        const mode = statSync(inline.source.name).mode;
        if (mode & 0o044) warnings.push(`Sync.ApiToken is written in ${inline.source.name}, which others can read: use Sync.ApiTokenFile or a systemd credential`);
      } catch {
        // the file was readable a moment ago; a stat failure changes nothing here
      }
    }
    return { token: inline.value, source: inline.source };
  }
  // The file the package's install.sh writes and the unit loads as its credential: a technician's
  // manual run (root, or a user the file is shared with) finds the token the service uses.
  if (!credDir) {
    const installed = installedTokenFile(configFile);
    try {
      accessSync(installed, constants.R_OK);
      return { token: readToken(installed, 'the installed token file'), source: { kind: 'file', name: installed } };
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // not installed, or not readable by this user: no token, as before
    }
  }
  return null;
}

/** Where examples/debian's install.sh puts the central API token. */
export const INSTALLED_TOKEN_FILE = '/etc/pos-sync/api-token';

/**
 * Before a command sends anything without a token: on an installed till whose token this user may
 * not read (a shift lead: /etc/pos-sync is root's), a request without it would only be refused
 * (77) and, for sync, recorded as the till's last pass. Refused here instead, naming the file and
 * what to type.
 */
export function refuseWithoutReadableToken(configFile: string | null, command: string): void {
  const installed = installedTokenFile(configFile);
  try {
    accessSync(installed, constants.R_OK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') return; // not an installed till: no token, as before
    const config = configFile === null ? '' : ` --config ${configFile}`;
    throw new CredentialsError(`permission denied: ${installed}, the till's API token; nothing was sent`, { hint: `run it as root: sudo pos-sync${config} ${command}` });
  }
}

/**
 * The installed token of the till configured by `configFile`: `install.sh --till NAME` gives
 * /etc/pos-sync/NAME.json its own /etc/pos-sync/NAME.api-token (pos-sync@NAME's credential).
 */
export function installedTokenFile(configFile: string | null): string {
  const m = configFile === null ? null : /^\/etc\/pos-sync\/([A-Za-z0-9_-]+)\.json$/.exec(configFile);
  return m === null || m[1] === 'appsettings' ? INSTALLED_TOKEN_FILE : `/etc/pos-sync/${m[1]}.api-token`;
}

/**
 * Beside the database, however pos-sync was started (man page, FILES): the service and a
 * technician's shell must see the same breaker and last pass, so nothing only one of them has
 * (systemd's $STATE_DIRECTORY, a unit's environment) may move it. Named from the database's real
 * path, like the pass lock: two databases in one folder get two state files, and a database
 * reached through a symlink the same one (`/var/lib/pos/POS_Local.db.pos-sync.state.json`).
 */
function defaultStateFile(dbPath: string): string {
  return `${databaseRealPath(dbPath)}.pos-sync.state.json`;
}

export function buildConfig(settings: ResolvedSettings, env: LoadInput['env'], warnings: string[], token: TokenChoice | null = resolveToken(settings, env, warnings)): Config {
  const dbPath = get<string>(settings, 'Database.Path');
  const s = <T>(key: string): T => get<T>(settings, key);
  const caFile = s<string | null>('Sync.CaFile');
  const clientCertFile = s<string | null>('Sync.ClientCertFile');
  const clientKeyFile = s<string | null>('Sync.ClientKeyFile');
  if ((clientCertFile === null) !== (clientKeyFile === null)) {
    throw new ConfigError('Sync.ClientCertFile and Sync.ClientKeyFile must be set together (mutual TLS)');
  }
  const breakSeconds = s<number>('Sync.CircuitBreaker.BreakSeconds');
  const maxBreakSeconds = s<number>('Sync.CircuitBreaker.MaxBreakSeconds');
  if (maxBreakSeconds < breakSeconds) {
    throw new ConfigError(`Sync.CircuitBreaker.MaxBreakSeconds (${maxBreakSeconds}) must not be below Sync.CircuitBreaker.BreakSeconds (${breakSeconds})`);
  }
  return {
    storeId: s('Sync.StoreId'),
    tillId: s<string | null>('Sync.TillId') ?? hostName(),
    endpoints: { events: s('Sync.CentralApiEndpoint'), health: s('Sync.HealthCheckEndpoint'), summary: s('Sync.SummaryEndpoint'), heartbeat: s('Sync.HeartbeatEndpoint') },
    heartbeatSeconds: s('Sync.HeartbeatSeconds'),
    timeZone: s('Sync.TimeZone'),
    db: {
      path: dbPath,
      autoCreate: s('Sync.AutoCreateDatabase'),
      autoMigrate: s('Database.AutoMigrate'),
      busyTimeoutMs: s<number>('Database.CommandTimeoutSeconds') * 1000,
    },
    stateFile: s<string | null>('Sync.StateFile') ?? defaultStateFile(dbPath),
    metricsFile: s('Sync.MetricsFile'),
    http: {
      format: s<ApiFormat>('Sync.ApiFormat'),
      timeoutMs: s<number>('Sync.HttpTimeoutSeconds') * 1000,
      maxRetries: s('Sync.MaxRetryAttempts'),
      headers: s('Sync.ApiHeaders'),
      token: token?.token ?? null,
      caFile,
      clientCertFile,
      clientKeyFile,
    },
    sync: {
      batchSize: s('Sync.BatchSize'),
      maxRunMs: s<number>('Sync.MaxRunSeconds') * 1000,
      maxRejections: s('Sync.MaxRejections'),
      quarantineAfterPasses: s('Sync.QuarantineAfterPasses'),
      retryDelayMs: s<number>('Sync.RetryDelayMinutes') * 60_000,
      intervalSeconds: s('Sync.SyncIntervalSeconds'),
      transactions: s('Sync.EnableTransactionSync'),
      inventory: s('Sync.EnableInventorySync'),
      offlineDeadlineSeconds: s<number | null>('Sync.OfflineDeadlineHours') === null ? null : Math.round(s<number>('Sync.OfflineDeadlineHours') * 3600),
    },
    breaker: {
      failureThreshold: s('Sync.CircuitBreaker.FailureThreshold'),
      breakMs: breakSeconds * 1000,
      maxBreakMs: maxBreakSeconds * 1000,
    },
    retention: { dataDays: s('Sync.DataRetentionDays'), syncedRowDays: s('Sync.SyncedRowRetentionDays') },
    health: {
      timeoutMs: s<number>('Sync.Health.TimeoutSeconds') * 1000,
      backlogWarning: s('Sync.Health.BacklogWarning'),
      backlogCritical: s('Sync.Health.BacklogCritical'),
      oldestPendingWarningSeconds: s('Sync.Health.OldestPendingWarningSeconds'),
      oldestPendingCriticalSeconds: s('Sync.Health.OldestPendingCriticalSeconds'),
      lastSuccessWarningSeconds: s('Sync.Health.LastSuccessWarningSeconds'),
      lastSuccessCriticalSeconds: s('Sync.Health.LastSuccessCriticalSeconds'),
      deadLetteredWarning: s('Sync.Health.DeadLetteredWarning'),
      noPassSeconds: s('Sync.Health.NoPassSeconds'),
      kafkaBacklogWarning: s('Sync.Health.KafkaBacklogWarning'),
      kafkaBacklogCritical: s('Sync.Health.KafkaBacklogCritical'),
      kafkaOldestWarningSeconds: s('Sync.Health.KafkaOldestWarningSeconds'),
      kafkaOldestCriticalSeconds: s('Sync.Health.KafkaOldestCriticalSeconds'),
      reconcileMaxAgeSeconds: s<number | null>('Sync.Health.ReconcileMaxAgeHours') === null ? null : s<number>('Sync.Health.ReconcileMaxAgeHours') * 3600,
    },
    kafka: {
      enabled: s('Kafka.Enabled'),
      bootstrapServers: s<string>('Kafka.BootstrapServers').split(','),
      topic: s('Kafka.InventoryTopic'),
      producerConfig: s('Kafka.ProducerConfig'),
    },
    detailedLogging: s('Sync.EnableDetailedLogging'),
  };
}

export async function loadConfig(input: LoadInput): Promise<LoadedConfig> {
  const file = await readConfigFile(input);
  const settings = resolveSettings({ file, env: input.env, flags: input.flags, cwd: input.cwd });
  const warnings: string[] = [];
  const token = resolveToken(settings, input.env, warnings, file?.path ?? null);
  const config = buildConfig(settings, input.env, warnings, token);
  return { config, settings, file: file?.path ?? null, warnings, tokenSource: token?.source ?? null };
}
