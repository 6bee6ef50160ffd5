// Kafka over TLS and SASL (SCRAM-SHA-512) against the real test broker's SASL_SSL listener, with
// ACLs (StandardAuthorizer): the password only in the environment beside the file's
// ProducerConfig; a wrong password, a topic the user may not write and a CA file that is not
// there each named for what they are — failures waiting cannot heal — in the log, `status` and
// `health`, and never stopping delivery to the central.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { centralForFile } from './helpers/central.js';
import { lines, runCli, type CliResult } from './helpers/cli.js';
import { allowTopic, consumeTopic, saslBrokerOrSkip, uniqueTopic, type SaslBroker } from './helpers/kafka.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('kafka-sasl');
const central = centralForFile({ seed: 16 });
after(() => tmp.cleanup());

interface Store {
  readonly dir: string;
  readonly db: string;
  run(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
}

/** A store whose config file has the whole ProducerConfig except the password. */
function store(broker: SaslBroker, topic: string, producer: Record<string, string> = {}): Store {
  const dir = tmp.make();
  const db = seedDb(path.join(dir, 'POS_Local.db'), 4, 2, 41);
  fs.writeFileSync(
    path.join(dir, 'appsettings.json'),
    JSON.stringify({
      Sync: { MaxRetryAttempts: 0, MaxRunSeconds: 20, Health: { OldestPendingWarningSeconds: 1e9, OldestPendingCriticalSeconds: 1e9, TimeoutSeconds: 5 } },
      Kafka: {
        Enabled: true,
        BootstrapServers: broker.saslBrokers,
        InventoryTopic: topic,
        ProducerConfig: {
          'security.protocol': 'SASL_SSL',
          'sasl.mechanism': 'SCRAM-SHA-512',
          'sasl.username': broker.username,
          'ssl.ca.location': broker.caFile,
          ...producer,
        },
      },
    }),
  );
  return {
    dir,
    db,
    run: (args, env = {}) => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central.url, ...args], { cwd: dir, env: { TZ: 'Europe/Berlin', ...env }, timeoutMs: 40_000 }),
  };
}

async function setUp(t: TestContext): Promise<{ broker: SaslBroker; allowed: string; denied: string; describeOnly: string } | undefined> {
  const broker = await saslBrokerOrSkip(t);
  if (!broker) return undefined;
  const allowed = uniqueTopic('sasl-allowed');
  const denied = uniqueTopic('sasl-denied');
  const describeOnly = uniqueTopic('sasl-describe-only');
  await allowTopic(broker.plainBrokers, broker.username, allowed, [denied], [describeOnly]);
  return { broker, allowed, denied, describeOnly };
}

function healthJson(r: CliResult): { status: string; checks: { name: string; status: string; message: string }[] } {
  const doc = JSON.parse(r.stdout) as { status: string; checks: { name: string; status: string; message: string }[] };
  assert.deepEqual(validate(loadSchema('health'), doc), []);
  return doc;
}

const kafkaCheck = (doc: ReturnType<typeof healthJson>) => doc.checks.find((c) => c.name === 'kafka')!;

