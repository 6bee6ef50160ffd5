// Each event visible once to a read_committed consumer, across passes (processes), against a real
// broker (bash test/kafka/broker.sh start): the events of a pass go out in Kafka transactions
// under the till's transactional.id, the next pass's producer fences whatever an earlier one left
// open, rows are marked only after the commit, and a commit whose answer never came is settled by
// the next pass before it publishes again. What Kafka holds is compared with the database by id.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Database } from 'better-sqlite3';
import { seededRandom } from '../src/domain/sample.js';
import { KafkaUnavailableError } from '../src/kafka/errors.js';
import { publishPending, type OutboxDeps } from '../src/kafka/outbox.js';
import { createKafkaPublisher, shuffled, transactionTimeoutMs, type EventPublisher } from '../src/kafka/publisher.js';
import { transactionalIdOf, type KafkaSettings } from '../src/kafka/settings.js';
import { openDatabase } from '../src/store/db.js';
import { useCentral } from './helpers/central.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { exec, query, withState } from './helpers/db.js';
import { consumeTopic, kafkaBrokerOrSkip, uniqueTopic, type ConsumedMessage } from './helpers/kafka.js';
import { memoryLogger, seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('kafka-transactions');
after(() => tmp.cleanup());

const CONSUME_TIMEOUT_MS = 45_000;
const SETTLE_MS = 2_000;

/** Messages per `id` header. */
function countById(messages: readonly ConsumedMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.headers['id'] ?? '', (counts.get(m.headers['id'] ?? '') ?? 0) + 1);
  return counts;
}

/** Every id that appears more than once, or that is not `expected`'s, or missing: [] when each is there once. */
function onceEach(messages: readonly ConsumedMessage[], expected: readonly string[]): string[] {
  const counts = countById(messages);
  const problems: string[] = [];
  for (const id of expected) if (counts.get(id) !== 1) problems.push(`${id}: ${counts.get(id) ?? 0} times`);
  const known = new Set(expected);
  for (const [id, n] of counts) if (!known.has(id)) problems.push(`${id}: not a delivered row (${n} times)`);
  return problems;
}

