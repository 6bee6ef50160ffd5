// The Kafka event for a delivered row, byte for byte in the seed's format (pos-sync-central(7) KAFKA).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import type { SqlValue, TransactionRow } from '../src/domain/rows.js';
import { buildInventoryMessage, buildKafkaMessage, buildTransactionMessage, type MessageResult } from '../src/kafka/message.js';
import { crc32, seedPartition } from '../src/kafka/partitioner.js';
import { FIXTURE_SALE_UPDATE } from './helpers/fixture-rows.js';

// Rows as in ../shared/fixtures/seed-efcore.sql.
const sale: TransactionRow = {
  rowid: 1,
  Id: '9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A',
  TransactionId: 'TX-20251021-0001',
  StoreId: 'STORE001',
  ProductId: 'PROD001',
  TransactionType: 'Sale',
  Quantity: 2,
  UnitPrice: '12.5',
  TotalAmount: '25.0',
  TransactionDate: '2025-10-21 14:03:11.1234567',
  CreatedAt: '2025-10-21 14:03:11.2000000',
  Metadata: null,
  Reference: 'REF638652913911234567001',
  Notes: 'Sample transaction 1',
};

const saleUpdate = FIXTURE_SALE_UPDATE;

const context = { now: new Date('2025-10-21T14:03:20.500Z'), syncedAt: '2025-10-21 14:03:19.9876543' };

function ok(result: MessageResult) {
  if (!result.ok) assert.fail(`expected a message, got: ${result.error}`);
  return result.message;
}

function failure(result: MessageResult) {
  if (result.ok) assert.fail(`expected an error, got: ${result.message.value}`);
  return result;
}

describe('transaction event', () => {
  test('has the seed key, property names and order, money digits and headers', () => {
    const m = ok(buildTransactionMessage(sale, context));
    assert.equal(m.key, 'STORE001_PROD001');
    assert.equal(m.rowId, sale.Id);
    assert.equal(m.entity, 'transaction');
    assert.equal(
      m.value,
      '{"EventType":"TransactionSynced","Timestamp":"2025-10-21T14:03:20.5Z","StoreId":"STORE001",' +
        '"TransactionId":"TX-20251021-0001","ProductId":"PROD001","TransactionType":"Sale","Quantity":2,' +
        '"UnitPrice":12.5,"TotalAmount":25.0,"TransactionDate":"2025-10-21T14:03:11.1234567Z",' +
        '"SyncedAt":"2025-10-21T14:03:19.9876543Z"}',
    );
    assert.deepEqual(m.headers, {
      'store-id': 'STORE001',
      'event-type': 'transaction',
      timestamp: '2025-10-21T14:03:11.1234567Z',
      id: '9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A',
    });
  });

  test('buildKafkaMessage dispatches on the entity', () => {
    assert.deepEqual(buildKafkaMessage({ entity: 'transaction', row: sale }, context), buildTransactionMessage(sale, context));
    assert.deepEqual(buildKafkaMessage({ entity: 'inventory', row: saleUpdate }, context), buildInventoryMessage(saleUpdate, context));
  });

  test('SyncedAt may be a Date (rows synced in this pass)', () => {
    const m = ok(buildTransactionMessage(sale, { now: context.now, syncedAt: new Date('2025-10-21T14:03:19.120Z') }));
    assert.match(m.value, /"SyncedAt":"2025-10-21T14:03:19\.12Z"}$/);
  });
});

