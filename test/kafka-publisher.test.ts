// The publisher against a real Kafka broker (bash test/kafka/broker.sh start), a closed port and
// a black hole (a server that accepts and never answers): events arrive exactly once with the
// seed's key, value and headers, and a broken Kafka never makes a pass outlast its deadline.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InventoryRow, TransactionRow } from '../src/domain/rows.js';
import { KafkaUnavailableError } from '../src/kafka/errors.js';
import { buildInventoryMessage, buildTransactionMessage, type MessageResult, type OutgoingMessage } from '../src/kafka/message.js';
import { seedPartition } from '../src/kafka/partitioner.js';
import { createKafkaPublisher, type KafkaLog, type TransactionPlan } from '../src/kafka/publisher.js';
import type { KafkaSettings } from '../src/kafka/settings.js';
import { consumeTopic, createTopic, kafkaBrokerOrSkip, uniqueTopic } from './helpers/kafka.js';
import { closedPort } from './helpers/central.js';

/** Time a rejected call may take past its deadline: timers, socket teardown, a loaded CI box. */
const SLACK_MS = 400;
/**
 * How late a whole child process may exit after its deadline. Without pos-sync's own bounds
 * kafkajs would keep it alive for its 30 s request timeout and nested retry sleeps.
 */
const PROCESS_SLACK_MS = 1_000;

const silent: KafkaLog = { debug() {} };

function settings(bootstrapServers: string[], topic: string, producerConfig: Record<string, string> = {}): KafkaSettings {
  return { enabled: true, bootstrapServers, topic, producerConfig };
}

let markers = 0;
/** A transaction's marker and a beforeCommit that does nothing (the outbox's own tests cover it). */
function plan(): TransactionPlan {
  return { marker: ++markers, beforeCommit() {} };
}

function must(result: MessageResult): OutgoingMessage {
  if (!result.ok) assert.fail(result.error);
  return result.message;
}

function transaction(n: number, productId: string): TransactionRow {
  return {
    rowid: n,
    Id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    TransactionId: `TX-${n}`,
    StoreId: 'STORE001',
    ProductId: productId,
    TransactionType: 'Sale',
    Quantity: n,
    UnitPrice: '54.99',
    TotalAmount: (n * 54.99).toFixed(2),
    TransactionDate: `2025-10-21 14:0${n}:11.1234567`,
    CreatedAt: '2025-10-21 14:00:00',
    Metadata: null,
    Reference: null,
    Notes: null,
  };
}

const update: InventoryRow = {
  rowid: 9,
  Id: '7F8E9D0C-1B2A-4394-8576-A5B4C3D2E1F0',
  StoreId: 'STORE001',
  ProductId: 'PROD004',
  PreviousStock: 0,
  NewStock: 24,
  UpdateType: 'Restock',
  UpdateDate: '2025-10-21 09:00:00',
  CreatedAt: '2025-10-21 09:00:00.3',
  Reason: 'Weekly delivery',
  TransactionId: null,
};

function sampleMessages(): OutgoingMessage[] {
  const context = { now: new Date(), syncedAt: new Date() };
  return [
    must(buildTransactionMessage(transaction(1, 'PROD001'), context)),
    must(buildTransactionMessage(transaction(2, 'PROD003'), context)),
    must(buildInventoryMessage(update, context)),
  ];
}

describe('with a real broker', () => {
  test('publishes one message per row with the key, value and headers built for it', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const topic = uniqueTopic('pos-sync-events');
    const messages = sampleMessages();
    // The seed's own ProducerConfig: acks=1 is raised to all, the rest maps.
    const seedConfig = { 'client.id': 'pos-sync-service', acks: '1', retries: '3', 'retry.backoff.ms': '1000' };
    const publisher = await createKafkaPublisher(settings(brokers, topic, seedConfig), { deadline: Date.now() + 20_000, log: silent, transactionalId: uniqueTopic('pos-sync.STORE001') });
    try {
      await publisher.publish(messages, plan());
    } finally {
      await publisher.close();
    }

    const received = await consumeTopic(brokers, topic, { expected: messages.length, timeoutMs: 30_000 });
    assert.equal(received.length, messages.length, 'exactly one message per row');
    for (const sent of messages) {
      const got = received.filter((r) => r.headers.id === sent.rowId);
      assert.equal(got.length, 1, `one message for row ${sent.rowId}`);
      assert.equal(got[0]?.key, sent.key);
      assert.equal(got[0]?.value, sent.value);
      assert.deepEqual(got[0]?.headers, sent.headers);
    }
  });

  test('places each key on the partition the seed (librdkafka) would', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const topic = uniqueTopic('pos-sync-partitions');
    await createTopic(brokers, topic, 3);
    const context = { now: new Date(), syncedAt: new Date() };
    const messages = ['PROD001', 'PROD002', 'PROD003', 'PROD004', 'PROD005', 'PROD006'].map((p, i) =>
      must(buildTransactionMessage(transaction(i + 1, p), context)),
    );
    const publisher = await createKafkaPublisher(settings(brokers, topic), { deadline: Date.now() + 20_000, log: silent, transactionalId: uniqueTopic('pos-sync.STORE001') });
    try {
      await publisher.publish(messages, plan());
    } finally {
      await publisher.close();
    }
    const received = await consumeTopic(brokers, topic, { expected: messages.length, timeoutMs: 30_000 });
    assert.equal(received.length, messages.length);
    for (const r of received) assert.equal(r.partition, seedPartition(r.key ?? '', 3), `partition of ${r.key}`);
    assert.ok(new Set(received.map((r) => r.partition)).size > 1, 'the keys spread over partitions');
  });

  test('check() resolves when the broker answers', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const publisher = await createKafkaPublisher(settings(brokers, uniqueTopic('pos-sync-check')), { deadline: Date.now() + 10_000, log: silent });
    try {
      await publisher.check(5_000);
    } finally {
      await publisher.close();
    }
  });
});

