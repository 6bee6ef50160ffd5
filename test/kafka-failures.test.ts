// Kafka failures named by whether waiting heals them, one line each: a client certificate the
// broker's TLS layer rejects (none, another CA, self-signed), a key that is not the certificate's,
// a certificate out of its dates — against a real TLS server on 127.0.0.1 that asks for client
// certificates as an mTLS Kafka listener does — and the broker's own error codes.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { describeKafkaTrouble, kafkaTrouble, oneLine, type KafkaTroubleKind } from '../src/domain/kafka-trouble.js';
import { createKafkaPublisher } from '../src/kafka/publisher.js';
import type { KafkaSettings } from '../src/kafka/settings.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('kafka-failures');
after(() => tmp.cleanup());

describe('what waiting heals, by the text of the failure', () => {
  const table: readonly [string, KafkaTroubleKind, boolean][] = [
    ['The server experienced an unexpected error when processing the request (NOT_ENOUGH_REPLICAS)', 'tooFewReplicas', true],
    ['Messages are written to the log, but to fewer in-sync replicas than required (NOT_ENOUGH_REPLICAS_AFTER_APPEND)', 'tooFewReplicas', true],
    ['There is no leader for this topic-partition as we are in the middle of a leadership election (LEADER_NOT_AVAILABLE)', 'leaderElection', true],
    ['This server is not the leader for that topic-partition (NOT_LEADER_OR_FOLLOWER)', 'leaderElection', true],
    ['Failed to find group coordinator', 'coordinator', true],
    ['The coordinator is not available (COORDINATOR_NOT_AVAILABLE)', 'coordinator', true],
    ['Connection error: connect ECONNREFUSED 127.0.0.1:9092', 'unavailable', true],
    ['Kafka did not answer within 3000 ms', 'unavailable', true],
    ['This server does not host this topic-partition (UNKNOWN_TOPIC_OR_PARTITION)', 'unknownTopic', false],
    ['SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512', 'authentication', false],
    ['Not authorized to access topics: [Topic authorization failed] (TOPIC_AUTHORIZATION_FAILED)', 'authorisation', false],
    ['Transactional Id authorization failed (TRANSACTIONAL_ID_AUTHORIZATION_FAILED)', 'authorisation', false],
    ['Kafka.ProducerConfig.ssl.key.location does not match ssl.certificate.location (key values mismatch)', 'clientKey', false],
    ['Kafka.ProducerConfig.ssl.certificate.location: the client certificate expired on 2020-01-02T00:00:00.000Z', 'certificateDates', false],
    ['Connection error: certificate has expired', 'certificateDates', false],
    ['Connection error: self-signed certificate', 'tlsTrust', false],
  ];
  for (const [text, kind, heals] of table) {
    test(`${kind}: ${text.slice(0, 60)}`, () => {
      const t = kafkaTrouble(text);
      assert.deepEqual([t.kind, t.heals], [kind, heals]);
      // The label pos-sync puts in front is recognised again (state file, status, health).
      assert.equal(kafkaTrouble(`${t.label}: ${text}`).kind, kind);
      assert.equal(describeKafkaTrouble(`${t.label}: ${text}`).split(t.label).length, 2, 'the label once');
    });
  }

  test('oneLine: OpenSSL\'s trailing newline and nested causes become one line', () => {
    assert.equal(oneLine('a:ssl3_read_bytes:tlsv13 alert certificate required:SSL alert number 116\n'), 'a:ssl3_read_bytes:tlsv13 alert certificate required:SSL alert number 116');
    assert.equal(oneLine('one\n  two\r\nthree'), 'one two three');
  });
});

describe('a client certificate an mTLS listener rejects, and client files that cannot work', () => {
  let pki: TestPki;
  let server: tls.Server;
  let port = 0;
  const sockets = new Set<net.Socket>();
  let otherCert = '';
  let selfSigned = '';
  let selfSignedKey = '';
  before(async () => {
    pki = makeTestPki(path.join(tmp.make(), 'pki'));
    const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    // A client certificate another CA signed, and a self-signed one.
    sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other-client.key', '-out', 'other-client.csr', '-subj', '/CN=STORE001']);
    sh(['x509', '-req', '-in', 'other-client.csr', '-CA', 'other-ca.crt', '-CAkey', 'other-ca.key', '-CAcreateserial', '-out', 'other-client.crt', '-days', '2']);
    sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=STORE001']);
    otherCert = path.join(pki.dir, 'other-client.crt');
    selfSigned = path.join(pki.dir, 'self.crt');
    selfSignedKey = path.join(pki.dir, 'self.key');
    // The TLS side of an mTLS Kafka listener (ssl.client.auth=required): it trusts only the test
    // CA's client certificates, and a client it let in gets no Kafka answer (the failures here
    // all happen before one).
    server = tls.createServer({ cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey), ca: fs.readFileSync(pki.caCert), requestCert: true, rejectUnauthorized: true }, (socket) => {
      socket.on('error', () => undefined);
    });
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const settings = (producer: Record<string, string>): KafkaSettings => ({
    enabled: true,
    bootstrapServers: [`127.0.0.1:${port}`],
    topic: 'inventory-events',
    producerConfig: { 'security.protocol': 'SSL', 'ssl.ca.location': pki.caCert, ...producer },
  });

  /** The failure of health's own check (connect, metadata) with these client files, classified. */
  async function failure(producer: Record<string, string>, now = Date.now()): Promise<string> {
    try {
      const publisher = await createKafkaPublisher(settings(producer), { deadline: Date.now() + 3_000, log: { debug() {} }, now: () => now });
      try {
        await publisher.checkTopic(2_500);
      } finally {
        await publisher.close();
      }
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    return assert.fail('the check succeeded');
  }

  const cases: readonly [string, () => Record<string, string>, KafkaTroubleKind, number?][] = [
    ['no client certificate', () => ({}), 'clientCertificate'],
    ['a client certificate another CA signed', () => ({ 'ssl.certificate.location': otherCert, 'ssl.key.location': otherCert.replace(/\.crt$/, '.key') }), 'clientCertificate'],
    ['a self-signed client certificate', () => ({ 'ssl.certificate.location': selfSigned, 'ssl.key.location': selfSignedKey }), 'clientCertificate'],
    ['a key that is not the certificate\'s', () => ({ 'ssl.certificate.location': pki.clientCert, 'ssl.key.location': pki.strayKey }), 'clientKey'],
    ['a client certificate past its dates (the clock 3 days on)', () => ({ 'ssl.certificate.location': pki.clientCert, 'ssl.key.location': pki.clientKey }), 'certificateDates', 3 * 86_400_000],
    ['a client certificate not yet valid (the clock 3 days back)', () => ({ 'ssl.certificate.location': pki.clientCert, 'ssl.key.location': pki.clientKey }), 'certificateDates', -3 * 86_400_000],
  ];
  for (const [what, producer, kind, shift] of cases) {
    test(`${what}: cannot heal by waiting (${kind}), in one line`, async () => {
      const message = await failure(producer(), Date.now() + (shift ?? 0));
      const trouble = kafkaTrouble(message);
      assert.equal(trouble.kind, kind, message);
      assert.equal(trouble.heals, false);
      assert.doesNotMatch(message, /\n/);
      assert.doesNotMatch(describeKafkaTrouble(message), /\n|\\n/);
    });
  }

  test('control: the right client certificate gets through the TLS layer (then no Kafka answers: temporary)', async () => {
    const message = await failure({ 'ssl.certificate.location': pki.clientCert, 'ssl.key.location': pki.clientKey });
    assert.equal(kafkaTrouble(message).heals, true, message);
  });
});
