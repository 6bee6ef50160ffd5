// Delivery against real SQLite files and the reference central on 127.0.0.1 (runSync with real
// dependencies): a backlog drains with every id exactly once and in write order, the POS's
// columns are never touched, money travels as decimal text, the seed's single format, headers,
// dry runs, and re-sends the central deduplicates.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { centralForFile } from './helpers/central.js';
import { runSync, type SyncOptions } from '../src/pass/pass.js';
import type { Config } from '../src/config/types.js';
import { allIds, BUSINESS_COLUMNS, buildFixtureDb, exec, FIXTURE, pendingIds, query, readTable, withState } from './helpers/db.js';
import { seedDb, syncDeps, testConfig, type Settings } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sync-delivery');
const central = centralForFile({ seed: 1 });
after(tmp.cleanup);

function pass(config: Config, options: SyncOptions = {}) {
  return runSync(options, syncDeps(config));
}

function fixture(settings: Settings = {}): { file: string; config: Config } {
  const file = buildFixtureDb(path.join(tmp.make(), 'POS_Local.db'));
  return { file, config: testConfig(file, central.url, settings) };
}

type Event = Record<string, unknown>;
const eventsById = (): Map<string, Event> => new Map(central.events().map((e) => [e.id, e.event as Event]));

describe('draining a backlog', () => {
  test('a seeded database drains completely; every id arrives exactly once, batches of at most BatchSize', async () => {
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 600, 250, 17);
    const config = testConfig(file, central.url, { Sync: { BatchSize: 50, MaxRunSeconds: 60 } });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.equal(result.stoppedBy, 'drained');
    assert.deepEqual(result.delivered, { transaction: 600, inventory: 250 });
    assert.deepEqual(result.rejected, { transaction: 0, inventory: 0 });
    assert.equal(result.requests, 12 + 5);
    assert.deepEqual(pendingIds(file), []);
    assert.deepEqual(central.receivedIds().sort(), allIds(file).sort());
    assert.deepEqual(central.duplicateIds(), []);
    const stats = central.stats();
    assert.equal(stats.eventsReceived, 850);
    assert.equal(stats.missingIdempotencyKey, 0);
    assert.equal(stats.missingStoreHeader, 0);
    assert.equal(stats.idempotencyKeyConflicts, 0);
    assert.equal(stats.eventsRejected, 0, 'the reference central found every event valid');
    for (const r of central.requests()) assert.ok(r.ids !== null && r.ids.length <= 50 && r.ids.length > 0);
  });

  test('rows arrive in the order the POS wrote them, per entity', async () => {
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 120, 60, 4);
    const config = testConfig(file, central.url, { Sync: { BatchSize: 7, MaxRunSeconds: 60 } });
    assert.equal((await pass(config)).exitCode, 0);
    const written = (table: string) => query<{ Id: string }>(file, `SELECT "Id" FROM "${table}" ORDER BY rowid`).map((r) => r.Id);
    const arrived = central.events().map((e) => e.event as Event);
    assert.deepEqual(arrived.filter((e) => e['entity'] === 'transaction').map((e) => e['id']), written('PosTransactions'));
    assert.deepEqual(arrived.filter((e) => e['entity'] === 'inventory').map((e) => e['id']), written('InventoryUpdates'));
  });

  test('a pass with nothing pending sends nothing and exits 0', async () => {
    const { config } = fixture();
    assert.equal((await pass(config)).exitCode, 0);
    const posts = central.stats().posts;
    const idle = await pass(config);
    assert.equal(idle.exitCode, 0);
    assert.equal(idle.requests, 0);
    assert.equal(central.stats().posts, posts);
  });

  test('Sync.EnableInventorySync false leaves inventory updates pending', async () => {
    const { file, config } = fixture({ Sync: { EnableInventorySync: false } });
    const result = await pass(config);
    assert.deepEqual(result.delivered, { transaction: 3, inventory: 0 });
    assert.deepEqual(pendingIds(file).sort(), [...FIXTURE.pendingInventory].sort());
  });
});