describe('with Kafka down', () => {
  let refusingPort = 0;
  let blackHole: net.Server;
  let blackHolePort = 0;
  const held = new Set<net.Socket>();

  before(async () => {
    // A port that was just free: nothing listens there, so connections are refused.
    refusingPort = await closedPort();

    // Accepts TCP and never says a word: the broker that hangs.
    blackHole = net.createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => held.delete(socket));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    blackHolePort = (blackHole.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  for (const which of ['refused', 'black hole'] as const) {
    test(`${which}: publish rejects with KafkaUnavailableError within the deadline, close is quick`, async () => {
      const port = which === 'refused' ? refusingPort : blackHolePort;
      const started = Date.now();
      const deadline = started + 1_500;
      const publisher = await createKafkaPublisher(
        settings([`127.0.0.1:${port}`], 'inventory-events', { retries: '3', 'retry.backoff.ms': '100' }),
        { deadline, log: silent, transactionalId: 'pos-sync.STORE001.down' },
      );
      await assert.rejects(publisher.publish(sampleMessages(), plan()), (e: unknown) => {
        assert.ok(e instanceof KafkaUnavailableError, `got ${String(e)}`);
        assert.equal(e.exitCode, 75);
        assert.ok(e.retriable);
        return true;
      });
      const rejectedAt = Date.now();
      assert.ok(rejectedAt < deadline + SLACK_MS, `rejected ${rejectedAt - deadline} ms after the deadline`);
      await publisher.close();
      assert.ok(Date.now() - rejectedAt < 1_000 + SLACK_MS, 'close() is bounded');
      await assert.rejects(publisher.publish(sampleMessages(), plan()), /closed/);
    });
  }

  test('refused: check() rejects with KafkaUnavailableError at once', async () => {
    const publisher = await createKafkaPublisher(settings([`127.0.0.1:${refusingPort}`], 'inventory-events'), {
      deadline: Date.now() + 10_000,
      log: silent,
    });
    const started = Date.now();
    await assert.rejects(publisher.check(2_000), (e: unknown) => e instanceof KafkaUnavailableError && /ECONNREFUSED/.test(e.message));
    assert.ok(Date.now() - started < 1_000);
    await publisher.close();
  });

  test('black hole: check() gives up after its own timeout', async () => {
    const publisher = await createKafkaPublisher(settings([`127.0.0.1:${blackHolePort}`], 'inventory-events'), {
      deadline: Date.now() + 10_000,
      log: silent,
    });
    const started = Date.now();
    await assert.rejects(publisher.check(500), KafkaUnavailableError);
    assert.ok(Date.now() - started < 500 + SLACK_MS);
    await publisher.close();
  });

  test('no time left: publish rejects at once without connecting', async () => {
    const publisher = await createKafkaPublisher(settings([`127.0.0.1:${blackHolePort}`], 'inventory-events'), {
      deadline: Date.now() + 50,
      log: silent,
      transactionalId: 'pos-sync.STORE001.down',
    });
    const connectionsBefore = held.size;
    await assert.rejects(publisher.publish(sampleMessages(), plan()), /no time left/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(held.size, connectionsBefore, 'no connection was opened');
    await publisher.close();
  });

  for (const which of ['refused', 'black hole'] as const) {
    test(`${which}: a process that publishes and closes exits by itself, before its deadline + slack`, async () => {
      const port = which === 'refused' ? refusingPort : blackHolePort;
      const publisherModule = fileURLToPath(new URL('../src/kafka/publisher.js', import.meta.url));
      // Measured inside the child from just before the publisher exists, so node's own start-up
      // time on a busy machine is not counted; 'exit' fires only once nothing keeps the loop alive.
      const script = `
        const { createKafkaPublisher } = await import(${JSON.stringify(publisherModule)});
        const started = Date.now();
        const deadline = started + 1500;
        process.on('exit', () => process.stdout.write(JSON.stringify({ afterDeadline: Date.now() - deadline }) + '\\n'));
        const publisher = await createKafkaPublisher(
          { enabled: true, bootstrapServers: ['127.0.0.1:${port}'], topic: 'inventory-events',
            producerConfig: { 'client.id': 'pos-sync-service', acks: '1', retries: '3', 'retry.backoff.ms': '1000' } },
          { deadline, log: { debug() {} }, transactionalId: 'pos-sync.STORE001.child' });
        const message = { rowId: 'r1', entity: 'transaction', key: 'STORE001_PROD001', value: '{}', headers: { id: 'r1' } };
        await publisher.publish([message], { marker: 1, beforeCommit() {} }).catch((e) => { if (e.name !== 'KafkaUnavailableError') throw e; });
        await publisher.close();
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      clearTimeout(killer);
      assert.equal(code, 0, `child failed: ${stderr}`);
      assert.equal(stderr, '', 'nothing printed by kafkajs');
      const { afterDeadline } = JSON.parse(stdout.trim()) as { afterDeadline: number };
      assert.ok(afterDeadline < PROCESS_SLACK_MS, `the process exited ${afterDeadline} ms after its deadline`);
    });
  }
});
