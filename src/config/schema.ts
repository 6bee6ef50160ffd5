// Every configuration setting pos-sync knows, once: its key in the seed's appsettings.json shape,
// its kind, default, extra environment names and one line of documentation. The loader, the
// `config` command and the docs all read this table, so a new key is added here and nowhere else.

import { boolean, decimal, httpUrl, integer, oneOf, optional, stringMap, text, timeZone, type Kind } from './kinds.js';

export interface SettingSpec<T = unknown> {
  /** Dotted key as written in appsettings.json, e.g. "Sync.BatchSize". */
  readonly key: string;
  readonly kind: Kind<T>;
  readonly default: T;
  readonly doc: string;
  /** Plain environment variable names besides the .NET-style Section__Key one. */
  readonly env?: readonly string[];
  /** Redacted in every output. */
  readonly secret?: boolean;
  /** A path: relative values in a config file are resolved against the file's folder. */
  readonly path?: boolean;
  /** A seed key accepted for compatibility that pos-sync does not use. */
  readonly ignored?: boolean;
}

function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

const storeIdText = text({ pattern: /^[A-Za-z0-9._-]{1,64}$/, describe: 'a store id of 1-64 letters, digits, ".", "_" or "-"' });
const filePath = optional(text());

export const DEFAULT_CENTRAL_BASE = 'http://store_api:8080';
export const EVENTS_PATH = '/api/inventory/events';
export const HEALTH_PATH = '/health';
export const SUMMARY_PATH = '/api/inventory/summary';
export const HEARTBEAT_PATH = '/api/inventory/heartbeat';