describe('Kafka transactions across passes', () => {
  test('a pass fences the producer an earlier pass left open: read_committed consumers never see its records, each delivered row once, in order per product', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    const dir = tmp.make();
    const db = seedDb(path.join(dir, 'pos.db'), 300, 200, 17);
    const topic = uniqueTopic('pos-sync-fence');
    const tillId = `till-${path.basename(dir)}`;
    const config = path.join(dir, 'appsettings.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        Sync: { StoreId: 'STORE001', TillId: tillId, MaxRunSeconds: 20 },
        Database: { ConnectionString: 'Data Source=pos.db' },
        Kafka: { Enabled: true, BootstrapServers: brokers.join(','), InventoryTopic: topic },
      }),
    );

    // What a pass cut off mid-transaction leaves: a producer with the till's transactional.id
    // and an open transaction holding records.
    const { Kafka, logLevel } = await import('kafkajs');
    const kafka = new Kafka({ brokers, clientId: 'cut-off-pass', logLevel: logLevel.NOTHING });
    const ghost = kafka.producer({ transactionalId: transactionalIdOf('STORE001', tillId), idempotent: true, maxInFlightRequests: 1 });
    await ghost.connect();
    t.after(() => ghost.disconnect());
    const open = await ghost.transaction();
    await open.send({ topic, acks: -1, messages: [{ key: 'STORE001_PROD001', value: '{"ghost":true}', headers: { id: 'GHOST-OF-A-CUT-OFF-PASS' } }] });

    const run: CliResult = await runCli(['--config', config, '--central-url', central.url, '--json', 'sync'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { kafka: { published: number; backlog: number; error: string | null; requests?: number } };
    assert.deepEqual([result.kafka.published, result.kafka.backlog, result.kafka.error], [500, 0, null]);
    assert.ok((result.kafka.requests ?? 0) > 0, 'the pass reports the requests it sent');

    // The earlier producer is fenced: its transaction was aborted and it cannot commit.
    await assert.rejects(open.commit());

    const delivered = query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions" WHERE "Synced" = 1 UNION ALL SELECT "Id" FROM "InventoryUpdates" WHERE "Synced" = 1`).map((r) => r.Id);
    assert.equal(delivered.length, 500);
    const committed = await consumeTopic(brokers, topic, { expected: delivered.length, timeoutMs: CONSUME_TIMEOUT_MS, settleMs: SETTLE_MS });
    assert.deepEqual(onceEach(committed, delivered), []);
    assert.deepEqual(query(db, `SELECT "Id" FROM ${withState('PosTransactions')} WHERE "KafkaPending" <> 0`), [], 'every row marked published');

    // Per product, the inventory events come in the order the POS wrote them: each one's
    // PreviousStock is the NewStock of the one before.
    const order = new Map(query<{ Id: string; n: number }>(db, `SELECT "Id", rowid AS n FROM "InventoryUpdates"`).map((r) => [r.Id, r.n]));
    const lastByProduct = new Map<string, number>();
    for (const m of committed) {
      const n = order.get(m.headers['id'] ?? '');
      if (n === undefined) continue;
      const product = m.key ?? '';
      assert.ok((lastByProduct.get(product) ?? 0) < n, `inventory events of ${product} in write order`);
      lastByProduct.set(product, n);
      assert.match(m.value ?? '', new RegExp(`"TillId":"${tillId}"\\}$`));
    }

    // A read_uncommitted consumer sees the aborted record too (the man page warns of this).
    const uncommitted = await consumeTopic(brokers, topic, { expected: delivered.length + 1, timeoutMs: CONSUME_TIMEOUT_MS, settleMs: SETTLE_MS, readUncommitted: true });
    assert.equal(countById(uncommitted).get('GHOST-OF-A-CUT-OFF-PASS'), 1);
  });

  for (const committed of [true, false]) {
    test(`a commit whose answer never came (it ${committed ? 'did' : 'did not'} reach the broker): the next pass settles it, and a read_committed consumer sees each event once`, async (t) => {
      const brokers = await kafkaBrokerOrSkip(t);
      if (!brokers) return;
      const file = seedDb(path.join(tmp.make(), 'pos.db'), 120, 80, 23);
      exec(file, `UPDATE "PosTransactions" SET "Synced" = 1, "SyncedAt" = '2025-10-21 14:59:00.25'`);
      exec(file, `UPDATE "InventoryUpdates" SET "Synced" = 1, "SyncedAt" = '2025-10-21 14:59:01'`);
      exec(file, `INSERT INTO "PosSync_RowState" ("Entity", "Id", "KafkaPending") SELECT 'transaction', "Id", 1 FROM "PosTransactions" ORDER BY rowid`);
      exec(file, `INSERT INTO "PosSync_RowState" ("Entity", "Id", "KafkaPending") SELECT 'inventory', "Id", 1 FROM "InventoryUpdates" ORDER BY rowid`);
      const all = query<{ Id: string }>(file, `SELECT "Id" FROM "PosTransactions" UNION ALL SELECT "Id" FROM "InventoryUpdates"`).map((r) => r.Id);
      const topic = uniqueTopic('pos-sync-unknown-commit');
      const settings: KafkaSettings = { enabled: true, bootstrapServers: brokers, topic, producerConfig: {} };
      const transactionalId = `pos-sync.STORE001.${uniqueTopic('till')}`;

      // The first pass loses the answer to its first commit: the real publisher commits (or is cut
      // off right before sending the commit), and the pass hears only that the outcome is unknown.
      const lossy: OutboxDeps['createPublisher'] = async (s, opts) => {
        const real = await createKafkaPublisher(s, opts);
        const publisher: EventPublisher = {
          async publish(messages, plan) {
            if (committed) await real.publish(messages, plan);
            else {
              await real
                .publish(messages, {
                  marker: plan.marker,
                  beforeCommit: () => {
                    plan.beforeCommit();
                    throw new Error('cut off before the commit was sent');
                  },
                })
                .catch(() => undefined);
            }
            await real.close();
            throw new KafkaUnavailableError('the outcome of a Kafka commit is unknown (Kafka did not answer within 3 ms)', { commitUnknown: true });
          },
          lastCommittedMarker: () => real.lastCommittedMarker(),
          check: (ms) => real.check(ms),
          checkTopic: (ms) => real.checkTopic(ms),
          get requests() {
            return real.requests;
          },
          close: () => real.close(),
        };
        return publisher;
      };
      const pass = async (createPublisher?: OutboxDeps['createPublisher']) => {
        const db: Database = openDatabase({ path: file, create: false, autoMigrate: false, busyTimeoutMs: 1_000 });
        try {
          const log = memoryLogger();
          const report = await publishPending({ db, settings, clock: { now: () => Date.now() }, log, deadline: Date.now() + 20_000, transactionalId, tillId: 'till-1', ...(createPublisher ? { createPublisher } : {}) });
          return { report, log };
        } finally {
          db.close();
        }
      };

      const first = await pass(lossy);
      assert.match(first.report.error ?? '', /outcome of a Kafka commit is unknown/);
      assert.equal(first.report.published, 0);
      assert.equal(first.report.backlog, all.length, 'nothing marked while the commit is in doubt');

      const second = await pass();
      assert.equal(second.report.error, null);
      assert.equal(second.report.backlog, 0);
      const settled = second.log.lines.find((l) => l.message === 'settled a Kafka commit whose outcome was unknown');
      assert.equal(settled?.fields?.['committed'], committed, 'the next pass found out what happened');

      const received = await consumeTopic(brokers, topic, { expected: all.length, timeoutMs: CONSUME_TIMEOUT_MS, settleMs: SETTLE_MS });
      assert.deepEqual(onceEach(received, all), []);
    });
  }
});

