// Kafka end to end (pos-sync-central(7) KAFKA): the real binary (node bin/pos-sync) with Kafka enabled,
// the reference central on 127.0.0.1 and a real Apache Kafka broker (bash test/kafka/broker.sh
// start; KAFKA_TEST_BROKERS picks another). A test consumer reads what the passes published:
// one event per delivered row, in the seed's format; an outage delays events and neither loses
// nor duplicates one, never touches delivery to the central and never stretches a pass past its
// budget; kafkajs stays unloaded unless something waits to be published; `health` checks the
// broker. Outages are a closed port or a black hole on 127.0.0.1, so the shared broker stays up.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { RunningCentral } from '../examples/central/server.js';
import { useCentral, closedPort } from './helpers/central.js';
import { lines, MODULES_BIN, runCli, type CliResult } from './helpers/cli.js';
import { buildFixtureDb, exec, FIXTURE, query, withState } from './helpers/db.js';
import { consumeTopic, kafkaBrokerOrSkip, uniqueTopic, type ConsumedMessage } from './helpers/kafka.js';
import { MODULE_LOG_ENV } from './helpers/module-record.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('kafka-sync');
after(() => tmp.cleanup());

/** How long a test consumer waits for the messages it expects (a first consumer group is slow to join). */
const CONSUME_TIMEOUT_MS = 45_000;
/** After the expected count arrived, how long the consumer keeps reading to catch duplicates. */
const SETTLE_MS = 2_000;

// --- a store: working directory, database, config ---------------------------------------------

interface Store {
  readonly cwd: string;
  readonly db: string;
  readonly config: string;
}

interface KafkaTarget {
  readonly servers: string;
  readonly topic: string;
}

/** A working directory with the seed's fixture database (5 pending rows, 1 synced by the seed). */
function fixtureStore(): Store {
  const cwd = tmp.make();
  fs.mkdirSync(path.join(cwd, 'data'));
  const db = buildFixtureDb(path.join(cwd, 'data', 'pos.db'));
  return { cwd, db, config: path.join(cwd, 'appsettings.json') };
}

/** Writes the store's appsettings.json: Kafka on (or off), pointing at `kafka`. */
function configure(store: Store, kafka: KafkaTarget | null, sync: Record<string, unknown> = {}): void {
  const settings = {
    // A till of its own per store: test files run at once against one broker, and two passes
    // with the same StoreId and TillId would fence each other's transactions.
    Sync: { StoreId: 'STORE001', TillId: tillOf(store), MaxRunSeconds: 8, ...sync },
    Database: { ConnectionString: 'Data Source=data/pos.db' },
    Kafka: kafka === null ? { Enabled: false } : { Enabled: true, BootstrapServers: kafka.servers, InventoryTopic: kafka.topic },
  };
  fs.writeFileSync(store.config, `${JSON.stringify(settings, null, 2)}\n`);
}

function tillOf(store: Store): string {
  return `till-${path.basename(store.cwd)}`;
}

function cli(store: Store, central: RunningCentral | null, args: readonly string[], env: Record<string, string> = {}, bin?: string): Promise<CliResult> {
  const globals = ['--config', store.config, ...(central ? ['--central-url', central.url] : [])];
  return runCli([...globals, ...args], { cwd: store.cwd, env, timeoutMs: 30_000, ...(bin ? { bin } : {}) });
}

