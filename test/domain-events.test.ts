// Rows → events (pos-sync-central(7)): money stays the stored decimal text, EF datetimes keep all 7 fraction
// digits, and a row the POS wrote wrongly becomes an invalid-row result, never an exception.
// Also the EF Core datetime helpers (pos-sync-operations(7) THE LOCAL DATABASE).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { inventoryEvent, singlePayload, toEvent, transactionEvent } from '../src/domain/events.js';
import type { InventoryRow, SqlValue, TransactionRow } from '../src/domain/rows.js';
import { dbTimeToIso, formatDbTime, parseDbTime } from '../src/domain/time.js';
import { FIXTURE_SALE_UPDATE } from './helpers/fixture-rows.js';

const TX: TransactionRow = {
  rowid: 2,
  Id: '1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6',
  TransactionId: 'TX-20251021-0002',
  StoreId: 'STORE001',
  ProductId: 'PROD003',
  TransactionType: 'Sale',
  Quantity: 1,
  UnitPrice: '54.99',
  TotalAmount: '54.99',
  TransactionDate: '2025-10-21 14:05:42.5',
  CreatedAt: '2025-10-21 14:05:42.6',
  Metadata: '{"register":"R2","cashier":"C17"}',
  Reference: 'REF638652913911234567002',
  Notes: null,
};

const INV = FIXTURE_SALE_UPDATE;