describe('inventory event', () => {
  test('has the seed key, UpdateId as the seed wrote a Guid, QuantityChange and headers', () => {
    const m = ok(buildInventoryMessage(saleUpdate, context));
    assert.equal(m.key, 'STORE001_PROD001');
    assert.equal(m.entity, 'inventory');
    assert.equal(
      m.value,
      '{"EventType":"InventoryUpdateSynced","Timestamp":"2025-10-21T14:03:20.5Z","StoreId":"STORE001",' +
        '"UpdateId":"5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9","ProductId":"PROD001","UpdateType":"Sale",' +
        '"QuantityChange":-2,"Reason":"Sale TX-20251021-0001","UpdateDate":"2025-10-21T14:03:11.1234567Z",' +
        '"SyncedAt":"2025-10-21T14:03:19.9876543Z"}',
    );
    assert.deepEqual(m.headers, {
      'store-id': 'STORE001',
      'event-type': 'inventory-update',
      timestamp: '2025-10-21T14:03:11.1234567Z',
      id: '5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9',
    });
  });

  test('a NULL Reason is JSON null; whole-second dates drop the fraction in JSON, keep 7 digits in the header', () => {
    const m = ok(buildInventoryMessage({ ...saleUpdate, Reason: null, UpdateDate: '2025-10-21 09:00:00', PreviousStock: 0, NewStock: 24 }, context));
    const value = JSON.parse(m.value) as Record<string, unknown>;
    assert.equal(value.Reason, null);
    assert.equal(value.QuantityChange, 24);
    assert.equal(value.UpdateDate, '2025-10-21T09:00:00Z');
    assert.equal(m.headers.timestamp, '2025-10-21T09:00:00.0000000Z');
  });

  test('a non-Guid Id is kept as it is in UpdateId', () => {
    const m = ok(buildInventoryMessage({ ...saleUpdate, Id: 'INV-42' }, context));
    assert.match(m.value, /"UpdateId":"INV-42"/);
  });
});

