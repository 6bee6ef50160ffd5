// Configuration (pos-sync(1) CONFIGURATION): the seed's appsettings.json unchanged, ConnectionStrings, relative
// paths, per-setting precedence flag > environment > file > default, the seed's environment
// variables and .NET-style overrides, cosmiconfig's search, and a ConfigError naming the key and
// its source for every invalid value.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig, type LoadInput } from '../src/config/load.js';
import { databasePathFromConnectionString, type GlobalFlags } from '../src/config/resolve.js';
import { SETTINGS } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('config');
after(() => tmp.cleanup());

/** The seed's src/POS.SyncService/appsettings.json, byte for byte as it ships. */
const SEED_APPSETTINGS = `{
  "Logging": {
    "LogLevel": {
      "Default": "Information",
      "Microsoft": "Warning",
      "Microsoft.Hosting.Lifetime": "Information",
      "POS.SyncService": "Information",
      "Microsoft.EntityFrameworkCore": "Warning"
    }
  },
  "Sync": {
    "StoreId": "STORE001",
    "CentralApiEndpoint": "http://store_api:8080/api/inventory/events",
    "HealthCheckEndpoint": "http://store_api:8080/health",
    "MaxRetryAttempts": 3,
    "RetryDelayMinutes": 5,
    "SyncIntervalSeconds": 10,
    "BatchSize": 50,
    "HttpTimeoutSeconds": 30,
    "EnableDetailedLogging": false,
    "CleanupIntervalHours": 24,
    "DataRetentionDays": 30,
    "AutoCreateDatabase": true,
    "LocalDatabaseConnectionString": "Data Source=/app/data/POS_Local.db",
    "ApiHeaders": {},
    "EnableTransactionSync": true,
    "EnableInventorySync": true,
    "MaxTransactionAgeDays": 7,
    "EnableHealthChecks": true,
    "HealthCheckIntervalMinutes": 5
  },
  "Kafka": {
    "BootstrapServers": "kafka:9092",
    "InventoryTopic": "inventory-events",
    "Enabled": true,
    "ProducerConfig": {
      "client.id": "pos-sync-service",
      "acks": "1",
      "retries": "3",
      "retry.backoff.ms": "1000"
    }
  },
  "Database": {
    "ConnectionString": "Data Source=/app/data/POS_Local.db",
    "EnableDetailedLogging": false,
    "CommandTimeoutSeconds": 30,
    "AutoMigrate": true,
    "EnableConnectionPooling": true,
    "MaxPoolSize": 10
  }
}
`;

function writeFile(dir: string, name: string, content: string | object): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function load(cwd: string, flags: GlobalFlags = {}, env: LoadInput['env'] = {}) {
  return loadConfig({ cwd, flags, env });
}

/** A folder holding appsettings.json with these sections. */
function withFile(content: string | object, name = 'appsettings.json'): { dir: string; file: string } {
  const dir = tmp.make();
  return { dir, file: writeFile(dir, name, content) };
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.exitCode, 78);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err;
  }
  assert.fail('expected a ConfigError, but the config loaded');
}