export const SETTINGS: readonly SettingSpec[] = [
  // --- Sync: the seed's keys ---
  setting({ key: 'Sync.StoreId', kind: storeIdText, default: 'STORE001', env: ['STORE_ID'], doc: 'This store\'s id, sent as X-Store-Id.' }),
  setting({ key: 'Sync.TillId', kind: optional(storeIdText), default: null, doc: 'This till\'s name within its store (install.sh writes it: the --till name, else the host name at install time); unset: the host name.' }),
  setting({ key: 'Sync.CentralApiEndpoint', kind: httpUrl, default: DEFAULT_CENTRAL_BASE + EVENTS_PATH, doc: 'URL events are POSTed to (CENTRAL_API_URL or --central-url set its base).' }),
  setting({ key: 'Sync.HealthCheckEndpoint', kind: httpUrl, default: DEFAULT_CENTRAL_BASE + HEALTH_PATH, doc: 'URL of the central API\'s health check (GET).' }),
  setting({ key: 'Sync.MaxRetryAttempts', kind: integer(0, 10), default: 3, doc: 'Retries of a failed request within one pass.' }),
  setting({ key: 'Sync.RetryDelayMinutes', kind: decimal(0, 1440), default: 5, doc: 'Base delay before a refused row is tried again (doubles per refusal).' }),
  setting({ key: 'Sync.SyncIntervalSeconds', kind: integer(1, 86400), default: 10, doc: 'Seconds between passes in --watch mode (and the timer\'s interval).' }),
  setting({ key: 'Sync.BatchSize', kind: integer(1, 10000), default: 50, doc: 'Rows per request.' }),
  setting({ key: 'Sync.HttpTimeoutSeconds', kind: decimal(0.1, 300), default: 30, doc: 'Timeout of one HTTP request.' }),
  setting({ key: 'Sync.EnableDetailedLogging', kind: boolean, default: false, doc: 'Debug log lines (like --verbose).' }),
  setting({ key: 'Sync.DataRetentionDays', kind: integer(1, 36500), default: 30, doc: 'cleanup: days of retry logs and run history kept.' }),
  setting({ key: 'Sync.AutoCreateDatabase', kind: boolean, default: false, doc: 'sync: create an empty database file when it is missing (never its folder); off, a missing file is exit 74.' }),
  setting({ key: 'Sync.ApiHeaders', kind: stringMap, default: {}, doc: 'Extra HTTP headers sent with every request.' }),
  setting({ key: 'Sync.EnableTransactionSync', kind: boolean, default: true, doc: 'Deliver PosTransactions rows.' }),
  setting({ key: 'Sync.EnableInventorySync', kind: boolean, default: true, doc: 'Deliver InventoryUpdates rows.' }),
  // Seed keys that pos-sync accepts so an existing appsettings.json works unchanged, and ignores.
  setting({ key: 'Sync.CleanupIntervalHours', kind: integer(0, 100000), default: 24, ignored: true, doc: 'Seed key, ignored: cleanup runs from its own timer.' }),
  setting({ key: 'Sync.LocalDatabaseConnectionString', kind: optional(text()), default: null, ignored: true, doc: 'Seed key, ignored: use Database.ConnectionString.' }),
  setting({ key: 'Sync.MaxTransactionAgeDays', kind: integer(0, 100000), default: 7, ignored: true, doc: 'Seed key, ignored: pos-sync never skips an old sale.' }),
  setting({ key: 'Sync.EnableHealthChecks', kind: boolean, default: true, ignored: true, doc: 'Seed key, ignored: run `pos-sync health`.' }),
  setting({ key: 'Sync.HealthCheckIntervalMinutes', kind: integer(0, 100000), default: 5, ignored: true, doc: 'Seed key, ignored: schedule `pos-sync health`.' }),
  // --- Sync: pos-sync's own keys ---
  setting({ key: 'Sync.ApiFormat', kind: oneOf(['batch', 'single'] as const), default: 'batch' as 'batch' | 'single', doc: '"batch": one request per batch; "single": the seed\'s one request per row.' }),
  setting({ key: 'Sync.MaxRunSeconds', kind: decimal(1, 3600), default: 8, doc: 'Time budget of one pass; it ends before the next timer tick.' }),
  setting({ key: 'Sync.MaxRejections', kind: integer(1, 1000), default: 3, doc: 'Refusals of one row before it is dead-lettered.' }),
  setting({ key: 'Sync.QuarantineAfterPasses', kind: integer(1, 100), default: 3, doc: 'Passes in which one row alone failed (5xx, reset, timeout) while other requests succeeded before it is quarantined: held back and tried alone after a growing wait.' }),
  setting({ key: 'Sync.CircuitBreaker.FailureThreshold', kind: integer(1, 1000), default: 3, doc: 'Consecutive failed requests that open the breaker.' }),
  setting({ key: 'Sync.CircuitBreaker.BreakSeconds', kind: decimal(0.1, 86400), default: 30, doc: 'First open period; doubles with each consecutive opening.' }),
  setting({ key: 'Sync.CircuitBreaker.MaxBreakSeconds', kind: decimal(0.1, 604800), default: 600, doc: 'Cap of the open period.' }),
  setting({ key: 'Sync.StateFile', kind: filePath, default: null, path: true, env: ['POS_SYNC_STATE_FILE'], doc: 'State file (breaker, last pass); default <database>.pos-sync.state.json beside the database (its real path), however pos-sync is started' }),
  setting({ key: 'Sync.MetricsFile', kind: filePath, default: null, path: true, doc: 'Prometheus textfile written after every pass.' }),
  setting({ key: 'Sync.SyncedRowRetentionDays', kind: optional(integer(1, 36500)), default: null, doc: 'cleanup: also delete synced business rows older than this (off by default).' }),
  setting({ key: 'Sync.ApiToken', kind: optional(text()), default: null, secret: true, doc: 'Bearer token (prefer ApiTokenFile or a systemd credential).' }),
  setting({ key: 'Sync.ApiTokenFile', kind: filePath, default: null, path: true, doc: 'File holding the bearer token.' }),
  setting({ key: 'Sync.CaFile', kind: filePath, default: null, path: true, doc: 'PEM CA bundle trusted for the central API.' }),
  setting({ key: 'Sync.ClientCertFile', kind: filePath, default: null, path: true, doc: 'PEM client certificate (mutual TLS).' }),
  setting({ key: 'Sync.ClientKeyFile', kind: filePath, default: null, path: true, doc: 'PEM client key (mutual TLS).' }),
  setting({ key: 'Sync.SummaryEndpoint', kind: optional(httpUrl), default: null, doc: 'reconcile: URL of the central\'s summary endpoint (GET); unset: CentralApiEndpoint with its last path segment replaced by "summary".' }),
  setting({ key: 'Sync.HeartbeatEndpoint', kind: optional(httpUrl), default: null, doc: 'sync: URL of the central\'s heartbeat endpoint (POST, the till\'s standing); unset: CentralApiEndpoint with its last path segment replaced by "heartbeat".' }),
  setting({ key: 'Sync.HeartbeatSeconds', kind: integer(0, 86400), default: 60, doc: 'sync: a heartbeat at most this often (and at once when the verdict changes); 0: no heartbeat.' }),
  setting({ key: 'Sync.OfflineDeadlineHours', kind: optional(decimal(1, 8760)), default: null, doc: 'How long a sale may wait on this till before head office must have it: the oldest pending sale past half of it makes status DEGRADED and health WARNING, past 80 % CRITICAL (off when unset).' }),
  setting({ key: 'Sync.TimeZone', kind: optional(timeZone), default: null, doc: 'The store\'s IANA time zone: status\'s times and "today", reconcile\'s days ("yesterday", "today", --date); unset: the machine\'s zone (TZ, else /etc/localtime), for every command alike.' }),
  setting({ key: 'Sync.Health.TimeoutSeconds', kind: decimal(0.1, 10), default: 3, doc: 'health: timeout of each network check.' }),
  setting({ key: 'Sync.Health.BacklogWarning', kind: integer(0, 1e9), default: 1000, doc: 'health: pending rows that make a WARNING.' }),
  setting({ key: 'Sync.Health.BacklogCritical', kind: integer(0, 1e9), default: 10000, doc: 'health: pending rows that make a CRITICAL.' }),
  setting({ key: 'Sync.Health.OldestPendingWarningSeconds', kind: integer(0, 1e9), default: 600, doc: 'health: age of the oldest pending row that makes a WARNING.' }),
  setting({ key: 'Sync.Health.OldestPendingCriticalSeconds', kind: integer(0, 1e9), default: 3600, doc: 'health: age of the oldest pending row that makes a CRITICAL.' }),
  setting({ key: 'Sync.Health.LastSuccessWarningSeconds', kind: integer(0, 1e9), default: 600, doc: 'health: age of the last successful pass that makes a WARNING.' }),
  setting({ key: 'Sync.Health.LastSuccessCriticalSeconds', kind: integer(0, 1e9), default: 3600, doc: 'health: age of the last successful pass that makes a CRITICAL.' }),
  setting({ key: 'Sync.Health.NoPassSeconds', kind: integer(0, 1e9), default: 120, doc: 'status and health: no pass at all (idle ones included) for this long means nothing runs the passes: NOT SYNCING / CRITICAL, with the timer to enable. 0: not checked.' }),
  setting({ key: 'Sync.Health.KafkaBacklogWarning', kind: integer(0, 1e9), default: 1000, doc: 'health: events waiting for Kafka that make a WARNING.' }),
  setting({ key: 'Sync.Health.KafkaBacklogCritical', kind: integer(0, 1e9), default: 10000, doc: 'health: events waiting for Kafka that make a CRITICAL.' }),
  setting({ key: 'Sync.Health.KafkaOldestWarningSeconds', kind: integer(0, 1e9), default: 600, doc: 'health: age of the oldest event waiting for Kafka that makes a WARNING.' }),
  setting({ key: 'Sync.Health.KafkaOldestCriticalSeconds', kind: integer(0, 1e9), default: 3600, doc: 'health: age of the oldest event waiting for Kafka that makes a CRITICAL.' }),
  setting({ key: 'Sync.Health.DeadLetteredWarning', kind: integer(0, 1e9), default: 0, doc: 'health: dead-lettered rows above this make a WARNING.' }),
  setting({ key: 'Sync.Health.ReconcileMaxAgeHours', kind: optional(integer(1, 8760)), default: null, doc: 'health: check the last reconcile: WARNING when older than this or when it could not run, CRITICAL when it found differences (off when unset).' }),
  // --- Database ---
  setting({ key: 'Database.ConnectionString', kind: text({ pattern: /=/, describe: 'a connection string like "Data Source=path/to.db"' }), default: 'Data Source=data/POS_Local.db', doc: 'SQLite database ("Data Source=<path>"); ConnectionStrings.DefaultConnection wins when set.' }),
  setting({ key: 'Database.AutoMigrate', kind: boolean, default: true, doc: 'Apply pos-sync\'s schema migrations on open.' }),
  setting({ key: 'Database.CommandTimeoutSeconds', kind: integer(0, 3600), default: 30, doc: 'How long to wait for a lock held by the POS (SQLite busy timeout); capped by the pass budget. requeue and cleanup also wait this long for a pass that holds the pass lock.' }),
  setting({ key: 'Database.EnableDetailedLogging', kind: boolean, default: false, ignored: true, doc: 'Seed key, ignored.' }),
  setting({ key: 'Database.EnableConnectionPooling', kind: boolean, default: true, ignored: true, doc: 'Seed key, ignored.' }),
  setting({ key: 'Database.MaxPoolSize', kind: integer(0, 100000), default: 10, ignored: true, doc: 'Seed key, ignored.' }),
  // --- Kafka ---
  setting({ key: 'Kafka.Enabled', kind: boolean, default: false, doc: 'Publish one event per delivered row.' }),
  setting({ key: 'Kafka.BootstrapServers', kind: text({ pattern: /^[^\s,]+(,[^\s,]+)*$/, describe: 'a comma-separated list of host:port' }), default: 'localhost:9092', env: ['KAFKA_BOOTSTRAP_SERVERS'], doc: 'Brokers, "host:port[,host:port]".' }),
  setting({ key: 'Kafka.InventoryTopic', kind: text({ pattern: /^[A-Za-z0-9._-]{1,249}$/, describe: 'a Kafka topic name' }), default: 'inventory-events', doc: 'Topic the events go to.' }),
  setting({ key: 'Kafka.ProducerConfig', kind: stringMap, default: {}, doc: 'librdkafka-style producer settings (client.id, retries, security.protocol, sasl.*, ssl.*).' }),
];

export const SECTIONS = ['Sync', 'Database', 'Kafka'] as const;

/** Top-level keys of appsettings.json that pos-sync reads besides the sections. */
export const CONNECTION_STRINGS_KEY = 'ConnectionStrings.DefaultConnection';