describe('transaction rows → events', () => {
  test('a fixture sale maps field by field; money stays decimal text', () => {
    const mapped = transactionEvent(TX);
    assert.deepEqual(mapped, {
      ok: true,
      value: {
        id: '1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6',
        entity: 'transaction',
        storeId: 'STORE001',
        productId: 'PROD003',
        type: 'Sale',
        occurredAt: '2025-10-21T14:05:42.5Z',
        transactionId: 'TX-20251021-0002',
        quantity: 1,
        unitPrice: '54.99',
        totalAmount: '54.99',
        reference: 'REF638652913911234567002',
        notes: null,
        metadata: '{"register":"R2","cashier":"C17"}',
      },
    });
    assert.ok(mapped.ok);
    assert.match(JSON.stringify(mapped.value), /"unitPrice":"54\.99","totalAmount":"54\.99"/);
  });

  const money: Array<[string, string]> = [
    ['12.5', 'EF Core trims trailing zeros'],
    ['25.0', 'a trailing zero EF kept'],
    ['0.10', 'leading zero and trailing zero'],
    ['-12.50', 'a refund'],
    ['3', 'no fraction'],
    ['0.1', 'a float would print 0.1 too, but 0.1+0.2 would not'],
    ['999999999999999999.9999999999', '18 integer and 10 fraction digits: more than a double holds'],
    ['1234567.89', 'large till total'],
    ['3.3333333333333333333333333333', '10m/3m: 29 significant digits, scale 28'],
    ['79228162514264337593543950335', 'decimal.MaxValue'],
    ['-79228162514264337593543950335', 'decimal.MinValue'],
    ['7.9228162514264337593543950335', 'the largest mantissa at scale 28'],
    ['0.0000000000000000000000000001', 'the smallest step, scale 28'],
    ['1.0000000000000000000000000000', 'trailing zeros kept: a decimal keeps its scale'],
    ['-0.00', 'a negative zero with scale, as .NET may print it'],
  ];
  for (const [text, why] of money) {
    test(`UnitPrice/TotalAmount "${text}" is sent as exactly that string (${why})`, () => {
      const mapped = transactionEvent({ ...TX, UnitPrice: text, TotalAmount: text });
      assert.ok(mapped.ok);
      assert.equal(mapped.value.unitPrice, text);
      assert.equal(mapped.value.totalAmount, text);
      assert.ok(JSON.stringify(mapped.value).includes(`"unitPrice":"${text}"`));
    });
  }

  test('7-digit EF datetime fractions are kept to the last digit', () => {
    const mapped = transactionEvent({ ...TX, TransactionDate: '2025-10-21 14:03:11.1234567' });
    assert.ok(mapped.ok);
    assert.equal(mapped.value.occurredAt, '2025-10-21T14:03:11.1234567Z');
  });

  const invalid: Array<{ column: keyof TransactionRow; value: SqlValue; why: string }> = [
    { column: 'UnitPrice', value: null, why: 'NULL money' },
    { column: 'UnitPrice', value: 54.99, why: 'a float where EF writes TEXT: refuse to guess its decimal' },
    { column: 'UnitPrice', value: 55, why: 'an integer where EF writes TEXT' },
    { column: 'TotalAmount', value: '54,99', why: 'a decimal comma' },
    { column: 'TotalAmount', value: '5.499E1', why: 'an exponent' },
    { column: 'TotalAmount', value: '', why: 'empty money' },
    { column: 'TotalAmount', value: ' 54.99', why: 'padded money' },
    { column: 'TotalAmount', value: 'NaN', why: 'not a number' },
    { column: 'TotalAmount', value: '79228162514264337593543950336', why: 'one past decimal.MaxValue' },
    { column: 'TotalAmount', value: '792281625142643375935439503350', why: '30 digits' },
    { column: 'TotalAmount', value: '0.33333333333333333333333333333', why: 'scale 29: beyond a decimal' },
    { column: 'TotalAmount', value: '7.92281625142643375935439503351', why: 'a mantissa past the 96-bit limit at scale 29' },
    { column: 'TotalAmount', value: '1.', why: 'a point without digits' },
    { column: 'TotalAmount', value: '+1.00', why: 'a plus sign (.NET never writes one)' },
    { column: 'Quantity', value: null, why: 'NULL quantity' },
    { column: 'Quantity', value: '2', why: 'quantity as text' },
    { column: 'Quantity', value: 1.5, why: 'a fractional quantity' },
    { column: 'Quantity', value: 2n ** 60n, why: 'a quantity beyond 2^53' },
    { column: 'StoreId', value: null, why: 'NULL store' },
    { column: 'StoreId', value: '   ', why: 'blank store' },
    { column: 'ProductId', value: 7, why: 'a number where text belongs' },
    { column: 'TransactionType', value: Buffer.from('Sale'), why: 'a BLOB' },
    { column: 'TransactionId', value: null, why: 'NULL TransactionId' },
    { column: 'TransactionDate', value: null, why: 'NULL date' },
    { column: 'TransactionDate', value: '21/10/2025 14:03', why: 'a local date format' },
    { column: 'TransactionDate', value: '2025-02-30 10:00:00', why: 'an impossible date' },
    { column: 'TransactionDate', value: '2025-10-21 24:00:00', why: 'hour 24' },
    { column: 'TransactionDate', value: '2025-10-21 14:03:11.12345678', why: 'more than 7 fraction digits' },
    { column: 'TransactionDate', value: '2025-10-21 14:03:11+02:00', why: 'a non-UTC offset' },
    { column: 'TransactionDate', value: 1761055391, why: 'epoch seconds as a number' },
    { column: 'Notes', value: 5, why: 'optional text holding a number' },
    { column: 'Metadata', value: Buffer.from('{}'), why: 'optional text holding a BLOB' },
    { column: 'Id', value: null, why: 'NULL id' },
    { column: 'Id', value: 17, why: 'a numeric id' },
    { column: 'Id', value: '', why: 'an empty id' },
  ];
  for (const row of invalid) {
    test(`${String(row.column)} = ${typeof row.value === 'bigint' ? `${row.value}n` : Buffer.isBuffer(row.value) ? 'BLOB' : JSON.stringify(row.value)} → invalid row (${row.why})`, () => {
      const mapped = transactionEvent({ ...TX, [row.column]: row.value });
      assert.equal(mapped.ok, false);
      assert.ok(!mapped.ok);
      assert.match(mapped.error, /^invalid row: /);
      assert.ok(mapped.error.includes(String(row.column)), mapped.error);
      assert.equal(mapped.id, row.column === 'Id' ? (row.value === null ? 'null' : String(row.value)) : TX.Id);
    });
  }

  test('a bigint within the safe range is fine (better-sqlite3 with safeIntegers)', () => {
    const mapped = transactionEvent({ ...TX, Quantity: 3n });
    assert.ok(mapped.ok);
    assert.equal(mapped.value.quantity, 3);
  });

  test('property: no row shape ever throws', () => {
    const value = fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.double(),
      fc.integer(),
      fc.bigInt(),
      fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)),
    );
    const mapped = { events: 0, refusals: 0 };
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...(Object.keys(TX) as (keyof TransactionRow)[]).filter((k) => k !== 'rowid')), value), (overrides) => {
        const row = { ...TX, ...overrides } as TransactionRow;
        const t = toEvent('transaction', row);
        const i = toEvent('inventory', { ...INV, ...overrides } as unknown as InventoryRow);
        for (const m of [t, i]) {
          // An event, or a refusal that names the row and says why: never a throw.
          if (m.ok) {
            mapped.events++;
            assert.equal(typeof m.value.id, 'string');
          } else {
            mapped.refusals++;
            assert.equal(typeof m.id, 'string');
            assert.match(m.error, /^invalid row: /);
          }
        }
      }),
      { seed: 12, numRuns: 1000 },
    );
    assert.ok(mapped.events > 0 && mapped.refusals > 0, `both ways must come up: ${JSON.stringify(mapped)}`);
  });
});