describe("the seed's appsettings.json", () => {
  test('loads unchanged with --config, every seed value honoured', async () => {
    const { dir } = withFile(SEED_APPSETTINGS);
    const { config, settings, file } = await load(dir, { config: 'appsettings.json' });
    assert.equal(file, path.join(dir, 'appsettings.json'));
    assert.equal(config.storeId, 'STORE001');
    assert.deepEqual(config.endpoints, { events: 'http://store_api:8080/api/inventory/events', health: 'http://store_api:8080/health', summary: 'http://store_api:8080/api/inventory/summary', heartbeat: 'http://store_api:8080/api/inventory/heartbeat' });
    assert.equal(config.http.maxRetries, 3);
    assert.equal(config.sync.retryDelayMs, 5 * 60_000);
    assert.equal(config.sync.intervalSeconds, 10);
    assert.equal(config.sync.batchSize, 50);
    assert.equal(config.http.timeoutMs, 30_000);
    assert.equal(config.detailedLogging, false);
    assert.equal(config.retention.dataDays, 30);
    assert.equal(config.db.autoCreate, true);
    assert.deepEqual(config.http.headers, {});
    assert.equal(config.sync.transactions, true);
    assert.equal(config.sync.inventory, true);
    assert.equal(config.db.path, '/app/data/POS_Local.db');
    assert.equal(config.db.autoMigrate, true);
    assert.equal(config.db.busyTimeoutMs, 30_000);
    assert.equal(config.kafka.enabled, true);
    assert.deepEqual(config.kafka.bootstrapServers, ['kafka:9092']);
    assert.equal(config.kafka.topic, 'inventory-events');
    assert.deepEqual(config.kafka.producerConfig, { 'client.id': 'pos-sync-service', acks: '1', retries: '3', 'retry.backoff.ms': '1000' });
    assert.equal(config.stateFile, '/app/data/POS_Local.db.pos-sync.state.json', 'beside the database');
    assert.deepEqual(settings.get('Sync.BatchSize')?.source, { kind: 'file', name: path.join(dir, 'appsettings.json') });
    assert.deepEqual(settings.get('Sync.MaxRejections')?.source.kind, 'default');
  });

  test('loads unchanged through POS_SYNC_CONFIG too', async () => {
    const { dir, file } = withFile(SEED_APPSETTINGS);
    const { config } = await load(tmp.make(), {}, { POS_SYNC_CONFIG: file });
    assert.equal(config.db.path, '/app/data/POS_Local.db');
    void dir;
  });

  test('ConnectionStrings.DefaultConnection is honoured before Database.ConnectionString', async () => {
    const seed = JSON.parse(SEED_APPSETTINGS) as Record<string, unknown>;
    const { dir } = withFile({ ...seed, ConnectionStrings: { DefaultConnection: 'Data Source=/srv/pos/Local.db;Cache=Shared' } });
    const { config, settings } = await load(dir, { config: 'appsettings.json' });
    assert.equal(config.db.path, '/srv/pos/Local.db');
    assert.equal(settings.get('Database.Path')?.source.kind, 'file');
  });

  test('keys are matched case-insensitively, as .NET configuration does', async () => {
    const { dir } = withFile({ sync: { batchsize: 7, STOREID: 'S9' }, database: { connectionstring: 'data source=pos.db' } });
    const { config } = await load(dir, { config: 'appsettings.json' });
    assert.equal(config.sync.batchSize, 7);
    assert.equal(config.storeId, 'S9');
    assert.equal(config.db.path, path.join(dir, 'pos.db'));
  });

  test("numbers written as text (as .NET binds them) are accepted", async () => {
    const { dir } = withFile({ Sync: { BatchSize: '75', RetryDelayMinutes: '0.5', EnableInventorySync: 'false' } });
    const { config } = await load(dir, { config: 'appsettings.json' });
    assert.equal(config.sync.batchSize, 75);
    assert.equal(config.sync.retryDelayMs, 30_000);
    assert.equal(config.sync.inventory, false);
  });
});

