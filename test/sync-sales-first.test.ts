// Sales first: with both backlogs waiting, a pass sends the sales ahead of the inventory updates,
// inventory getting one batch after every four sales batches so it is never starved, and the
// order within each entity is the POS's. Through the real binary against the reference central.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { runCli } from './helpers/cli.js';
import { pendingIds, query } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';
import { batchCycle, SALES_BATCHES_PER_INVENTORY_BATCH } from '../src/domain/priority.js';

const tmp = tmpDirs('sync-sales-first');
let central: RunningCentral | undefined;
after(async () => {
  await central?.close();
  tmp.cleanup();
});

describe('batchCycle', () => {
  test('both wait: four sales batches, then one inventory batch', () =>
    assert.deepEqual(batchCycle(['transaction', 'inventory']), ['transaction', 'transaction', 'transaction', 'transaction', 'inventory']));
  test('one entity left: its batches only', () => {
    assert.deepEqual(batchCycle(['inventory']), ['inventory']);
    assert.deepEqual(batchCycle(['transaction']), ['transaction']);
    assert.deepEqual(batchCycle([]), []);
  });
});

describe('sales before inventory, both backlogs waiting', () => {
  test('sales go first, inventory gets every fifth batch, and each entity keeps its order', async () => {
    central = await startCentral({ seed: 13 });
    const dir = tmp.make();
    const db = path.join(dir, 'POS_Local.db');
    seedDb(db, 600, 150, 51);
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { BatchSize: 50, MaxRunSeconds: 60 } }));
    const r = await runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central.url, 'sync'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pendingIds(db), []);

    const sales = query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions" ORDER BY rowid`).map((x) => x.Id);
    const inventory = query<{ Id: string }>(db, `SELECT "Id" FROM "InventoryUpdates" ORDER BY rowid`).map((x) => x.Id);
    const isSale = new Set(sales);
    const posts = central.requests().filter((q) => q.method === 'POST' && q.ids !== null && q.ids.length > 0);
    const kinds = posts.map((q) => (q.ids!.every((id) => isSale.has(id)) ? 'T' : q.ids!.every((id) => !isSale.has(id)) ? 'I' : 'mixed')).join('');
    // 12 sales batches, 3 inventory batches: T T T T I, three times; then nothing of either is left.
    const per = 'T'.repeat(SALES_BATCHES_PER_INVENTORY_BATCH) + 'I';
    assert.equal(kinds, per.repeat(3), 'sales first; inventory every fifth batch while sales wait');
    assert.deepEqual(posts.flatMap((q) => q.ids!.filter((id) => isSale.has(id))), sales, 'sales in the POS order');
    assert.deepEqual(posts.flatMap((q) => q.ids!.filter((id) => !isSale.has(id))), inventory, 'inventory updates in the POS order');
  });

  test('a small sales backlog goes out whole before the first inventory batch', async () => {
    central ??= await startCentral({ seed: 13 });
    central.reset();
    const dir = tmp.make();
    const db = path.join(dir, 'POS_Local.db');
    seedDb(db, 120, 300, 52);
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { BatchSize: 50, MaxRunSeconds: 60 } }));
    const r = await runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central.url, 'sync'], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const isSale = new Set(query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions"`).map((x) => x.Id));
    const kinds = central
      .requests()
      .filter((q) => q.method === 'POST' && q.ids !== null && q.ids.length > 0)
      .map((q) => (isSale.has(q.ids![0]!) ? 'T' : 'I'))
      .join('');
    assert.equal(kinds, 'TTTIIIIII', 'the three sales batches first, then the six inventory batches');
  });
});