describe('inventory rows → events', () => {
  test('a fixture update maps, with quantityChange = NewStock - PreviousStock', () => {
    assert.deepEqual(inventoryEvent(INV), {
      ok: true,
      value: {
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
      },
    });
  });

  test('a restock from zero without a transaction', () => {
    const mapped = inventoryEvent({ ...INV, PreviousStock: 0, NewStock: 24, UpdateType: 'Restock', TransactionId: null, Reason: null });
    assert.ok(mapped.ok);
    assert.equal(mapped.value.quantityChange, 24);
    assert.equal(mapped.value.transactionId, null);
    assert.equal(mapped.value.reason, null);
  });

  const invalid: Array<{ column: keyof InventoryRow; value: SqlValue }> = [
    { column: 'PreviousStock', value: null },
    { column: 'NewStock', value: '38' },
    { column: 'NewStock', value: 3.5 },
    { column: 'UpdateDate', value: null },
    { column: 'UpdateType', value: '' },
    { column: 'TransactionId', value: 12 },
  ];
  for (const row of invalid) {
    test(`${String(row.column)} = ${JSON.stringify(row.value)} → invalid row`, () => {
      const mapped = inventoryEvent({ ...INV, [row.column]: row.value });
      assert.ok(!mapped.ok);
      assert.equal(mapped.id, INV.Id);
      assert.ok(mapped.error.includes(String(row.column)), mapped.error);
    });
  }
});

describe('the seed\'s single payload', () => {
  test('a transaction: seed field names, price as a JSON number', () => {
    const mapped = transactionEvent(TX);
    assert.ok(mapped.ok);
    const payload = singlePayload(mapped.value);
    assert.deepEqual(payload, {
      transactionId: 'TX-20251021-0002',
      storeId: 'STORE001',
      type: 'Sale',
      timestamp: '2025-10-21T14:05:42.5Z',
      productId: 'PROD003',
      quantity: 1,
      price: 54.99,
    });
    assert.equal(JSON.stringify(payload), '{"transactionId":"TX-20251021-0002","storeId":"STORE001","type":"Sale","timestamp":"2025-10-21T14:05:42.5Z","productId":"PROD003","quantity":1,"price":54.99}');
  });

  test('an inventory update: quantity = NewStock - PreviousStock, price 0, the related transaction or null', () => {
    const mapped = inventoryEvent(INV);
    assert.ok(mapped.ok);
    assert.deepEqual(singlePayload(mapped.value), {
      transactionId: '9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A',
      storeId: 'STORE001',
      type: 'Sale',
      timestamp: '2025-10-21T14:03:11.1234567Z',
      productId: 'PROD001',
      quantity: -2,
      price: 0,
    });
    const restock = inventoryEvent({ ...INV, TransactionId: null });
    assert.ok(restock.ok);
    assert.equal(singlePayload(restock.value).transactionId, null);
  });
});