describe('paths', () => {
  test('relative paths in a config file resolve against its folder, not the working directory', async () => {
    const root = tmp.make();
    writeFile(root, 'etc/token', 'sekrit-token\n');
    writeFile(root, 'etc/pos-sync.json', {
      Database: { ConnectionString: 'Data Source=../data/POS_Local.db' },
      Sync: { StateFile: 'state/pos-sync.state.json', MetricsFile: 'metrics/pos.prom', ApiTokenFile: 'token' },
    });
    const cwd = tmp.make();
    const { config } = await load(cwd, { config: path.join(root, 'etc/pos-sync.json') });
    assert.equal(config.db.path, path.join(root, 'data/POS_Local.db'));
    assert.equal(config.stateFile, path.join(root, 'etc/state/pos-sync.state.json'));
    assert.equal(config.metricsFile, path.join(root, 'etc/metrics/pos.prom'));
    assert.equal(config.http.token, 'sekrit-token');
  });

  test('relative --db, POS_SYNC_DB and --config resolve against the working directory', async () => {
    const cwd = tmp.make();
    writeFile(cwd, 'conf/app.json', { Sync: { BatchSize: 9 } });
    const a = await load(cwd, { db: 'data/a.db', config: 'conf/app.json' });
    assert.equal(a.config.db.path, path.join(cwd, 'data/a.db'));
    assert.equal(a.config.sync.batchSize, 9);
    const b = await load(cwd, {}, { POS_SYNC_DB: 'b.db' });
    assert.equal(b.config.db.path, path.join(cwd, 'b.db'));
  });

  test('the default state file is beside the database, STATE_DIRECTORY (systemd) or not, named from its real path: two databases in one folder get two, a symlink reaches the same', async () => {
    const cwd = fs.realpathSync(tmp.make());
    fs.mkdirSync(path.join(cwd, 'pos'));
    fs.writeFileSync(path.join(cwd, 'pos', 'POS_Local.db'), '');
    fs.symlinkSync(path.join(cwd, 'pos', 'POS_Local.db'), path.join(cwd, 'link.db'));
    const service = await load(cwd, { db: 'pos/POS_Local.db' }, { STATE_DIRECTORY: '/var/lib/pos-sync:/var/lib/other' });
    const shell = await load(cwd, { db: 'pos/POS_Local.db' }, {});
    const linked = await load(cwd, { db: 'link.db' }, {});
    const other = await load(cwd, { db: 'pos/till2.db' }, {});
    assert.equal(service.config.stateFile, path.join(cwd, 'pos', 'POS_Local.db.pos-sync.state.json'));
    assert.equal(shell.config.stateFile, service.config.stateFile);
    assert.equal(linked.config.stateFile, service.config.stateFile);
    assert.equal(other.config.stateFile, path.join(cwd, 'pos', 'till2.db.pos-sync.state.json'));
  });

  test('with nothing configured: data/POS_Local.db in the working directory', async () => {
    const cwd = tmp.make();
    const { config, file } = await load(cwd);
    assert.equal(file, null);
    assert.equal(config.db.path, path.join(cwd, 'data/POS_Local.db'));
    assert.equal(config.storeId, 'STORE001');
    assert.equal(config.endpoints.events, 'http://store_api:8080/api/inventory/events');
    assert.equal(config.kafka.enabled, false);
    assert.equal(config.sync.maxRejections, 3);
    assert.equal(config.sync.maxRunMs, 8000);
    assert.equal(config.http.format, 'batch');
  });
});

describe('precedence: flag > environment > file > default, per setting', () => {
  const file = { Sync: { StoreId: 'FILE-STORE', BatchSize: 25 }, Database: { ConnectionString: 'Data Source=file.db' } };

  const table: Array<{ flags: GlobalFlags; env: Record<string, string>; store: string; source: string }> = [
    { flags: { storeId: 'FLAG-STORE' }, env: { STORE_ID: 'ENV-STORE' }, store: 'FLAG-STORE', source: 'flag' },
    { flags: {}, env: { STORE_ID: 'ENV-STORE' }, store: 'ENV-STORE', source: 'environment' },
    { flags: {}, env: { Sync__StoreId: 'NET-STORE', STORE_ID: 'ENV-STORE' }, store: 'NET-STORE', source: 'environment' },
    { flags: {}, env: {}, store: 'FILE-STORE', source: 'file' },
  ];
  for (const row of table) {
    test(`StoreId from ${row.source} (${JSON.stringify(row.flags)}, ${JSON.stringify(row.env)})`, async () => {
      const { dir } = withFile(file);
      const { config, settings } = await load(dir, { config: 'appsettings.json', ...row.flags }, row.env);
      assert.equal(config.storeId, row.store);
      assert.equal(settings.get('Sync.StoreId')?.source.kind, row.source);
      assert.equal(config.sync.batchSize, 25, 'the other settings keep coming from the file');
    });
  }

  test('the default when nothing sets it', async () => {
    const { config, settings } = await load(tmp.make());
    assert.equal(config.storeId, 'STORE001');
    assert.equal(settings.get('Sync.StoreId')?.source.kind, 'default');
  });

  test('the database: --db > ConnectionStrings__DefaultConnection > Database__ConnectionString > POS_SYNC_DB > file', async () => {
    const { dir } = withFile(file);
    const base = { config: 'appsettings.json' };
    const env = {
      ConnectionStrings__DefaultConnection: 'Data Source=/cs.db',
      Database__ConnectionString: 'Data Source=/dbcs.db',
      POS_SYNC_DB: '/plain.db',
    };
    assert.equal((await load(dir, { ...base, db: '/flag.db' }, env)).config.db.path, '/flag.db');
    assert.equal((await load(dir, base, env)).config.db.path, '/cs.db');
    assert.equal((await load(dir, base, { ...env, ConnectionStrings__DefaultConnection: undefined })).config.db.path, '/dbcs.db');
    assert.equal((await load(dir, base, { POS_SYNC_DB: '/plain.db' })).config.db.path, '/plain.db');
    assert.equal((await load(dir, base, {})).config.db.path, path.join(dir, 'file.db'));
  });
});

