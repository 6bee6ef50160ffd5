// Kafka.ProducerConfig (librdkafka names, as in the seed's appsettings.json) → pos-sync's
// producer options, plus the pure helpers of the publisher. No broker needed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaConfigError, KafkaUnavailableError } from '../src/kafka/errors.js';
import type { OutgoingMessage } from '../src/kafka/message.js';
import { chunkMessages, classifyKafkaError, createKafkaPublisher, normalizeBrokers } from '../src/kafka/publisher.js';
import { DEFAULT_PRODUCER_OPTIONS, closestKey, mapProducerConfig, type ProducerConfigResult, type ProducerOptions } from '../src/kafka/settings.js';

const PASSWORD = 'hunter2-s3cret';

function mapped(result: ProducerConfigResult): { options: ProducerOptions; warnings: readonly string[] } {
  if ('error' in result) assert.fail(`expected options, got: ${result.error}`);
  return { options: result.ok, warnings: result.warnings };
}

function refused(result: ProducerConfigResult): string {
  if (!('error' in result)) assert.fail('expected an error');
  assert.ok(!result.error.includes(PASSWORD), `secret leaked: ${result.error}`);
  return result.error;
}

describe('mapProducerConfig', () => {
  test("the seed's appsettings.json works unchanged; acks=1 becomes a warning", () => {
    const { options, warnings } = mapped(
      mapProducerConfig({ 'client.id': 'pos-sync-service', acks: '1', retries: '3', 'retry.backoff.ms': '1000' }),
    );
    assert.deepEqual(options, { ...DEFAULT_PRODUCER_OPTIONS, clientId: 'pos-sync-service', retries: 3, retryBackoffMs: 1000 });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /acks=1 is raised to all/);
  });

  test('an empty map gives the defaults and no warning', () => {
    assert.deepEqual(mapped(mapProducerConfig({})), { options: DEFAULT_PRODUCER_OPTIONS, warnings: [] });
  });

  const accepted: ReadonlyArray<[string, Record<string, unknown>, Partial<ProducerOptions>]> = [
    ['acks=all', { acks: 'all' }, {}],
    ['acks=-1', { acks: '-1' }, {}],
    ['request.required.acks alias', { 'request.required.acks': 'all' }, {}],
    ['message.send.max.retries alias', { 'message.send.max.retries': '7' }, { retries: 7 }],
    ['numbers from a hand-written YAML config', { retries: 5, 'request.timeout.ms': 2000 }, { retries: 5, requestTimeoutMs: 2000 }],
    ['connection setup timeout', { 'socket.connection.setup.timeout.ms': '1500' }, { connectionTimeoutMs: 1500 }],
    ['idempotence off allows retries=0', { 'enable.idempotence': 'false', retries: '0' }, { idempotent: false, retries: 0 }],
    ['boolean values', { 'enable.idempotence': true }, { idempotent: true }],
    ['security.protocol case-insensitive', { 'security.protocol': 'plaintext' }, {}],
  ];
  for (const [name, config, expected] of accepted) {
    test(`accepts ${name}`, () => {
      const { options, warnings } = mapped(mapProducerConfig(config));
      assert.deepEqual(options, { ...DEFAULT_PRODUCER_OPTIONS, ...expected });
      assert.deepEqual(warnings, []);
    });
  }

  test('acks=0 is also raised, with a warning', () => {
    assert.match(mapped(mapProducerConfig({ acks: '0' })).warnings[0] ?? '', /acks=0 is raised/);
  });

  test('SASL_SSL with SCRAM and certificate files', () => {
    const { options, warnings } = mapped(
      mapProducerConfig({
        'security.protocol': 'SASL_SSL',
        'sasl.mechanisms': 'SCRAM-SHA-512',
        'sasl.username': 'store001',
        'sasl.password': PASSWORD,
        'ssl.ca.location': '/etc/pos-sync/ca.pem',
        'ssl.certificate.location': '/etc/pos-sync/client.pem',
        'ssl.key.location': '/etc/pos-sync/client.key',
        'enable.ssl.certificate.verification': 'false',
      }),
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(options.sasl, { mechanism: 'scram-sha-512', username: 'store001', password: PASSWORD });
    assert.deepEqual(options.tls, {
      caFile: '/etc/pos-sync/ca.pem',
      certFile: '/etc/pos-sync/client.pem',
      keyFile: '/etc/pos-sync/client.key',
      keyPassword: undefined,
      rejectUnauthorized: false,
    });
  });

  test('SASL_PLAINTEXT with PLAIN has no TLS; SSL alone has no SASL', () => {
    const sasl = mapped(mapProducerConfig({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'plain', 'sasl.username': 'u', 'sasl.password': PASSWORD })).options;
    assert.equal(sasl.tls, undefined);
    assert.equal(sasl.sasl?.mechanism, 'plain');
    const ssl = mapped(mapProducerConfig({ 'security.protocol': 'SSL' })).options;
    assert.equal(ssl.sasl, undefined);
    assert.equal(ssl.tls?.rejectUnauthorized, true);
  });

  test('sasl.* and ssl.* under PLAINTEXT are ignored with a warning, the password not shown', () => {
    const { options, warnings } = mapped(mapProducerConfig({ 'sasl.password': PASSWORD, 'ssl.ca.location': '/x' }));
    assert.equal(options.sasl, undefined);
    assert.equal(options.tls, undefined);
    assert.equal(warnings.length, 2);
    for (const w of warnings) assert.ok(!w.includes(PASSWORD));
  });

  const errors: ReadonlyArray<[string, Record<string, unknown>, RegExp]> = [
    ['a typo, with a suggestion', { retires: '3' }, /Kafka\.ProducerConfig\.retires .*did you mean retries\?/],
    ['wrong case, with a suggestion', { 'Client.Id': 'x' }, /did you mean client\.id\?/],
    ['a librdkafka key kafkajs lacks', { 'linger.ms': '5' }, /Kafka\.ProducerConfig\.linger\.ms is not a setting .*supported: client\.id/],
    ['bootstrap.servers in the wrong place', { 'bootstrap.servers': 'k:9092' }, /set Kafka\.BootstrapServers instead/],
    ['acks=2', { acks: '2' }, /acks must be all, -1, 1 or 0 \(got "2"\)/],
    ['retries not a number', { retries: 'three' }, /retries must be a whole number \(got "three"\)/],
    ['negative backoff', { 'retry.backoff.ms': '-5' }, /retry\.backoff\.ms must be a whole number/],
    ['backoff out of range', { 'retry.backoff.ms': '0' }, /retry\.backoff\.ms must be between 1 and 300000/],
    ['retries=0 with idempotence', { retries: '0' }, /retries=0 needs enable\.idempotence=false/],
    ['a bad boolean', { 'enable.idempotence': 'yes' }, /enable\.idempotence must be true or false/],
    ['an unknown protocol', { 'security.protocol': 'TLS' }, /security\.protocol must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/],
    ['an object value', { 'client.id': { a: 1 } }, /client\.id must be a string, number or boolean/],
    ['an empty client.id', { 'client.id': '' }, /client\.id must not be empty/],
    ['both acks and its alias', { acks: 'all', 'request.required.acks': 'all' }, /both acks and its alias request\.required\.acks/],
    [
      'GSSAPI (librdkafka default) under SASL',
      { 'security.protocol': 'SASL_SSL', 'sasl.username': 'u', 'sasl.password': PASSWORD },
      /sasl\.mechanism=GSSAPI is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512/,
    ],
    ['SASL without a username', { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.password': PASSWORD }, /sasl\.username is required/],
    ['SASL without a password', { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'u', 'sasl.password': '' }, /sasl\.password is required/],
    ['an empty certificate path', { 'security.protocol': 'SSL', 'ssl.ca.location': '' }, /ssl\.ca\.location must be a file path/],
  ];
  for (const [name, config, error] of errors) {
    test(`refuses ${name}`, () => {
      assert.match(refused(mapProducerConfig({ 'sasl.password': PASSWORD, ...config })), error);
    });
  }

  test('closestKey only suggests near misses', () => {
    assert.equal(closestKey('sasl.pasword'), 'sasl.password');
    assert.equal(closestKey('ssl.ca.locaton'), 'ssl.ca.location');
    assert.equal(closestKey('compression.type'), undefined);
  });
});

describe('normalizeBrokers', () => {
  test('strips librdkafka protocol prefixes and blanks', () => {
    assert.deepEqual(normalizeBrokers(['PLAINTEXT://kafka:9092', ' 127.0.0.1:39092 ', '']), ['kafka:9092', '127.0.0.1:39092']);
  });
  for (const bad of [[], [''], ['kafka'], ['kafka:0'], ['kafka:70000'], [':9092']]) {
    test(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normalizeBrokers(bad), KafkaConfigError);
    });
  }
});

