// The batch source over a real SQLite file: round-robin per entity, the cursor, read-ahead that is
// used only when it matches (else dropped, its rows left for the next read), rows refused locally.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CentralEvent } from '../src/domain/events.js';
import { BatchSource } from '../src/pass/batch-source.js';
import { openDatabase } from '../src/store/db.js';
import { Queue } from '../src/store/queue.js';
import { exec } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('pass-batch-source');
after(tmp.cleanup);

const clock = { now: () => Date.now() };
const encode = (events: readonly CentralEvent[]) => ({ body: JSON.stringify(events), key: `key-${events.length}` });

function source(transactions: number, inventory: number, entities: readonly ('transaction' | 'inventory')[] = ['transaction', 'inventory']) {
  const file = seedDb(path.join(tmp.make(), 'POS_Local.db'), transactions, inventory);
  const db = openDatabase({ path: file, create: false, autoMigrate: true, busyTimeoutMs: 5_000 });
  after(() => db.close());
  return { file, source: new BatchSource(new Queue(db), entities, clock, encode) };
}

describe('the batch source', () => {
  test('hands out batches after the cursor until an entity runs dry, then counts it drained', () => {
    const { source: s } = source(5, 0, ['transaction']);
    assert.deepEqual(s.round(), ['transaction']);
    assert.equal(s.take('transaction', 2)?.events.length, 2);
    assert.equal(s.take('transaction', 2)?.events.length, 2);
    const last = s.take('transaction', 2);
    assert.equal(last?.events.length, 1);
    assert.equal(last?.encoded, undefined, 'a batch read on demand is encoded by the deliverer');
    assert.equal(s.exhausted, false);
    assert.equal(s.take('transaction', 2), null);
    assert.equal(s.exhausted, true);
    assert.deepEqual(s.round(), []);
  });

  test('round-robin: the entity after the last one is the first not drained', () => {
    const { source: s } = source(1, 1);
    assert.equal(s.following('transaction'), 'inventory');
    assert.equal(s.following('inventory'), 'transaction');
    assert.equal(s.take('inventory', 10)?.events.length, 1);
    assert.equal(s.take('inventory', 10), null);
    assert.equal(s.following('transaction'), 'transaction');
    assert.deepEqual(s.round(), ['transaction']);
  });

  test('a batch read ahead is handed out, encoded, when exactly it is asked for', () => {
    const { source: s } = source(0, 3);
    s.readAhead('inventory', 2);
    const batch = s.take('inventory', 2);
    assert.equal(batch?.events.length, 2);
    assert.deepEqual(batch?.encoded, encode(batch!.events));
    assert.equal(s.take('inventory', 2)?.events.length, 1, 'the cursor moved past the batch read ahead');
  });

  test('a batch read ahead for something else is dropped and its rows read again', () => {
    const { source: s } = source(0, 3);
    s.readAhead('inventory', 2);
    const batch = s.take('inventory', 10); // a probe's smaller limit, say: not what was read ahead
    assert.equal(batch?.events.length, 3);
  });

  test('a row pos-sync cannot read is set aside as unreadable, by rowid, and not sent', () => {
    const { file, source: s } = source(0, 3);
    exec(file, `UPDATE "InventoryUpdates" SET "NewStock" = 1.5 WHERE rowid = (SELECT min(rowid) FROM "InventoryUpdates")`);
    const batch = s.take('inventory', 10)!;
    assert.equal(batch.events.length, 2);
    assert.equal(batch.unreadable.length, 1);
    assert.match(batch.unreadable[0]!.error, /^invalid row: NewStock\b/);
    assert.equal(typeof batch.unreadable[0]!.rowid, 'number');
    assert.equal(batch.rows.size, 2);
  });
});