describe('the seed\'s environment variables and .NET-style overrides', () => {
  test('Sync__BatchSize=100 and Kafka__Enabled=false override the file', async () => {
    const { dir } = withFile(SEED_APPSETTINGS);
    const { config, settings } = await load(dir, { config: 'appsettings.json' }, { Sync__BatchSize: '100', Kafka__Enabled: 'false' });
    assert.equal(config.sync.batchSize, 100);
    assert.equal(config.kafka.enabled, false);
    assert.deepEqual(settings.get('Sync.BatchSize')?.source, { kind: 'environment', name: 'Sync__BatchSize' });
  });

  test('KAFKA_BOOTSTRAP_SERVERS sets the brokers', async () => {
    const { dir } = withFile(SEED_APPSETTINGS);
    const { config } = await load(dir, { config: 'appsettings.json' }, { KAFKA_BOOTSTRAP_SERVERS: 'k1:9092,k2:9093' });
    assert.deepEqual(config.kafka.bootstrapServers, ['k1:9092', 'k2:9093']);
  });

  test('CENTRAL_API_URL is the base of both endpoints and beats the file\'s endpoints', async () => {
    const { dir } = withFile(SEED_APPSETTINGS);
    const { config, settings } = await load(dir, { config: 'appsettings.json' }, { CENTRAL_API_URL: 'https://central.example.com:8443/' });
    assert.deepEqual(config.endpoints, {
      events: 'https://central.example.com:8443/api/inventory/events',
      health: 'https://central.example.com:8443/health',
      summary: 'https://central.example.com:8443/api/inventory/summary',
      heartbeat: 'https://central.example.com:8443/api/inventory/heartbeat',
    });
    assert.deepEqual(settings.get('Sync.CentralApiEndpoint')?.source, { kind: 'environment', name: 'CENTRAL_API_URL' });
  });

  test('a base with a path prefix keeps it', async () => {
    const { config } = await load(tmp.make(), {}, { CENTRAL_API_URL: 'http://gw.local/central' });
    assert.equal(config.endpoints.events, 'http://gw.local/central/api/inventory/events');
    assert.equal(config.endpoints.health, 'http://gw.local/central/health');
  });

  test('Sync__CentralApiEndpoint beats CENTRAL_API_URL for that endpoint only', async () => {
    const { dir } = withFile(SEED_APPSETTINGS);
    const { config } = await load(dir, { config: 'appsettings.json' }, {
      CENTRAL_API_URL: 'http://base:9000',
      Sync__CentralApiEndpoint: 'http://explicit:7000/v2/events',
    });
    assert.equal(config.endpoints.events, 'http://explicit:7000/v2/events');
    assert.equal(config.endpoints.health, 'http://base:9000/health');
  });

  test('--central-url beats both (a flag beats the environment)', async () => {
    const { config } = await load(tmp.make(), { centralUrl: 'http://127.0.0.1:1234' }, {
      CENTRAL_API_URL: 'http://base:9000',
      Sync__CentralApiEndpoint: 'http://explicit:7000/v2/events',
      Sync__HealthCheckEndpoint: 'http://explicit:7000/v2/health',
    });
    assert.deepEqual(config.endpoints, { events: 'http://127.0.0.1:1234/api/inventory/events', health: 'http://127.0.0.1:1234/health', summary: 'http://127.0.0.1:1234/api/inventory/summary', heartbeat: 'http://127.0.0.1:1234/api/inventory/heartbeat' });
  });

  test('map entries: Sync__ApiHeaders__X-Api-Key and Kafka__ProducerConfig__client.id', async () => {
    const { dir } = withFile(SEED_APPSETTINGS);
    const { config } = await load(dir, { config: 'appsettings.json' }, {
      'Sync__ApiHeaders__X-Tenant': 'north',
      'Kafka__ProducerConfig__client.id': 'till-7',
    });
    assert.deepEqual(config.http.headers, { 'X-Tenant': 'north' });
    assert.equal(config.kafka.producerConfig['client.id'], 'till-7');
  });

  test('a map entry in the environment merges into the file\'s map key by key, as .NET does', async () => {
    const { dir } = withFile({
      Kafka: { ProducerConfig: { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'pos', 'client.id': 'file-id' } },
      Sync: { ApiHeaders: { 'X-Tenant': 'south', 'X-Keep': 'yes' } },
    });
    const { config, settings } = await load(dir, { config: 'appsettings.json' }, {
      'Kafka__ProducerConfig__sasl.password': 'from-env-only',
      'Kafka__ProducerConfig__CLIENT.ID': 'env-id',
      'Sync__ApiHeaders__X-Tenant': 'north',
    });
    assert.deepEqual(config.kafka.producerConfig, {
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.username': 'pos',
      'client.id': 'env-id',
      'sasl.password': 'from-env-only',
    });
    assert.deepEqual(config.http.headers, { 'X-Tenant': 'north', 'X-Keep': 'yes' });
    assert.match(settings.get('Kafka.ProducerConfig')!.source.name, /^Kafka__ProducerConfig__CLIENT\.ID, Kafka__ProducerConfig__sasl\.password over config file .*appsettings\.json$/);
  });

  test('variables outside our sections are not ours (Logging__LogLevel__Default, ASPNETCORE_…)', async () => {
    const { config } = await load(tmp.make(), {}, { Logging__LogLevel__Default: 'Debug', ASPNETCORE_ENVIRONMENT: 'Production', npm_config__x: '1' });
    assert.equal(config.storeId, 'STORE001');
  });
});