describe('chunkMessages', () => {
  const message = (bytes: number): OutgoingMessage => ({ rowId: 'r', entity: 'transaction', key: 'k', value: 'v'.repeat(bytes), headers: {} });

  test('keeps small publishes in one batch and splits big ones in order', () => {
    assert.equal(chunkMessages([message(10), message(10)], 1000).length, 1);
    const many = Array.from({ length: 10 }, () => message(300)); // ~333 bytes with key and overhead
    const chunks = chunkMessages(many, 1000);
    assert.deepEqual(chunks.map((c) => c.length), [3, 3, 3, 1]);
    assert.deepEqual(chunks.flat(), many);
  });

  test('a message bigger than the limit still goes, alone', () => {
    assert.deepEqual(chunkMessages([message(5000), message(1)], 1000).map((c) => c.length), [1, 1]);
    assert.deepEqual(chunkMessages([], 1000), []);
  });
});

describe('classifyKafkaError', () => {
  test('looks through "retries exceeded" to the connection error', () => {
    const cause = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
    const RetriesExceeded = kafkajs.KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, meta: object) => Error;
    const wrapped = new RetriesExceeded(cause, { retryCount: 0, retryTime: 100 });
    assert.deepEqual(classifyKafkaError(wrapped), { message: 'Connection error: connect ECONNREFUSED 127.0.0.1:1', retriable: true });
  });

  test('a refused login is not worth retrying', () => {
    // kafkajs's type declarations leave out these constructors' real parameters.
    const SaslError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
    const NonRetriable = kafkajs.KafkaJSNonRetriableError as unknown as new (e: Error, options: { cause: Error }) => Error;
    const sasl = new SaslError('SASL PLAIN authentication failed');
    assert.equal(classifyKafkaError(new NonRetriable(sasl, { cause: sasl })).retriable, false);
    assert.equal(classifyKafkaError(new TypeError('bug')).retriable, false);
  });

  test('our own errors pass through', () => {
    assert.deepEqual(classifyKafkaError(new KafkaUnavailableError('x', { retriable: false })), { message: 'x', retriable: false });
  });
});