describe('the seed fixture', () => {
  test('every business column the POS wrote is untouched, byte for byte', async () => {
    const { file, config } = fixture();
    const beforeRows = Object.fromEntries(Object.entries(BUSINESS_COLUMNS).map(([t, cols]) => [t, readTable(file, t, cols)]));
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.deepEqual(result.delivered, { transaction: 3, inventory: 2 });
    for (const [table, cols] of Object.entries(BUSINESS_COLUMNS)) {
      assert.deepEqual(readTable(file, table, cols), beforeRows[table], `${table}: values and their SQLite types`);
    }
  });

  test('only the sync columns change: Synced, SyncedAt, SyncAttempts + 1, LastSyncAttempt, error cleared', async () => {
    const { file, config } = fixture();
    const started = Date.now();
    await pass(config);
    const rows = query<Record<string, unknown>>(file, `SELECT * FROM ${withState('PosTransactions')} ORDER BY rowid`);
    const byId = new Map(rows.map((r) => [r['Id'], r]));
    for (const id of FIXTURE.pendingTransactions) {
      const r = byId.get(id)!;
      assert.equal(r['Synced'], 1);
      assert.match(String(r['SyncedAt']), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,7})?$/, 'the seed\'s datetime format');
      assert.ok(Date.parse(`${String(r['SyncedAt']).replace(' ', 'T')}Z`) >= started - 1000, 'written in UTC');
      assert.equal(r['LastSyncError'], null);
      assert.equal(r['SyncRejections'], 0);
    }
    assert.equal(byId.get(FIXTURE.pendingTransactions[2])!['SyncAttempts'], 3, 'the seed\'s 2 earlier attempts + this one');
    assert.equal(byId.get(FIXTURE.pendingTransactions[0])!['SyncAttempts'], 1);
    const already = byId.get(FIXTURE.syncedTransaction)!;
    assert.deepEqual([already['SyncAttempts'], already['SyncedAt']], [1, '2025-10-20 18:30:10.7'], 'the synced row is not re-sent or rewritten');
    assert.ok(!central.receivedIds().includes(FIXTURE.syncedTransaction));
  });

  test('money arrives as the stored decimal text, datetimes with all their digits, in UTC', async () => {
    const { config } = fixture();
    await pass(config);
    const events = eventsById();
    const sale = events.get('1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6')!;
    assert.equal(sale['unitPrice'], '54.99');
    assert.equal(sale['totalAmount'], '54.99');
    assert.equal(sale['occurredAt'], '2025-10-21T14:05:42.5Z');
    assert.equal(sale['metadata'], '{"register":"R2","cashier":"C17"}');
    const first = events.get('9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A')!;
    assert.deepEqual([first['unitPrice'], first['totalAmount'], first['occurredAt']], ['12.5', '25.0', '2025-10-21T14:03:11.1234567Z']);
    const inv = events.get('5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9')!;
    assert.match(String(inv['contentHash']), /^[\w-]{16}$/, 'a content hash beside the id');
    assert.deepEqual(inv, {
      id: '5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9',
      entity: 'inventory',
      storeId: 'STORE001',
      productId: 'PROD001',
      type: 'Sale',
      occurredAt: '2025-10-21T14:03:11.1234567Z',
      previousStock: 40,
      newStock: 38,
      quantityChange: -2,
      reason: 'Sale TX-20251021-0001',
      transactionId: '9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A',
      contentHash: inv['contentHash'],
      tillId: config.tillId,
    });
    assert.equal(sale['tillId'], config.tillId, 'Sync.TillId in every event');
  });

  test('X-Store-Id is the configured store; each event\'s storeId is the row\'s own', async () => {
    const { file, config } = fixture({ Sync: { StoreId: 'STORE042' } });
    exec(
      file,
      `INSERT INTO "PosTransactions" VALUES ('AAAAAAAA-0000-4000-8000-000000000001', 'TX-OTHER-1', 'STORE777', 'PROD002', 'Sale', 1, '5.25', '5.25',
        '2025-10-21 16:00:00', '2025-10-21 16:00:00', 0, 0, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    assert.equal((await pass(config)).exitCode, 0);
    for (const r of central.requests()) assert.equal(r.storeId, 'STORE042');
    const events = eventsById();
    assert.equal(events.get('AAAAAAAA-0000-4000-8000-000000000001')!['storeId'], 'STORE777');
    assert.equal(events.get(FIXTURE.pendingTransactions[0])!['storeId'], 'STORE001');
  });
});

describe('the request', () => {
  test('a bearer token and Sync.ApiHeaders arrive with every request', async () => {
    central.setFaults({ requireToken: 'tok-4f9a-secret' });
    const { file, config } = fixture({ Sync: { ApiToken: 'tok-4f9a-secret', ApiHeaders: { 'X-Tenant': 'north', 'X-Api-Key': 'k-123' } } });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.deepEqual(pendingIds(file), []);
    const requests = central.requests();
    assert.ok(requests.length > 0);
    for (const r of requests) {
      assert.equal(r.authorization, 'bearer');
      assert.equal(r.tokenMatched, true);
      assert.equal(r.headers['x-tenant'], 'north');
      assert.equal(r.headers['x-api-key'], 'k-123');
      assert.match(r.contentType ?? '', /^application\/json/);
      assert.match(r.idempotencyKey ?? '', /^[0-9a-f]{64}$/);
    }
  });

  test('ApiHeaders never merge into the headers pos-sync sets, whatever their case', async () => {
    const { file, config } = fixture({
      Sync: { ApiHeaders: { 'idempotency-key': 'fixed', 'x-store-id': 'EVIL', 'content-type': 'text/plain', 'X-Tenant': 'north' } },
    });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.deepEqual(pendingIds(file), []);
    for (const r of central.requests()) {
      assert.match(r.idempotencyKey ?? '', /^[0-9a-f]{64}$/, 'not "fixed, <ours>"');
      assert.equal(r.storeId, 'STORE001');
      assert.equal(r.contentType, 'application/json');
      assert.equal(r.headers['x-tenant'], 'north');
    }
  });

  test('a seed config\'s own Authorization header is sent when no token is configured; a token replaces it', async () => {
    central.setFaults({ requireToken: 'from-api-headers' });
    const seedStyle = fixture({ Sync: { ApiHeaders: { authorization: 'Bearer from-api-headers' } } });
    assert.equal((await pass(seedStyle.config)).exitCode, 0);
    central.setFaults({ requireToken: 'from-token' });
    const both = fixture({ Sync: { ApiToken: 'from-token', ApiHeaders: { authorization: 'Bearer from-api-headers' } } });
    assert.equal((await pass(both.config)).exitCode, 0);
    for (const r of central.requests()) assert.equal(r.tokenMatched, true);
  });

  test('the Idempotency-Key is stable: the same rows re-sent carry the same key', async () => {
    const { file, config } = fixture();
    await pass(config);
    const firstKeys = central.requests().map((r) => r.idempotencyKey);
    // The local commit was lost (a crash after the central's 2xx): the same rows go again.
    exec(file, `UPDATE "PosTransactions" SET "Synced" = 0 WHERE "Id" <> '${FIXTURE.syncedTransaction}'; UPDATE "InventoryUpdates" SET "Synced" = 0`);
    const again = await pass(config);
    assert.equal(again.exitCode, 0, 'a repeat the central already has is a 2xx');
    assert.deepEqual(pendingIds(file), []);
    assert.deepEqual(central.requests().slice(firstKeys.length).map((r) => r.idempotencyKey), firstKeys);
    const stats = central.stats();
    assert.equal(stats.idempotencyKeyChanges, 0);
    assert.equal(stats.duplicateIds, 5, 'the central saw every id twice and deduplicated them');
    assert.equal(stats.eventsStored, 5);
  });

  test('Sync.ApiFormat "single" sends the seed\'s payload, one request per row, Idempotency-Key = row id', async () => {
    const { file, config } = fixture({ Sync: { ApiFormat: 'single' } });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.equal(result.requests, 5);
    assert.deepEqual(pendingIds(file), []);
    const requests = central.requests();
    assert.deepEqual(requests.map((r) => r.format), Array(5).fill('single'));
    assert.deepEqual(requests.map((r) => r.idempotencyKey).sort(), [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory].sort());
    const stored = new Map(central.events().map((e) => [e.idempotencyKey, e.event as Event]));
    const hashOf = (id: string): unknown => stored.get(id)?.['contentHash'];
    assert.match(String(hashOf('1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6')), /^[\w-]{16}$/);
    assert.deepEqual(stored.get('1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6'), {
      transactionId: 'TX-20251021-0002',
      storeId: 'STORE001',
      type: 'Sale',
      timestamp: '2025-10-21T14:05:42.5Z',
      productId: 'PROD003',
      quantity: 1,
      price: 54.99,
      contentHash: hashOf('1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6'),
      tillId: config.tillId,
    });
    assert.deepEqual(stored.get('7F8E9D0C-1B2A-4394-8576-A5B4C3D2E1F0'), {
      transactionId: null,
      storeId: 'STORE001',
      type: 'Restock',
      timestamp: '2025-10-21T09:00:00Z',
      productId: 'PROD004',
      quantity: 24,
      price: 0,
      contentHash: hashOf('7F8E9D0C-1B2A-4394-8576-A5B4C3D2E1F0'),
      tillId: config.tillId,
    });
  });
});

describe('--dry-run', () => {
  test('sends nothing and changes nothing', async () => {
    const { file, config } = fixture();
    // Migrate first, so the snapshot compares like with like (a dry run may add pos-sync's columns).
    (await syncDeps(config).openDb()).close();
    const tables = ['PosTransactions', 'InventoryUpdates', 'SyncRetryLogs', 'SyncServiceStatuses', 'SyncConfigurations'];
    const snapshot = () => Object.fromEntries(tables.map((t) => [t, readTable(file, t)]));
    const beforeRows = snapshot();
    const result = await pass(config, { dryRun: true });
    assert.equal(result.exitCode, 0);
    assert.equal(result.dryRun, true);
    assert.equal(result.requests, 0);
    assert.deepEqual(result.delivered, { transaction: 0, inventory: 0 });
    assert.deepEqual(result.wouldSend?.rows, { transaction: 3, inventory: 2 });
    assert.ok(result.wouldSend!.firstBatch.some((e) => e.entity === 'transaction' && e.unitPrice === '54.99'));
    assert.equal(central.stats().posts, 0);
    assert.equal(central.stats().healthChecks, 0);
    assert.deepEqual(snapshot(), beforeRows);
    assert.equal(fs.existsSync(config.stateFile), false, 'no state file written');
  });
});