describe('bootstrap brokers', () => {
  test('bootstrap hosts that accept and never answer cost at most 1.5 s each: every pass publishes, well within its budget', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    // Two hung hosts and the real broker: in a random order, most passes meet a hung one first.
    const held = new Set<net.Socket>();
    const holes = await Promise.all(
      [0, 1].map(async () => {
        const server = net.createServer((socket) => {
          held.add(socket);
          socket.on('error', () => undefined);
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        t.after(() => {
          for (const socket of held) socket.destroy();
          return new Promise<void>((resolve) => server.close(() => resolve()));
        });
        return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      }),
    );
    const dir = tmp.make();
    const db = seedDb(path.join(dir, 'pos.db'), 0, 0, 3);
    const topic = uniqueTopic('pos-sync-bootstrap');
    const config = path.join(dir, 'appsettings.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        Sync: { StoreId: 'STORE001', TillId: `till-${path.basename(dir)}`, MaxRunSeconds: 8 },
        Database: { ConnectionString: 'Data Source=pos.db' },
        Kafka: { Enabled: true, BootstrapServers: [...holes, ...brokers].join(','), InventoryTopic: topic },
      }),
    );
    let total = 0;
    for (let pass = 0; pass < 3; pass++) {
      seedDb(db, 20, 10, 100 + pass);
      const run = await runCli(['--config', config, '--central-url', central.url, '--json', 'sync'], { cwd: dir, timeoutMs: 30_000 });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout) as { durationMs: number; kafka: { published: number; error: string | null } };
      assert.deepEqual([result.kafka.published, result.kafka.error], [30, null], `pass ${pass + 1}`);
      // Two hung hosts at 1.5 s each at most, and the publishing itself.
      assert.ok(result.durationMs < 6_000, `pass ${pass + 1} took ${result.durationMs} ms`);
      total += 30;
    }
    const received = await consumeTopic(brokers, topic, { expected: total, timeoutMs: CONSUME_TIMEOUT_MS, settleMs: SETTLE_MS });
    const ids = query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions" UNION ALL SELECT "Id" FROM "InventoryUpdates"`).map((r) => r.Id);
    assert.deepEqual(onceEach(received, ids), []);
  });
});

describe('transaction settings', () => {
  test('the transaction timeout is the pass budget plus 2 s, from 5 s to 60 s', () => {
    assert.equal(transactionTimeoutMs(8_000), 10_000);
    assert.equal(transactionTimeoutMs(100), 5_000);
    assert.equal(transactionTimeoutMs(600_000), 60_000);
  });

  test('the transactional.id names the store and the till', () => {
    assert.equal(transactionalIdOf('STORE001', 'till-2'), 'pos-sync.STORE001.till-2');
  });

  test('bootstrap brokers are tried in a random order that a seed repeats, each first in turn', () => {
    const brokers = ['a:9092', 'b:9092', 'c:9092'];
    assert.deepEqual(shuffled(brokers, seededRandom(4)), shuffled(brokers, seededRandom(4)));
    const random = seededRandom(1);
    const firsts = new Set(Array.from({ length: 60 }, () => shuffled(brokers, random)[0]));
    assert.deepEqual([...firsts].sort(), brokers);
    assert.deepEqual([...shuffled(brokers, random)].sort(), brokers, 'every broker kept');
  });
});
