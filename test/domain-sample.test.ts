// `seed`'s sample rows (pos-sync(1) COMMANDS): repeatable with a random seed, totals = quantity × unit price in
// exact decimal text, EF-shaped ids and datetimes in write order, and PreviousStock → NewStock
// chains that stay consistent per product, also across runs into the same database.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { CATALOGUE, centsToText, guid, sampleIds, sampleInventoryUpdates, sampleTransactions, seededRandom } from '../src/domain/sample.js';
import { parseDbTime } from '../src/domain/time.js';
import { buildFixtureDb, query } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sample');
after(() => tmp.cleanup());

const NOW = Date.parse('2025-10-21T15:00:00Z');
const PRICE = new Map(CATALOGUE.map((p) => [p.id, p.priceCents]));
const textToCents = (t: string): number => {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(t);
  assert.ok(m, `decimal text with two places: ${t}`);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 100 + Number(m[3]));
};

describe('sample transactions', () => {
  const rows = [...sampleTransactions(2000, 'STORE009', NOW, seededRandom(1), sampleIds(1))];

  test('the same random seed gives the same rows; another seed different ones', () => {
    assert.deepEqual([...sampleTransactions(2000, 'STORE009', NOW, seededRandom(1), sampleIds(1))], rows);
    assert.notDeepEqual([...sampleTransactions(50, 'STORE009', NOW, seededRandom(2), sampleIds(2))], rows.slice(0, 50));
  });

  test('totals are quantity × unit price exactly, as decimal text', () => {
    for (const r of rows) {
      assert.equal(textToCents(r.UnitPrice), PRICE.get(r.ProductId));
      assert.equal(textToCents(r.TotalAmount), r.Quantity * textToCents(r.UnitPrice), `${r.Id}: ${r.Quantity} × ${r.UnitPrice} = ${r.TotalAmount}`);
      assert.ok(r.Quantity > 0);
    }
  });

  test('EF-shaped: upper-case v4 GUID ids, unique; datetimes in write order, within the last hour', () => {
    assert.equal(new Set(rows.map((r) => r.Id)).size, rows.length);
    let last = -Infinity;
    for (const r of rows) {
      assert.match(r.Id, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
      const at = parseDbTime(r.TransactionDate)!;
      assert.ok(at > last && at <= NOW && at >= NOW - 3_600_000);
      last = at;
      assert.equal(r.StoreId, 'STORE009');
    }
  });

  test('a realistic mix: mostly sales, some returns, purchases and adjustments', () => {
    const count = (type: string) => rows.filter((r) => r.TransactionType === type).length;
    assert.ok(count('Sale') > rows.length * 0.7);
    for (const t of ['Return', 'Purchase', 'Adjustment']) assert.ok(count(t) > 0, t);
    assert.equal(count('Sale') + count('Return') + count('Purchase') + count('Adjustment'), rows.length);
  });

  test('centsToText: two decimals, sign kept', () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), (cents) => assert.equal(textToCents(centsToText(cents)), cents)),
      { seed: 4, numRuns: 500 },
    );
    assert.equal(centsToText(5), '0.05');
    assert.equal(centsToText(-5), '-0.05');
  });

  test('guid draws its nibbles from the random source', () => {
    assert.equal(guid(() => 0), '00000000-0000-4000-8000-000000000000');
  });
});

describe('sample inventory updates', () => {
  test('chains per product: each PreviousStock is the product\'s last NewStock, and stock never goes negative', () => {
    const stock = new Map<string, number>([['PROD001', 38]]);
    const rows = [...sampleInventoryUpdates(3000, 'STORE001', NOW, seededRandom(3), stock, sampleIds(3))];
    const last = new Map<string, number>([['PROD001', 38]]);
    for (const r of rows) {
      const before = last.get(r.ProductId);
      // A product the map does not know yet starts from a stock of 50 to 99.
      assert.ok(before === undefined ? r.PreviousStock >= 50 && r.PreviousStock < 100 : r.PreviousStock === before, `${r.ProductId}: ${r.PreviousStock} after ${before}`);
      assert.ok(r.NewStock >= 0 && r.PreviousStock >= 0);
      last.set(r.ProductId, r.NewStock);
    }
    assert.deepEqual(stock, last, 'the map handed in holds the final stock');
  });

  test('seeding twice into the fixture database continues every product\'s chain from the rows already there', () => {
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    seedDb(file, 10, 200, 5);
    seedDb(file, 10, 200, 6);
    const rows = query<{ ProductId: string; PreviousStock: number; NewStock: number }>(
      file,
      `SELECT "ProductId", "PreviousStock", "NewStock" FROM "InventoryUpdates" ORDER BY rowid`,
    );
    assert.equal(rows.length, 402);
    // Each product's rows, in order: every PreviousStock is the NewStock before it.
    const chains = new Map<string, typeof rows>();
    for (const r of rows) chains.set(r.ProductId, [...(chains.get(r.ProductId) ?? []), r]);
    for (const [product, chain] of chains) {
      assert.deepEqual(chain.slice(1).map((r) => r.PreviousStock), chain.slice(0, -1).map((r) => r.NewStock), product);
    }
    // The second seeding continued chains from rows that were there (the fixture's 2, the first 200).
    const firstSeeding = new Set(rows.slice(0, 202).map((r) => r.ProductId));
    assert.ok(rows.slice(202).some((r) => firstSeeding.has(r.ProductId)), 'no chain crossed the two seedings');
  });
});

describe('sample ids', () => {
  test('seeding 200,000 rows gives 200,000 different ids across both tables', () => {
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 150_000, 50_000, 9);
    const counts = query<{ rows: number; ids: number }>(
      file,
      `SELECT count(*) AS rows, count(DISTINCT "Id") AS ids FROM (SELECT "Id" FROM "PosTransactions" UNION ALL SELECT "Id" FROM "InventoryUpdates")`,
    )[0]!;
    assert.deepEqual(counts, { rows: 200_000, ids: 200_000 });
  });

  test('the same seed repeats the ids, a seed beyond 32 bits gives others than its low 32 bits', () => {
    const take = (seed: number, n: number) => Array.from({ length: n }, sampleIds(seed));
    assert.deepEqual(take(7, 100), take(7, 100));
    assert.notDeepEqual(take(7 + 2 ** 32, 5), take(7, 5));
    for (const id of take(2 ** 53 - 1, 1000)) assert.match(id, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });

  test('122 bits vary: every one of the 122 non-fixed bit positions takes both values within 2,000 ids', () => {
    const seen0 = new Array<boolean>(128).fill(false);
    const seen1 = new Array<boolean>(128).fill(false);
    for (const id of Array.from({ length: 2000 }, sampleIds(1))) {
      const bits = BigInt(`0x${id.replace(/-/g, '')}`);
      for (let i = 0; i < 128; i++) ((bits >> BigInt(i)) & 1n ? seen1 : seen0)[i] = true;
    }
    const varying = seen0.filter((z, i) => z && seen1[i]).length;
    assert.equal(varying, 122);
  });
});