describe('Kafka over SASL_SSL with ACLs', () => {
  test('the password only in the environment, beside the file\'s ProducerConfig: published, health OK', async (t) => {
    const s0 = await setUp(t);
    if (!s0) return;
    const s = store(s0.broker, s0.allowed);
    const env = { 'Kafka__ProducerConfig__sasl.password': s0.broker.password };
    const sync = await s.run(['--json', 'sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    const result = JSON.parse(sync.stdout) as { kafka: { published: number; backlog: number; error: string | null } };
    assert.deepEqual(result.kafka, { published: 6, backlog: 0, error: null });
    const consumed = await consumeTopic(s0.broker.plainBrokers, s0.allowed, { expected: 6, timeoutMs: 15_000 });
    assert.equal(consumed.length, 6);
    const health = healthJson(await s.run(['--json', 'health'], env));
    assert.equal(kafkaCheck(health).status, 'OK', JSON.stringify(health.checks));
    assert.ok(!JSON.stringify(health).includes(s0.broker.password));
  });

  test('a wrong password: delivery goes on; log, sync, status and health name refused credentials that waiting cannot heal', async (t) => {
    const s0 = await setUp(t);
    if (!s0) return;
    const s = store(s0.broker, s0.allowed);
    const env = { 'Kafka__ProducerConfig__sasl.password': 'not-the-password' };
    const sync = await s.run(['sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(central.receivedIds().length, 6, 'the central has every row');
    assert.match(sync.stdout, /Kafka refused the credentials \(cannot heal by waiting\), 6 events wait/);
    const log = lines(sync.stderr).map((l) => JSON.parse(l) as { level: string; message: string });
    assert.ok(log.some((l) => l.level === 'error' && l.message.startsWith('Kafka refused the credentials (cannot heal by waiting): ') && l.message.includes('sasl.password')), sync.stderr);
    assert.ok(!sync.stderr.includes('not-the-password'));

    const status = await s.run(['status'], env);
    assert.equal(status.code, 1, status.stdout + status.stderr);
    assert.equal(status.stdout.split('\n')[0], 'DEGRADED — Kafka refused the credentials (cannot heal by waiting)');
    assert.match(status.stdout, /^kafka +6 events not yet published — Kafka refused the credentials \(cannot heal by waiting\)/m);

    const health = await s.run(['health'], env);
    assert.equal(health.code, 2, health.stdout);
    assert.match(health.stdout, /^CRITICAL Kafka: Kafka refused the credentials \(cannot heal by waiting\): .*SASL SCRAM SHA512 authentication failed/m);
  });

  test('a topic the user may not write: health CRITICAL naming the authorisation, status too, without publishing a test event', async (t) => {
    const s0 = await setUp(t);
    if (!s0) return;
    const s = store(s0.broker, s0.denied);
    const env = { 'Kafka__ProducerConfig__sasl.password': s0.broker.password };
    const health = healthJson(await s.run(['--json', 'health'], env));
    assert.equal(health.status, 'CRITICAL');
    assert.match(kafkaCheck(health).message, /^Kafka does not allow this user to write the topic \(cannot heal by waiting\): .*authori[sz]/i);
    const sync = await s.run(['sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    const status = await s.run(['status'], env);
    assert.equal(status.stdout.split('\n')[0], 'DEGRADED — Kafka does not allow this user to write the topic (cannot heal by waiting)');
    assert.match(status.stdout, /^to do: ask the Kafka operator for WRITE and DESCRIBE on Kafka\.InventoryTopic/m);
    // Nothing reached the denied topic: no test event either.
    assert.deepEqual(await consumeTopic(s0.broker.plainBrokers, s0.denied, { expected: 1, timeoutMs: 3_000 }), []);
  });

  test('a topic the user may describe but not write: the first publish is refused, and from then on health is CRITICAL and status DEGRADED', async (t) => {
    const s0 = await setUp(t);
    if (!s0) return;
    const s = store(s0.broker, s0.describeOnly);
    const env = { 'Kafka__ProducerConfig__sasl.password': s0.broker.password };
    // The limit, stated: metadata is readable, and kafkajs cannot ask for the user's permissions.
    assert.equal(kafkaCheck(healthJson(await s.run(['--json', 'health'], env))).status, 'OK');
    const sync = await s.run(['sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    const health = healthJson(await s.run(['--json', 'health'], env));
    assert.equal(health.status, 'CRITICAL');
    assert.match(kafkaCheck(health).message, /^a broker answered, but the last pass could not publish: Kafka does not allow this user to write the topic \(cannot heal by waiting\)/);
    const status = await s.run(['status'], env);
    assert.equal(status.stdout.split('\n')[0], 'DEGRADED — Kafka does not allow this user to write the topic (cannot heal by waiting)');
    assert.deepEqual(await consumeTopic(s0.broker.plainBrokers, s0.describeOnly, { expected: 1, timeoutMs: 3_000 }), []);
  });

  test('a CA file that is not there: named before anything is sent, the rows still delivered and the pass recorded', async (t) => {
    const s0 = await setUp(t);
    if (!s0) return;
    const missing = path.join(tmp.make(), 'no-such-ca.pem');
    const s = store(s0.broker, s0.allowed, { 'ssl.ca.location': missing });
    const env = { 'Kafka__ProducerConfig__sasl.password': s0.broker.password };
    const sync = await s.run(['sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(central.receivedIds().length, 6);
    const first = JSON.parse(lines(sync.stderr)[0]!) as { level: string; message: string };
    assert.equal(first.level, 'error');
    assert.ok(first.message.startsWith(`a file Kafka.ProducerConfig names cannot be read (cannot heal by waiting): Kafka.ProducerConfig.ssl.ca.location: cannot read ${missing} (ENOENT)`), first.message);
    const state = JSON.parse(fs.readFileSync(path.join(s.dir, 'POS_Local.db.pos-sync.state.json'), 'utf8')) as { lastPass: { exitCode: number; delivered: number; kafkaError: string } };
    assert.deepEqual([state.lastPass.exitCode, state.lastPass.delivered], [0, 6]);
    assert.match(state.lastPass.kafkaError, /ssl\.ca\.location/);

    const status = await s.run(['status'], env);
    assert.equal(status.stdout.split('\n')[0], 'DEGRADED — a file Kafka.ProducerConfig names cannot be read (cannot heal by waiting)');
    assert.match(status.stdout, /^today +4 transactions and 2 inventory updates synced in 1 pass/m);
    const health = healthJson(await s.run(['--json', 'health'], env));
    assert.equal(kafkaCheck(health).status, 'CRITICAL');
    assert.match(kafkaCheck(health).message, /^a file Kafka\.ProducerConfig names cannot be read \(cannot heal by waiting\): .*no-such-ca\.pem/);
  });
});