describe('cosmiconfig search in the working directory', () => {
  test('.pos-syncrc.json', async () => {
    const { dir } = withFile({ Sync: { StoreId: 'RC-JSON' } }, '.pos-syncrc.json');
    const { config, file } = await load(dir);
    assert.equal(file, path.join(dir, '.pos-syncrc.json'));
    assert.equal(config.storeId, 'RC-JSON');
  });

  test('pos-sync.config.yaml, with a relative database path', async () => {
    const { dir } = withFile('Sync:\n  StoreId: YAML-STORE\n  BatchSize: 12\nDatabase:\n  ConnectionString: "Data Source=db/pos.db"\n', 'pos-sync.config.yaml');
    const { config, file } = await load(dir);
    assert.equal(file, path.join(dir, 'pos-sync.config.yaml'));
    assert.equal(config.storeId, 'YAML-STORE');
    assert.equal(config.sync.batchSize, 12);
    assert.equal(config.db.path, path.join(dir, 'db/pos.db'));
  });

  for (const name of ['.pos-syncrc', '.pos-syncrc.yaml', '.pos-syncrc.yml', 'pos-sync.config.json', 'pos-sync.config.yml']) {
    test(name, async () => {
      const yaml = /\.ya?ml$|rc$/.test(name);
      const { dir } = withFile(yaml ? 'Sync:\n  StoreId: FOUND\n' : { Sync: { StoreId: 'FOUND' } }, name);
      const { config, file } = await load(dir);
      assert.equal(file, path.join(dir, name));
      assert.equal(config.storeId, 'FOUND');
    });
  }

  test('the "pos-sync" key of package.json', async () => {
    const { dir } = withFile({ name: 'store-box', 'pos-sync': { Sync: { StoreId: 'PKG' } } }, 'package.json');
    assert.equal((await load(dir)).config.storeId, 'PKG');
  });

  test('--config wins over a file the search would find', async () => {
    const { dir } = withFile({ Sync: { StoreId: 'RC-JSON' } }, '.pos-syncrc.json');
    writeFile(dir, 'other.json', { Sync: { StoreId: 'OTHER' } });
    assert.equal((await load(dir, { config: 'other.json' })).config.storeId, 'OTHER');
  });
});