/** Exactly one JSON document on stdout. */
function oneJson<T>(r: CliResult): T {
  assert.ok(r.stdout.endsWith('\n'), `one JSON document on stdout, got: ${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

interface KafkaReport {
  readonly published: number;
  readonly backlog: number;
  readonly error: string | null;
}

interface SyncJson {
  readonly exitCode: number;
  readonly stoppedBy: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly delivered: { transaction: number; inventory: number };
  readonly requests: number;
  readonly error: string | null;
  readonly kafka: KafkaReport | null;
}

interface StatusJson {
  readonly kafka: { enabled: boolean; backlog: number | null };
  readonly pending: Record<'transaction' | 'inventory', { pending: number; kafkaBacklog: number }>;
}

interface HealthJson {
  readonly exitCode: number;
  readonly status: string;
  readonly checks: readonly { name: string; status: string; message: string }[];
}

async function syncPass(store: Store, central: RunningCentral, extra: readonly string[] = []): Promise<{ run: CliResult; result: SyncJson; wallMs: number; startedMs: number }> {
  const startedMs = Date.now();
  const run = await cli(store, central, ['--json', 'sync', ...extra]);
  const wallMs = Date.now() - startedMs;
  return { run, result: oneJson<SyncJson>(run), wallMs, startedMs };
}

async function kafkaBacklog(store: Store): Promise<StatusJson['pending']> {
  const run = await cli(store, null, ['--json', 'status']);
  assert.equal(run.code, 0, run.stderr);
  const status = oneJson<StatusJson>(run);
  assert.equal(status.kafka.enabled, true);
  return status.pending;
}

/** Row Id → KafkaPending, for every row pos-sync delivered (not the one the seed had synced). */
function kafkaPendingById(db: string): Map<string, number> {
  const rows = query<{ Id: string; KafkaPending: number }>(
    db,
    `SELECT "Id", "KafkaPending" FROM ${withState('PosTransactions')} WHERE "Synced" = 1 AND "Id" <> ?
     UNION ALL SELECT "Id", "KafkaPending" FROM ${withState('InventoryUpdates')} WHERE "Synced" = 1`,
    FIXTURE.syncedTransaction,
  );
  return new Map(rows.map((r) => [r.Id, r.KafkaPending]));
}

/** Log lines on stderr at warn or error (JSON lines: stderr is not a terminal). */
function complaints(stderr: string): { level: string; message: string; error?: string }[] {
  return lines(stderr)
    .map((l) => JSON.parse(l) as { level: string; message: string; error?: string })
    .filter((e) => e.level === 'warn' || e.level === 'error');
}

/** Messages per `id` header. */
function countById(messages: readonly ConsumedMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.headers['id'] ?? '<none>', (counts.get(m.headers['id'] ?? '<none>') ?? 0) + 1);
  return counts;
}

/** EF Core's datetime text as the events carry it: ISO 8601, trailing fraction zeros dropped, Z. */
function eventTime(efText: string): string {
  const [date, time] = efText.split(' ');
  const [hms, fraction = ''] = (time ?? '').split('.');
  const f = fraction.replace(/0+$/, '');
  return `${date}T${hms}${f ? `.${f}` : ''}Z`;
}

// --- outages on 127.0.0.1 ---------------------------------------------------------------------

/** Accepts TCP connections and never says a word: a hung broker. Closed when the test ends. */
async function blackHole(t: TestContext): Promise<{ port: number; accepted: () => number }> {
  const held = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    held.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => held.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, accepted: () => accepted };
}

// --- the tests -------------------------------------------------------------------------------

describe('sync with Kafka enabled, against a real broker', () => {
  test('a pass publishes exactly one event per delivered row, with the seed key, value (exact decimal text) and headers', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    const store = fixtureStore();
    // A price no binary double holds: 17 significant digits would print …456.8.
    const bigPrice = 'DEC1DEC1-0000-4000-8000-000000000001';
    exec(
      store.db,
      `INSERT INTO "PosTransactions" ("Id","TransactionId","StoreId","ProductId","TransactionType","Quantity","UnitPrice","TotalAmount","TransactionDate","CreatedAt","Synced","SyncAttempts")
       VALUES (?, 'TX-20251021-0004', 'STORE001', 'PROD009', 'Purchase', 1, '1234567890123456.78', '1234567890123456.78', '2025-10-21 16:00:00.0000001', '2025-10-21 16:00:00.1', 0, 0)`,
      bigPrice,
    );
    const topic = uniqueTopic('pos-sync-e2e');
    configure(store, { servers: brokers.join(','), topic });

    const before = Date.now();
    const { run, result } = await syncPass(store, central);
    const afterPass = Date.now();
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(complaints(run.stderr), []);
    assert.deepEqual(result.delivered, { transaction: 4, inventory: 2 });
    assert.deepEqual(withoutRequests(result.kafka), { published: 6, backlog: 0, error: null });

    const delivered = [...FIXTURE.pendingTransactions, bigPrice, ...FIXTURE.pendingInventory];
    assert.deepEqual(new Set(central.receivedIds()), new Set(delivered), 'the central has every delivered row');

    const received = await consumeTopic(brokers, topic, { expected: delivered.length, timeoutMs: CONSUME_TIMEOUT_MS, settleMs: SETTLE_MS });
    assert.deepEqual(
      [...countById(received)].sort(),
      delivered.map((id) => [id, 1]).sort(),
      'exactly one message per delivered row, none for the row the seed had already synced',
    );

    const syncedAt = new Map(
      query<{ Id: string; SyncedAt: string }>(store.db, `SELECT "Id", "SyncedAt" FROM "PosTransactions" UNION ALL SELECT "Id", "SyncedAt" FROM "InventoryUpdates"`).map((r) => [r.Id, r.SyncedAt]),
    );
    // The seed's anonymous objects, property for property, with the row's stored text.
    const tx = (id: string, txId: string, product: string, type: string, qty: number, unit: string, totalAmount: string, date: string): [string, (ts: string) => string] => [
      id,
      (ts) =>
        `{"EventType":"TransactionSynced","Timestamp":"${ts}","StoreId":"STORE001","TransactionId":"${txId}","ProductId":"${product}",` +
        `"TransactionType":"${type}","Quantity":${qty},"UnitPrice":${unit},"TotalAmount":${totalAmount},"TransactionDate":"${date}","SyncedAt":"${eventTime(syncedAt.get(id)!)}","TillId":"${tillOf(store)}"}`,
    ];
    const inv = (id: string, product: string, type: string, change: number, reason: string, date: string): [string, (ts: string) => string] => [
      id,
      (ts) =>
        `{"EventType":"InventoryUpdateSynced","Timestamp":"${ts}","StoreId":"STORE001","UpdateId":"${id.toLowerCase()}","ProductId":"${product}",` +
        `"UpdateType":"${type}","QuantityChange":${change},"Reason":"${reason}","UpdateDate":"${date}","SyncedAt":"${eventTime(syncedAt.get(id)!)}","TillId":"${tillOf(store)}"}`,
    ];
    const expected = new Map([
      tx(FIXTURE.pendingTransactions[0], 'TX-20251021-0001', 'PROD001', 'Sale', 2, '12.5', '25.0', '2025-10-21T14:03:11.1234567Z'),
      tx(FIXTURE.pendingTransactions[1], 'TX-20251021-0002', 'PROD003', 'Sale', 1, '54.99', '54.99', '2025-10-21T14:05:42.5Z'),
      tx(FIXTURE.pendingTransactions[2], 'TX-20251021-0003', 'PROD001', 'Return', 1, '12.5', '12.5', '2025-10-21T15:00:00Z'),
      tx(bigPrice, 'TX-20251021-0004', 'PROD009', 'Purchase', 1, '1234567890123456.78', '1234567890123456.78', '2025-10-21T16:00:00.0000001Z'),
      inv(FIXTURE.pendingInventory[0], 'PROD001', 'Sale', -2, 'Sale TX-20251021-0001', '2025-10-21T14:03:11.1234567Z'),
      inv(FIXTURE.pendingInventory[1], 'PROD004', 'Restock', 24, 'Weekly delivery', '2025-10-21T09:00:00Z'),
    ]);
    const headerTime: Record<string, string> = {
      [FIXTURE.pendingTransactions[0]]: '2025-10-21T14:03:11.1234567Z',
      [FIXTURE.pendingTransactions[1]]: '2025-10-21T14:05:42.5000000Z',
      [FIXTURE.pendingTransactions[2]]: '2025-10-21T15:00:00.0000000Z',
      [bigPrice]: '2025-10-21T16:00:00.0000001Z',
      [FIXTURE.pendingInventory[0]]: '2025-10-21T14:03:11.1234567Z',
      [FIXTURE.pendingInventory[1]]: '2025-10-21T09:00:00.0000000Z',
    };
    for (const m of received) {
      const id = m.headers['id']!;
      const inventory = (FIXTURE.pendingInventory as readonly string[]).includes(id);
      const product = /"ProductId":"([^"]+)"/.exec(m.value ?? '')?.[1];
      assert.equal(m.key, `STORE001_${product}`, `key of ${id}`);
      assert.deepEqual(m.headers, { 'store-id': 'STORE001', 'event-type': inventory ? 'inventory-update' : 'transaction', timestamp: headerTime[id], id }, `headers of ${id}`);
      const timestamp = (JSON.parse(m.value!) as { Timestamp: string }).Timestamp;
      const at = Date.parse(timestamp);
      assert.ok(at >= before - 1 && at <= afterPass + 1, `Timestamp ${timestamp} is the publish time, inside the pass`);
      assert.equal(m.value, expected.get(id)!(timestamp), `value of ${id}`);
    }

    const backlog = await kafkaBacklog(store);
    assert.equal(backlog.transaction.kafkaBacklog, 0);
    assert.equal(backlog.inventory.kafkaBacklog, 0);
    assert.deepEqual([...kafkaPendingById(store.db).values()].filter((v) => v !== 0), [], 'every delivered row is marked published');
    const seedSynced = query<{ KafkaPending: number }>(store.db, `SELECT "KafkaPending" FROM ${withState('PosTransactions')} WHERE "Id" = ?`, FIXTURE.syncedTransaction);
    assert.deepEqual(seedSynced, [{ KafkaPending: 0 }], 'a row the seed synced (and published) before pos-sync is not queued for Kafka');
  });

  test('a Kafka outage delays events and loses or repeats none; delivery to the central goes on unchanged', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    const store = fixtureStore();
    const topic = uniqueTopic('pos-sync-outage');
    const live: KafkaTarget = { servers: brokers.join(','), topic };
    const down: KafkaTarget = { servers: `127.0.0.1:${await closedPort()}`, topic };

    // 1. Broker up: the fixture's 5 rows are delivered and published.
    configure(store, live);
    const first = await syncPass(store, central);
    assert.equal(first.run.code, 0, first.run.stderr);
    assert.deepEqual(withoutRequests(first.result.kafka), { published: 5, backlog: 0, error: null });
    const publishedFirst = [...kafkaPendingById(store.db).keys()];
    assert.equal(publishedFirst.length, 5);

    // 2. Broker down: new rows still reach the central, the pass exits 0 as without Kafka, and
    //    the rows wait for Kafka (KafkaPending = 1), visible in status.
    const seeded = await cli(store, null, ['seed', '--force', '--transactions', '6', '--inventory', '3', '--random-seed', '11']);
    assert.equal(seeded.code, 0, seeded.stderr);
    configure(store, down);
    // Human output here, as a technician running it by hand sees it.
    const outage = await cli(store, central, ['sync']);
    assert.equal(outage.code, 0, outage.stderr);
    assert.match(outage.stdout, /^delivered 9 \(6 transactions, 3 inventory updates\), 2 requests, [\d.]+ m?s, Kafka unavailable, 9 events wait for the next pass\n$/);
    const warnings = complaints(outage.stderr);
    assert.deepEqual(
      warnings.map((c) => `${c.level}: ${c.message}`),
      ['warn: Kafka is unavailable; the events stay queued for the next pass'],
      'one warning, no error line',
    );
    assert.match(warnings[0]?.error ?? '', /ECONNREFUSED/);
    const pending = kafkaPendingById(store.db);
    const waiting = [...pending].filter(([, v]) => v === 1).map(([id]) => id);
    assert.equal(waiting.length, 9, 'the rows delivered during the outage wait for Kafka');
    for (const id of publishedFirst) assert.equal(pending.get(id), 0, `${id} was published before the outage`);
    assert.deepEqual(new Set(central.receivedIds()), new Set(pending.keys()), 'the central has every synced row');
    assert.equal(central.stats().duplicateReceipts, 0);

    const postsSoFar = central.stats().posts;
    const during = await kafkaBacklog(store);
    assert.deepEqual([during.transaction.kafkaBacklog, during.inventory.kafkaBacklog], [6, 3]);
    assert.deepEqual([during.transaction.pending, during.inventory.pending], [0, 0]);
    const human = await cli(store, null, ['status']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^pending +nothing$/m);
    assert.match(human.stdout, /^kafka +9 events not yet published — Kafka is unavailable: .*ECONNREFUSED/m);

    // 3. The broker is back: the next pass publishes the backlog without sending anything to the
    //    central; a further pass has nothing left to publish.
    configure(store, live);
    const back = await cli(store, central, ['sync']);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /^nothing pending, 9 events published to Kafka \([\d.]+ m?s\)\n$/, 'nothing sent to the central, the backlog published');
    assert.equal(central.stats().posts, postsSoFar, 'no request to the central since the outage pass');
    const again = await syncPass(store, central);
    assert.equal(again.run.code, 0, again.run.stderr);
    assert.deepEqual(again.result.kafka, { published: 0, backlog: 0, error: null });
    const afterBacklog = await kafkaBacklog(store);
    assert.deepEqual([afterBacklog.transaction.kafkaBacklog, afterBacklog.inventory.kafkaBacklog], [0, 0]);

    // Every delivered row on the topic exactly once: the 5 from before the outage not repeated,
    // the 9 from during it not lost.
    const all = [...pending.keys()];
    const received = await consumeTopic(brokers, topic, { expected: all.length, timeoutMs: CONSUME_TIMEOUT_MS, settleMs: SETTLE_MS });
    assert.deepEqual([...countById(received)].sort(), all.map((id) => [id, 1]).sort());
    // An event published late still says when the central accepted the row, not when Kafka got it.
    const syncedAt = new Map(
      query<{ Id: string; SyncedAt: string }>(store.db, `SELECT "Id", "SyncedAt" FROM "PosTransactions" UNION ALL SELECT "Id", "SyncedAt" FROM "InventoryUpdates"`).map((r) => [r.Id, r.SyncedAt]),
    );
    for (const m of received) {
      const event = JSON.parse(m.value!) as { StoreId: string; ProductId: string; EventType: string; SyncedAt: string; Timestamp: string };
      assert.equal(m.key, `${event.StoreId}_${event.ProductId}`);
      assert.equal(event.EventType, m.headers['event-type'] === 'transaction' ? 'TransactionSynced' : 'InventoryUpdateSynced');
      assert.equal(event.SyncedAt, eventTime(syncedAt.get(m.headers['id']!)!), `SyncedAt of ${m.headers['id']}`);
    }
    // The 9 that waited were published after the outage, and say they were synced during it.
    const late = received.filter((m) => waiting.includes(m.headers['id']!)).map((m) => JSON.parse(m.value!) as { SyncedAt: string; Timestamp: string });
    assert.equal(late.length, waiting.length);
    for (const event of late) assert.ok(Date.parse(event.Timestamp) > Date.parse(event.SyncedAt), 'published after the outage, synced during it');
  });

  test('a pass whose delivery spends the budget leaves the events for the next pass: no overrun, no false outage', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    const store = fixtureStore();
    // One row per request and far more rows than 2 s can deliver: delivery stops at the budget
    // with a fraction of a second left, less than loading kafkajs alone takes.
    const live: KafkaTarget = { servers: brokers.join(','), topic: uniqueTopic('pos-sync-budget') };
    configure(store, live, { MaxRunSeconds: 2, BatchSize: 1 });
    const seeded = await cli(store, null, ['seed', '--force', '--transactions', '3000', '--inventory', '0', '--random-seed', '3']);
    assert.equal(seeded.code, 0, seeded.stderr);
    const rows = 3_005;

    const busy = await syncPass(store, central);
    assert.equal(busy.run.code, 0, busy.run.stderr);
    assert.equal(busy.result.stoppedBy, 'time');
    const delivered = busy.result.delivered.transaction + busy.result.delivered.inventory;
    t.diagnostic(`busy pass ${busy.result.durationMs} ms of 2000 ms, ${delivered} rows delivered, Kafka ${JSON.stringify(busy.result.kafka)}`);
    assert.ok(delivered > 0 && delivered < rows, `some rows delivered, not all (${delivered})`);
    assert.equal(busy.result.kafka?.error, null, 'out of time is not a Kafka outage');
    assert.equal((busy.result.kafka?.published ?? 0) + (busy.result.kafka?.backlog ?? 0), delivered);
    assert.deepEqual(complaints(busy.run.stderr), [], 'no warning: Kafka is fine');
    assert.ok(busy.result.durationMs <= 2_000 + 300, `the pass took ${busy.result.durationMs} ms of a 2000 ms budget`);

    // With time to spare, the next passes deliver the rest and publish everything.
    configure(store, live, { MaxRunSeconds: 8, BatchSize: 500 });
    let published = busy.result.kafka?.published ?? 0;
    for (let pass = 0; pass < 5 && published < rows; pass++) {
      const calm = await syncPass(store, central);
      assert.equal(calm.run.code, 0, calm.run.stderr);
      assert.equal(calm.result.kafka?.error, null);
      published += calm.result.kafka?.published ?? 0;
    }
    assert.equal(published, rows, 'every delivered row published, within 5 passes');
    const backlog = await kafkaBacklog(store);
    assert.deepEqual([backlog.transaction.kafkaBacklog, backlog.inventory.kafkaBacklog], [0, 0]);
  });

  test('with several bootstrap servers, a dead first one does not stop publishing', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    const store = fixtureStore();
    configure(store, { servers: [`127.0.0.1:${await closedPort()}`, ...brokers].join(','), topic: uniqueTopic('pos-sync-seeds') });
    const { run, result } = await syncPass(store, central);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(withoutRequests(result.kafka), { published: 5, backlog: 0, error: null });
  });
});

describe('a broken broker never stretches a pass', () => {
  /** Wall time of an idle pass with Kafka off, measured in this run: start-up and exit on this machine now. */
  let idleWallMs = 0;
  before(async () => {
    const store = fixtureStore();
    exec(store.db, `UPDATE "PosTransactions" SET "Synced" = 1; UPDATE "InventoryUpdates" SET "Synced" = 1`);
    configure(store, null);
    const walls: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const run = await cli(store, null, ['sync']);
      walls.push(Date.now() - started);
      assert.equal(run.code, 0, run.stderr);
    }
    idleWallMs = Math.max(...walls);
  });

  const MAX_RUN_SECONDS = 3;

  for (const outage of ['unreachable (closed port)', 'black-holed (accepts, never answers)'] as const) {
    test(`${outage}: the pass ends within Sync.MaxRunSeconds, delivers, exits 0 and keeps the events`, async (t) => {
      // No broker needed: this test is about a broker that is not there.
      const central = await useCentral(t);
      const store = fixtureStore();
      const hole = outage.startsWith('black') ? await blackHole(t) : null;
      const port = hole ? hole.port : await closedPort();
      configure(store, { servers: `127.0.0.1:${port}`, topic: uniqueTopic('pos-sync-down') }, { MaxRunSeconds: MAX_RUN_SECONDS });

      const { run, result, wallMs, startedMs } = await syncPass(store, central);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(
        complaints(run.stderr).map((c) => `${c.level}: ${c.message}`),
        ['warn: Kafka is unavailable; the events stay queued for the next pass'],
      );
      assert.deepEqual(result.delivered, { transaction: 3, inventory: 2 });
      assert.equal(result.kafka?.published, 0);
      assert.equal(result.kafka?.backlog, 5);
      assert.notEqual(result.kafka?.error, null);
      // A black hole is there to be reached, and was; a closed port has nothing to count.
      assert.equal(hole === null ? 'closed port' : hole.accepted() > 0, outage.startsWith('black') ? true : 'closed port', 'the pass did reach the black hole');
      const budgetMs = MAX_RUN_SECONDS * 1000;
      t.diagnostic(`pass ${result.durationMs} ms, process ${wallMs} ms, idle process ${idleWallMs} ms, budget ${budgetMs} ms`);
      // Inside the pass: the budget, plus timer and teardown jitter.
      assert.ok(result.durationMs <= budgetMs + 500, `the pass took ${result.durationMs} ms of a ${budgetMs} ms budget`);
      // The whole process: the budget plus what starting and ending a process costs here now
      // (nothing of kafkajs may keep it alive after the pass).
      const limit = budgetMs + idleWallMs + 1_000;
      // Where a long process spent its time, should it be one: before the pass began, or after it ended.
      const before = Date.parse(result.startedAt) - startedMs;
      const afterPass = wallMs - before - result.durationMs;
      assert.ok(wallMs <= limit, `the process took ${wallMs} ms (${before} ms before the pass began, ${afterPass} ms after it ended); budget ${budgetMs} ms + idle process ${idleWallMs} ms + 1 s`);
      assert.equal([...kafkaPendingById(store.db).values()].filter((v) => v === 1).length, 5, 'every event still waits for Kafka');
    });
  }
});

describe('kafkajs is loaded only when something waits to be published', () => {
  const RECORDER = new URL('./helpers/module-record.js', import.meta.url).href;

  /** Runs pos-sync with the module recorder preloaded; returns the result and whether kafkajs was loaded. */
  async function recorded(store: Store, central: RunningCentral | null, args: readonly string[]): Promise<{ run: CliResult; kafkajs: string[]; modules: number }> {
    const log = path.join(store.cwd, `modules-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
    // The compiled modules, one by one (MODULES_BIN), so the recorder can see each load.
    const run = await cli(store, central, args, { NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log }, MODULES_BIN);
    const entries = fs.existsSync(log) ? lines(fs.readFileSync(log, 'utf8')) : [];
    // The recorder itself must have seen the CLI load, or an empty record would prove nothing.
    assert.ok(entries.some((e) => e.includes('/dist/src/main.js')), `the recorder saw pos-sync start (${entries.length} entries)`);
    assert.ok(entries.some((e) => e.startsWith('cjs ')), 'the recorder listed CommonJS modules at exit');
    return { run, kafkajs: entries.filter((e) => /[/\\]node_modules[/\\]kafkajs[/\\]/.test(e)), modules: entries.length };
  }

  test('control: a pass with events to publish loads it (the recorder sees it)', async (t) => {
    const central = await useCentral(t);
    const store = fixtureStore();
    // A closed port: the pass builds the publisher and fails fast; no broker needed.
    configure(store, { servers: `127.0.0.1:${await closedPort()}`, topic: uniqueTopic('pos-sync-load') }, { MaxRunSeconds: 2 });
    const { run, kafkajs } = await recorded(store, central, ['sync']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(kafkajs.some((e) => e.startsWith('esm ')), 'the ESM loader resolved kafkajs');
    assert.ok(kafkajs.some((e) => e.startsWith('cjs ')), 'kafkajs is in require.cache');
  });

  test('an idle pass with Kafka enabled does not load it', async () => {
    const store = fixtureStore();
    exec(store.db, `UPDATE "PosTransactions" SET "Synced" = 1; UPDATE "InventoryUpdates" SET "Synced" = 1`);
    // The broker address does not matter: nothing may try to reach it.
    configure(store, { servers: `127.0.0.1:${await closedPort()}`, topic: 'inventory-events' });
    const { run, kafkajs } = await recorded(store, null, ['--json', 'sync']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(oneJson<SyncJson>(run).kafka, { published: 0, backlog: 0, error: null });
    assert.deepEqual(kafkajs, []);
  });

  test('a pass that delivers nothing (every row refused) has nothing to publish and does not load it', async (t) => {
    const central = await useCentral(t, { faults: { refuseIds: [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory] } });
    const store = fixtureStore();
    configure(store, { servers: `127.0.0.1:${await closedPort()}`, topic: 'inventory-events' });
    const { run, kafkajs } = await recorded(store, central, ['--json', 'sync']);
    // Every row refused for one reason is not about the rows (pos-sync-central(7)): 78, none penalised.
    assert.equal(run.code, 78, run.stderr);
    const result = oneJson<SyncJson>(run);
    assert.deepEqual(result.delivered, { transaction: 0, inventory: 0 });
    assert.ok(result.requests > 0, 'the pass did talk to the central');
    assert.deepEqual(withoutRequests(result.kafka), { published: 0, backlog: 0, error: null });
    assert.deepEqual(kafkajs, []);
  });

  test('status with a Kafka backlog does not load it', async (t) => {
    const central = await useCentral(t);
    const store = fixtureStore();
    configure(store, null);
    const delivered = await cli(store, central, ['sync']);
    assert.equal(delivered.code, 0, delivered.stderr);
    // As if those rows had been delivered while the broker was down.
    exec(store.db, `INSERT INTO "PosSync_RowState" ("Entity", "Id", "KafkaPending") SELECT 'transaction', "Id", 1 FROM "PosTransactions" WHERE "Synced" = 1`);
    configure(store, { servers: `127.0.0.1:${await closedPort()}`, topic: 'inventory-events' });
    const { run, kafkajs } = await recorded(store, null, ['--json', 'status']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(oneJson<StatusJson>(run).pending.transaction.kafkaBacklog, 4);
    assert.deepEqual(kafkajs, []);
  });
});

describe('health checks the broker', () => {
  /** The whole command must end within 10 s (pos-sync(1) COMMANDS); this adds the process start on a busy box. */
  const HEALTH_LIMIT_MS = 10_000;

  async function healthOf(store: Store, central: RunningCentral): Promise<{ result: HealthJson; run: CliResult; wallMs: number; kafka: { status: string; message: string } }> {
    const started = Date.now();
    const run = await cli(store, central, ['--json', 'health']);
    const wallMs = Date.now() - started;
    const result = oneJson<HealthJson>(run);
    assert.equal(run.code, result.exitCode);
    const kafka = result.checks.find((c) => c.name === 'kafka');
    assert.ok(kafka, `a kafka check in ${JSON.stringify(result.checks)}`);
    return { result, run, wallMs, kafka };
  }

  /** A store whose rows were delivered (with Kafka off), so only the Kafka check can complain. */
  async function healthyStore(central: RunningCentral): Promise<Store> {
    const store = fixtureStore();
    configure(store, null);
    const run = await cli(store, central, ['sync']);
    assert.equal(run.code, 0, run.stderr);
    return store;
  }

  test('OK against the live broker', async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const central = await useCentral(t);
    const store = await healthyStore(central);
    configure(store, { servers: brokers.join(','), topic: uniqueTopic('pos-sync-health') });
    const { result, kafka, wallMs } = await healthOf(store, central);
    assert.equal(kafka.status, 'OK', kafka.message);
    assert.equal(result.status, 'OK', JSON.stringify(result.checks));
    assert.equal(result.exitCode, 0);
    assert.ok(wallMs < HEALTH_LIMIT_MS, `health took ${wallMs} ms`);
  });

  for (const outage of ['unreachable (closed port)', 'black-holed'] as const) {
    test(`WARNING, not CRITICAL, when the broker is ${outage}: events only wait (pos-sync-central(7) KAFKA)`, async (t) => {
      const central = await useCentral(t);
      const store = await healthyStore(central);
      const hole = outage === 'black-holed' ? await blackHole(t) : null;
      const port = hole ? hole.port : await closedPort();
      configure(store, { servers: `127.0.0.1:${port}`, topic: 'inventory-events' });
      const { result, kafka, wallMs } = await healthOf(store, central);
      assert.equal(kafka.status, 'WARNING', kafka.message);
      assert.equal(result.status, 'WARNING', JSON.stringify(result.checks));
      assert.equal(result.exitCode, 1);
      const others = result.checks.filter((c) => c.name !== 'kafka');
      assert.ok(others.length > 0);
      assert.deepEqual(others.filter((c) => c.status !== 'OK').map((c) => `${c.name}: ${c.message}`), [], 'only Kafka is not OK');
      assert.equal(hole === null ? 'closed port' : hole.accepted() > 0, outage === 'black-holed' ? true : 'closed port', 'health did reach the black hole');
      t.diagnostic(`health ${wallMs} ms: ${kafka.message}`);
      assert.ok(wallMs < HEALTH_LIMIT_MS, `health took ${wallMs} ms`);
    });
  }
});

/** The pass's Kafka report without its request count (which depends on the broker's answers). */
function withoutRequests(report: unknown): unknown {
  if (report === null || typeof report !== 'object') return report;
  const { requests: _requests, ...rest } = report as Record<string, unknown>;
  return rest;
}