describe('money keeps the stored digits as a JSON number token', () => {
  const cases: ReadonlyArray<[SqlValue, string]> = [
    ['54.99', '54.99'],
    ['25.0', '25.0'],
    ['0.10', '0.10'],
    [' 7.50 ', '7.50'],
    ['+3', '3'],
    ['007.5', '7.5'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['-0.10', '-0.10'],
    ['12345678901234567890.12', '12345678901234567890.12'], // beyond a double's exact range
    [12.5, '12.5'],
    [3, '3'],
    [10n, '10'],
  ];
  for (const [stored, token] of cases) {
    test(`${typeof stored} ${String(stored)} → ${token}`, () => {
      const m = ok(buildTransactionMessage({ ...sale, UnitPrice: stored }, context));
      assert.ok(m.value.includes(`"UnitPrice":${token},`), m.value);
      JSON.parse(m.value); // still valid JSON
    });
  }

  const bad: readonly SqlValue[] = ['abc', '1e5', '', '.', '-', '1,50', '12.5.1', null, Buffer.from('12.5'), Number.NaN, 1e21, '12345678901234567890123456789'];
  for (const stored of bad) {
    test(`${typeof stored} ${String(stored)} is refused, naming the column`, () => {
      const r = failure(buildTransactionMessage({ ...sale, TotalAmount: stored }, context));
      assert.match(r.error, /TotalAmount/);
      assert.equal(r.rowId, sale.Id);
    });
  }
});

describe('datetimes', () => {
  const good: ReadonlyArray<[string, string, string]> = [
    ['2025-10-21 14:05:42.5', '2025-10-21T14:05:42.5Z', '2025-10-21T14:05:42.5000000Z'],
    ['2025-10-21 15:00:00', '2025-10-21T15:00:00Z', '2025-10-21T15:00:00.0000000Z'],
    ['2025-10-21T15:00:00.1200000Z', '2025-10-21T15:00:00.12Z', '2025-10-21T15:00:00.1200000Z'],
    ['2024-02-29 23:59:59.9999999', '2024-02-29T23:59:59.9999999Z', '2024-02-29T23:59:59.9999999Z'],
    ['2000-02-29 00:00:00', '2000-02-29T00:00:00Z', '2000-02-29T00:00:00.0000000Z'],
  ];
  for (const [stored, json, header] of good) {
    test(`${stored} → ${json} / ${header}`, () => {
      const m = ok(buildTransactionMessage({ ...sale, TransactionDate: stored }, context));
      assert.equal((JSON.parse(m.value) as Record<string, unknown>).TransactionDate, json);
      assert.equal(m.headers.timestamp, header);
    });
  }

  const bad: readonly SqlValue[] = ['2025-02-29 00:00:00', '1900-02-29 00:00:00', '2025-13-01 00:00:00', '2025-10-21 24:00:00', '2025-10-21', 'yesterday', '2025-10-21 15:00:00.12345678', '2025-10-21 15:00:00+02:00', 1729519391, null];
  for (const stored of bad) {
    test(`${String(stored)} is refused`, () => {
      assert.match(failure(buildTransactionMessage({ ...sale, TransactionDate: stored }, context)).error, /TransactionDate/);
    });
  }

  test('an unusable SyncedAt is refused', () => {
    assert.match(failure(buildTransactionMessage(sale, { now: context.now, syncedAt: null })).error, /SyncedAt/);
  });
});

describe('unusable rows give an error result, never a throw', () => {
  const cases: ReadonlyArray<[string, Partial<Record<Exclude<keyof TransactionRow, 'rowid'>, SqlValue>>, RegExp]> = [
    ['NULL StoreId', { StoreId: null }, /StoreId must be text \(NULL\)/],
    ['empty ProductId', { ProductId: '  ' }, /ProductId is empty/],
    ['empty TransactionId', { TransactionId: '' }, /TransactionId is empty/],
    ['numeric TransactionType', { TransactionType: 5 }, /TransactionType must be text/],
    ['text Quantity', { Quantity: 'two' }, /Quantity must be a whole number/],
    ['fractional Quantity', { Quantity: 2.5 }, /Quantity/],
    ['Quantity past int32', { Quantity: 2 ** 31 }, /Quantity/],
  ];
  for (const [name, change, error] of cases) {
    test(name, () => {
      const r = failure(buildTransactionMessage({ ...sale, ...change }, context));
      assert.match(r.error, error);
      assert.match(r.error, /^row 9B0C2F1E-/);
    });
  }

  test('bigint Quantity within int32 is fine', () => {
    assert.match(ok(buildTransactionMessage({ ...sale, Quantity: 7n }, context)).value, /"Quantity":7,/);
  });

  test('inventory stocks must be whole numbers', () => {
    assert.match(failure(buildInventoryMessage({ ...saleUpdate, NewStock: null }, context)).error, /NewStock/);
    assert.match(failure(buildInventoryMessage({ ...saleUpdate, Reason: 3 }, context)).error, /Reason/);
  });

  for (const id of [null, '', 42, Buffer.from([1, 2])] as const) {
    test(`Id ${String(id)} → no rowId`, () => {
      const r = failure(buildInventoryMessage({ ...saleUpdate, Id: id }, context));
      assert.equal(r.rowId, undefined);
      assert.match(r.error, /no usable Id/);
    });
  }

  test('an invalid clock is refused too', () => {
    assert.match(failure(buildTransactionMessage(sale, { now: new Date(Number.NaN), syncedAt: new Date() })).error, /now/);
  });
});

describe('partition placement follows librdkafka (the seed)', () => {
  test('CRC-32 check value', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array()), 0);
  });

  test('agrees with zlib for assorted keys', (t) => {
    const zlibCrc = (zlib as { crc32?: (data: string | Uint8Array) => number }).crc32;
    if (!zlibCrc) return t.skip('zlib.crc32 needs Node 20.15+');
    for (const key of ['STORE001_PROD001', 'STORE042_PROD-9', 'ÄÖÜ_€', 'x'.repeat(1000)]) {
      assert.equal(crc32(new TextEncoder().encode(key)), zlibCrc(key), key);
    }
  });

  test('CRC-32 of the key modulo the partition count', () => {
    const key = 'STORE001_PROD001';
    const crc = crc32(new TextEncoder().encode(key));
    for (const n of [1, 2, 3, 6, 12]) assert.equal(seedPartition(key, n), crc % n);
    assert.throws(() => seedPartition(key, 0), RangeError);
  });
});