describe('invalid configuration → one ConfigError line naming the key and its source', () => {
  // key: the setting named; extra: what the message says is expected; namesFile: false where the fault is no single line of the file.
  const fileCases: Array<{ why: string; content: object | string; key: RegExp; extra: RegExp; namesFile?: false }> = [
    { why: 'wrong type', content: { Sync: { BatchSize: 'lots' } }, key: /Sync\.BatchSize/, extra: /integer from 1 to 10000/ },
    { why: 'zero batch', content: { Sync: { BatchSize: 0 } }, key: /Sync\.BatchSize/, extra: /integer from 1 to 10000/ },
    { why: 'fractional batch', content: { Sync: { BatchSize: 1.5 } }, key: /Sync\.BatchSize/, extra: /integer from 1 to 10000/ },
    { why: 'negative delay', content: { Sync: { RetryDelayMinutes: -1 } }, key: /Sync\.RetryDelayMinutes/, extra: /number from 0 to 1440/ },
    { why: 'too many retries', content: { Sync: { MaxRetryAttempts: 1000 } }, key: /Sync\.MaxRetryAttempts/, extra: /integer from 0 to 10/ },
    { why: 'boolean as a word', content: { Kafka: { Enabled: 'yes' } }, key: /Kafka\.Enabled/, extra: /true or false/ },
    { why: 'malformed URL', content: { Sync: { CentralApiEndpoint: 'store_api:8080/api' } }, key: /Sync\.CentralApiEndpoint/, extra: /http/ },
    { why: 'not http', content: { Sync: { HealthCheckEndpoint: 'ftp://store/health' } }, key: /Sync\.HealthCheckEndpoint/, extra: /an http:\/\/ or https:\/\/ URL/ },
    { why: 'headers as a list', content: { Sync: { ApiHeaders: ['X-A: 1'] } }, key: /Sync\.ApiHeaders/, extra: /an object of string values/ },
    { why: 'unknown format', content: { Sync: { ApiFormat: 'bulk' } }, key: /Sync\.ApiFormat/, extra: /"batch", "single"/ },
    { why: 'bad store id', content: { Sync: { StoreId: 'store 1/2' } }, key: /Sync\.StoreId/, extra: /a store id of 1-64 letters, digits/ },
    { why: 'bad topic', content: { Kafka: { InventoryTopic: 'inventory events' } }, key: /Kafka\.InventoryTopic/, extra: /a Kafka topic name/ },
    { why: 'connection string without a path', content: { Database: { ConnectionString: 'Mode=ReadOnly' } }, key: /connection string/, extra: /Data Source/ },
    { why: 'section not an object', content: { Sync: 5 }, key: /section Sync/, extra: /must be an object/ },
    { why: 'unknown key, misspelt', content: { Sync: { BatchSzie: 10 } }, key: /unknown configuration key Sync\.BatchSzie/, extra: /did you mean Sync\.BatchSize\?/ },
    { why: 'unknown key, nested', content: { Sync: { CircuitBreaker: { FailureTreshold: 3 } } }, key: /Sync\.CircuitBreaker\.FailureTreshold/, extra: /did you mean Sync\.CircuitBreaker\.FailureThreshold\?/ },
    { why: 'unknown Kafka key', content: { Kafka: { BootstrapServer: 'k:9092' } }, key: /Kafka\.BootstrapServer\b/, extra: /did you mean Kafka\.BootstrapServers\?/ },
    { why: 'unknown key nothing like ours', content: { Database: { Flavour: 'vanilla' } }, key: /unknown configuration key Database\.Flavour/, extra: /Flavour in config file [^(]*$/ },
    { why: 'broken breaker bounds', content: { Sync: { CircuitBreaker: { BreakSeconds: 60, MaxBreakSeconds: 10 } } }, key: /MaxBreakSeconds/, extra: /\(10\) must not be below Sync\.CircuitBreaker\.BreakSeconds \(60\)/, namesFile: false },
  ];
  for (const c of fileCases) {
    test(`in the file: ${c.why}`, async () => {
      const { dir, file } = withFile(c.content);
      const err = await configError(load(dir, { config: 'appsettings.json' }));
      assert.match(err.message, c.key);
      assert.match(err.message, c.extra);
      assert.equal(err.message.includes(file), c.namesFile ?? true, `names the file: ${err.message}`);
    });
  }

  test('a file that is not JSON', async () => {
    const { dir } = withFile('{ "Sync": { "BatchSize": 5, } ');
    const err = await configError(load(dir, { config: 'appsettings.json' }));
    assert.match(err.message, /cannot read the config file/);
  });

  test('a --config file that does not exist', async () => {
    const err = await configError(load(tmp.make(), { config: 'nope.json' }));
    assert.match(err.message, /nope\.json \(from --config\) does not exist/);
  });

  const envCases: Array<{ env: Record<string, string>; key: RegExp; source: RegExp; extra: RegExp }> = [
    { env: { Sync__BatchSize: 'abc' }, key: /Sync\.BatchSize/, source: /environment Sync__BatchSize/, extra: /integer from 1 to 10000/ },
    { env: { Sync__BatchSize: '100000' }, key: /Sync\.BatchSize/, source: /environment Sync__BatchSize/, extra: /integer from 1 to 10000/ },
    { env: { Kafka__Enabled: 'nope' }, key: /Kafka\.Enabled/, source: /environment Kafka__Enabled/, extra: /true or false/ },
    { env: { STORE_ID: 'bad store!' }, key: /Sync\.StoreId/, source: /environment STORE_ID/, extra: /a store id of 1-64 letters, digits/ },
    { env: { CENTRAL_API_URL: 'not a url' }, key: /base URL/, source: /environment CENTRAL_API_URL/, extra: /must be an http:\/\/ or https:\/\/ URL/ },
    { env: { CENTRAL_API_URL: 'store_api:8080' }, key: /base URL/, source: /environment CENTRAL_API_URL/, extra: /must be an http:\/\/ or https:\/\/ URL/ },
    { env: { Sync__CentralApiEndpoint: 'http//missing-colon' }, key: /Sync\.CentralApiEndpoint/, source: /environment Sync__CentralApiEndpoint/, extra: /an http:\/\/ or https:\/\/ URL/ },
    { env: { KAFKA_BOOTSTRAP_SERVERS: 'k1:9092, k2:9092' }, key: /Kafka\.BootstrapServers/, source: /environment KAFKA_BOOTSTRAP_SERVERS/, extra: /a comma-separated list of host:port/ },
    { env: { Sync__BatchSzie: '10' }, key: /unknown configuration key Sync\.BatchSzie/, source: /environment Sync__BatchSzie/, extra: /did you mean Sync\.BatchSize\?/ },
    { env: { Database__ConnectionString: 'Data Source=x.db;Password=p' }, key: /connection string/, source: /environment Database__ConnectionString/, extra: /Password/ },
  ];
  for (const c of envCases) {
    test(`in the environment: ${JSON.stringify(c.env)}`, async () => {
      const err = await configError(load(tmp.make(), {}, c.env));
      assert.match(err.message, c.key);
      assert.match(err.message, c.source);
      assert.match(err.message, c.extra);
    });
  }

  test('in a flag: --store-id and --central-url', async () => {
    assert.match((await configError(load(tmp.make(), { storeId: 'a b' }))).message, /--store-id/);
    assert.match((await configError(load(tmp.make(), { centralUrl: 'nope' }))).message, /option --central-url/);
  });

  test('every default is a value of its kind: parsing it gives it back (resolution takes a default as it is)', () => {
    for (const spec of SETTINGS) {
      const parsed = spec.kind.parse(spec.default, false);
      assert.ok(parsed.ok, `${spec.key}: its default ${JSON.stringify(spec.default)} is not ${spec.kind.describe}`);
      assert.deepEqual(parsed.value, spec.default, spec.key);
    }
  });

  test('a default map is the resolution\'s own: changing one config\'s headers leaves the next config\'s alone', async () => {
    const first = await load(tmp.make(), {});
    (first.config.http.headers as Record<string, string>)['X-Changed'] = 'yes';
    const second = await load(tmp.make(), {});
    assert.deepEqual(second.config.http.headers, {});
  });

  test('a base URL with credentials is refused, its password never printed', async () => {
    const err = await configError(load(tmp.make(), { centralUrl: 'http://till:hunter2@central.example:8080' }));
    assert.match(err.message, /central API base URL "http:\/\/till:<redacted>@central\.example:8080" from option --central-url must be/);
    assert.ok(!err.message.includes('hunter2'), err.message);
  });

  test('a secret with a bad value is named but never printed', async () => {
    const { dir } = withFile({ Sync: { ApiToken: ['hunter2-token'] } });
    const err = await configError(load(dir, { config: 'appsettings.json' }));
    assert.match(err.message, /Sync\.ApiToken = <redacted>/);
    assert.ok(!err.message.includes('hunter2'));
  });

  test('an empty or missing token file', async () => {
    const { dir } = withFile({ Sync: { ApiTokenFile: 'token' } });
    assert.match((await configError(load(dir, { config: 'appsettings.json' }))).message, /token file .*token \(Sync\.ApiTokenFile\): ENOENT/);
    writeFile(dir, 'token', '\n');
    assert.match((await configError(load(dir, { config: 'appsettings.json' }))).message, /is empty/);
  });
});

describe('connection strings (Microsoft.Data.Sqlite keywords)', () => {
  const table: Array<[string, string | RegExp]> = [
    ['Data Source=/app/data/POS_Local.db', '/app/data/POS_Local.db'],
    ['Data Source=/app/data/POS_Local.db;Cache=Shared', '/app/data/POS_Local.db'],
    ['data source = pos.db ; pooling=false', 'pos.db'],
    ['DataSource=pos.db', 'pos.db'],
    ['Filename=pos.db;', 'pos.db'],
    ['Data Source="/srv/my store/pos.db"', '/srv/my store/pos.db'],
    ['Data Source=', /no "Data Source=<path>"/],
    ['Cache=Shared', /no "Data Source=<path>"/],
    ['/app/data/POS_Local.db', /is not key=value/],
    ['Data Source=pos.db;Password=secret', /unsupported connection string keyword "Password"/],
  ];
  for (const [cs, expected] of table) {
    test(JSON.stringify(cs), () => {
      const got = databasePathFromConnectionString(cs);
      if (typeof expected === 'string') assert.equal(got, expected);
      else assert.ok(typeof got === 'object' && expected.test(got.error), JSON.stringify(got));
    });
  }
});

describe('an appsettings.json named by --config or POS_SYNC_CONFIG', () => {
  test('with the UTF-8 byte-order mark Visual Studio writes: read, as .NET reads it', async () => {
    const dir = tmp.make();
    const file = path.join(dir, 'appsettings.json');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ Sync: { StoreId: 'BOM01' } }))]));
    const { config } = await load(dir, { config: 'appsettings.json' });
    assert.equal(config.storeId, 'BOM01');
  });

  test('UTF-16 with its byte-order mark, as cosmiconfig reads it', async () => {
    const dir = tmp.make();
    const file = path.join(dir, 'appsettings.json');
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify({ Sync: { StoreId: 'UTF16' } }), 'utf16le')]));
    const { config } = await load(dir, {}, { POS_SYNC_CONFIG: file });
    assert.equal(config.storeId, 'UTF16');
  });

  test('an empty file is no configuration: the defaults', async () => {
    const { dir } = withFile('  \n');
    const { config } = await load(dir, { config: 'appsettings.json' });
    assert.equal(config.storeId, 'STORE001');
  });

  test('not JSON: one line naming the file and what is wrong', async () => {
    const { dir, file } = withFile('{ "Sync": { "BatchSize": 5, } ');
    const err = await configError(load(dir, { config: 'appsettings.json' }));
    assert.ok(err.message.startsWith(`cannot read the config file: JSON Error in ${file}: `), err.message);
    assert.match(err.message, /JSON/);
  });

  test('one that imports another ($import): merged by cosmiconfig, the importing file winning', async () => {
    const dir = tmp.make();
    writeFile(dir, 'base.json', { Sync: { StoreId: 'BASE', BatchSize: 42 } });
    writeFile(dir, 'appsettings.json', { $import: './base.json', Sync: { StoreId: 'OWN' } });
    const { config } = await load(dir, { config: 'appsettings.json' });
    assert.equal(config.storeId, 'OWN');
    assert.equal(config.sync.batchSize, 42);
  });

  test('a .json path that cannot be read (a folder): one line naming it, exit 78', async () => {
    const dir = tmp.make();
    fs.mkdirSync(path.join(dir, 'appsettings.json'));
    const err = await configError(load(dir, { config: 'appsettings.json' }));
    assert.match(err.message, /^cannot read the config file: EISDIR/);
  });
});