describe('EF Core datetime text', () => {
  const toIso: Array<[string, string | undefined]> = [
    ['2025-10-21 14:03:11.1234567', '2025-10-21T14:03:11.1234567Z'],
    ['2025-10-21 14:03:11.2000000', '2025-10-21T14:03:11.2000000Z'],
    ['2025-10-21 14:05:42.5', '2025-10-21T14:05:42.5Z'],
    ['2025-10-21 15:00:00', '2025-10-21T15:00:00Z'],
    ['2025-10-21T15:00:00', '2025-10-21T15:00:00Z'],
    ['2025-10-21 15:00:00Z', '2025-10-21T15:00:00Z'],
    ['2025-10-21 15:00:00+00:00', '2025-10-21T15:00:00Z'],
    ['2024-02-29 23:59:59.9999999', '2024-02-29T23:59:59.9999999Z'],
    ['0001-01-01 00:00:00', '0001-01-01T00:00:00Z'],
    ['0099-12-31 23:59:59.9999999', '0099-12-31T23:59:59.9999999Z'],
    ['9999-12-31 23:59:59.9999999', '9999-12-31T23:59:59.9999999Z'],
    ['2025-02-29 00:00:00', undefined],
    ['0099-02-29 00:00:00', undefined],
    ['2025-13-01 00:00:00', undefined],
    ['2025-10-21 14:60:00', undefined],
    ['2025-10-21 14:03:60', undefined],
    ['2025-10-21', undefined],
    ['2025-10-21 14:03:11.', undefined],
    ['2025-10-21 14:03:11+01:00', undefined],
    ['', undefined],
  ];
  for (const [text, iso] of toIso) {
    test(`dbTimeToIso(${JSON.stringify(text)}) → ${iso}`, () => assert.equal(dbTimeToIso(text), iso));
  }

  test('property: the EF form (a space) reads as the same text with a T, which takes the general path', () => {
    const digits = (n: number): fc.Arbitrary<string> => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));
    const fraction = fc.oneof(fc.constant(''), fc.integer({ min: 1, max: 7 }).chain((n) => digits(n)).map((d) => `.${d}`));
    // Mostly real dates and times, with every field also out of range now and then.
    const field = (n: number, max: number): fc.Arbitrary<string> =>
      fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max }).map((v) => String(v).padStart(n, '0')) }, { weight: 1, arbitrary: digits(n) });
    fc.assert(
      fc.property(field(4, 9999), field(2, 12), field(2, 31), field(2, 23), field(2, 59), field(2, 59), fraction, (y, mo, d, h, mi, s, f) => {
        const rest = `${h}:${mi}:${s}${f}`;
        assert.equal(dbTimeToIso(`${y}-${mo}-${d} ${rest}`), dbTimeToIso(`${y}-${mo}-${d}T${rest}`));
      }),
      { numRuns: 3000 },
    );
  });

  test('parseDbTime truncates the fraction to milliseconds, as UTC', () => {
    assert.equal(parseDbTime('2025-10-21 14:03:11.1234567'), Date.parse('2025-10-21T14:03:11.123Z'));
    assert.equal(parseDbTime('2025-10-21 14:03:11.9999999'), Date.parse('2025-10-21T14:03:11.999Z'));
    assert.equal(parseDbTime('2025-10-21 14:05:42.5'), Date.parse('2025-10-21T14:05:42.500Z'));
    assert.equal(parseDbTime('2025-10-21 15:00:00'), Date.parse('2025-10-21T15:00:00Z'));
    assert.equal(parseDbTime('yesterday'), undefined);
    assert.equal(parseDbTime('0001-01-01 00:00:00'), Date.parse('0001-01-01T00:00:00Z'), "DateTime.MinValue, as EF writes it");
  });

  test('formatDbTime writes UTC in the seed\'s format, trailing fraction zeros dropped', () => {
    assert.equal(formatDbTime(Date.parse('2025-10-21T14:03:11.120Z')), '2025-10-21 14:03:11.12');
    assert.equal(formatDbTime(Date.parse('2025-10-21T14:03:11.000Z')), '2025-10-21 14:03:11');
    assert.equal(formatDbTime(Date.parse('2025-10-21T14:03:11.007Z')), '2025-10-21 14:03:11.007');
  });

  test('property: formatDbTime and parseDbTime round-trip every millisecond, and text order is time order', () => {
    const ms = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2099-12-31T23:59:59.999Z') });
    fc.assert(
      fc.property(ms, ms, (a, b) => {
        assert.equal(parseDbTime(formatDbTime(a)), a);
        const [ta, tb] = [formatDbTime(a), formatDbTime(b)];
        // NextAttemptAt <= now is compared as text in SQL: the order must match the times.
        assert.equal(Math.sign(ta < tb ? -1 : ta > tb ? 1 : 0), Math.sign(a - b));
      }),
      { seed: 21, numRuns: 2000 },
    );
  });
});

describe('the till in every event', () => {
  test('tillId comes last in both batch events; without one the event is as before', () => {
    const sale = transactionEvent(TX, 'till-2');
    const update = inventoryEvent(INV, 'till-2');
    assert.ok(sale.ok && update.ok);
    assert.equal(Object.keys(sale.value).at(-1), 'tillId');
    assert.equal(Object.keys(update.value).at(-1), 'tillId');
    assert.equal(sale.value.tillId, 'till-2');
    const { tillId: _sale, ...saleRest } = sale.value;
    assert.deepEqual(saleRest, (transactionEvent(TX) as { value: unknown }).value);
    assert.equal('tillId' in (transactionEvent(TX) as { value: object }).value, false);
    assert.equal(toEvent('inventory', INV, 'T9').ok && (toEvent('inventory', INV, 'T9') as { value: { tillId?: string } }).value.tillId, 'T9');
  });

  test('the seed\'s payload gains tillId after its own fields, unchanged otherwise', () => {
    const mapped = transactionEvent(TX, 'till-2');
    assert.ok(mapped.ok);
    assert.equal(
      JSON.stringify(singlePayload(mapped.value)),
      '{"transactionId":"TX-20251021-0002","storeId":"STORE001","type":"Sale","timestamp":"2025-10-21T14:05:42.5Z","productId":"PROD003","quantity":1,"price":54.99,"tillId":"till-2"}',
    );
    const restock = inventoryEvent({ ...INV, TransactionId: null }, 'till-2');
    assert.ok(restock.ok);
    assert.deepEqual(Object.keys(singlePayload(restock.value)), ['transactionId', 'storeId', 'type', 'timestamp', 'productId', 'quantity', 'price', 'tillId']);
  });
});