describe('createKafkaPublisher refuses settings that cannot work, before loading kafkajs', () => {
  const log = { debug() {} };
  const base = { enabled: true, bootstrapServers: ['127.0.0.1:39092'], topic: 'inventory-events', producerConfig: {} };
  const deadline = Date.now() + 5_000;

  test('a bad ProducerConfig', async () => {
    await assert.rejects(createKafkaPublisher({ ...base, producerConfig: { retires: '3' } }, { deadline, log }), KafkaConfigError);
  });

  test('no brokers', async () => {
    await assert.rejects(createKafkaPublisher({ ...base, bootstrapServers: [] }, { deadline, log }), /BootstrapServers is empty/);
  });

  test('an unreadable CA file names the key and path', async () => {
    await assert.rejects(
      createKafkaPublisher(
        { ...base, producerConfig: { 'security.protocol': 'SSL', 'ssl.ca.location': '/nonexistent/ca.pem' } },
        { deadline, log },
      ),
      (e: unknown) => e instanceof KafkaConfigError && /ssl\.ca\.location: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/.test(e.message),
    );
  });

  test('ProducerConfig warnings go to the debug log, not to the warnings of every pass', async () => {
    const debug: string[] = [];
    const publisher = await createKafkaPublisher({ ...base, producerConfig: { acks: '1' } }, { deadline, log: { debug: (m: string) => debug.push(m) } });
    await publisher.close();
    assert.ok(debug.some((m) => /acks=1 is raised/.test(m)));
  });
});
