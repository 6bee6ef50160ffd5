// Rows a buggy POS really can write, through the real binary. SQLite's column affinity
// decides what can land in a column: the seed's money and date columns have TEXT affinity (a
// REAL 12.5 becomes the text '12.5'), its quantities INTEGER affinity (the text 'two' stays
// text), and a BLOB stays a BLOB anywhere — even in the Id primary key. NOT NULL columns cannot
// hold NULL. Every such row must be held locally (never sent), listed by status with the reason
// (also in LastSyncError), exit 65 (a data error) — and never counted as the central's refusal nor
// dead-lettered as one; the rows around it are delivered; odd-but-valid rows are delivered exactly
// as written; and no business column changes.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { withState } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';
import { businessSnapshot, countPending, passArgs, Processes, testSeed, writeSettings } from './helpers/torture.js';

const SEED = testSeed(7_005);
const tmp = tmpDirs('bad-rows');
const procs = new Processes();
let central: RunningCentral;

before(async () => {
  central = await startCentral({ seed: SEED });
});

after(async () => {
  await procs.killAll();
  await central?.close();
  tmp.cleanup();
});

const TX_COLUMNS = ['Id', 'TransactionId', 'StoreId', 'ProductId', 'TransactionType', 'Quantity', 'UnitPrice', 'TotalAmount', 'TransactionDate', 'CreatedAt', 'Synced', 'SyncAttempts', 'Metadata', 'Reference', 'Notes'];
const INV_COLUMNS = ['Id', 'StoreId', 'ProductId', 'PreviousStock', 'NewStock', 'UpdateType', 'UpdateDate', 'CreatedAt', 'Synced', 'SyncAttempts', 'Reason', 'TransactionId'];

/** SQL literals of a valid row; each case overrides a column or two. */
function txRow(n: number, over: Record<string, string> = {}): Record<string, string> {
  return {
    Id: `'BAD00000-0000-4000-8000-${String(n).padStart(12, '0')}'`,
    TransactionId: `'TX-BAD-${n}'`,
    StoreId: `'STORE001'`,
    ProductId: `'PROD001'`,
    TransactionType: `'Sale'`,
    Quantity: '2',
    UnitPrice: `'12.50'`,
    TotalAmount: `'25.00'`,
    TransactionDate: `'2025-10-21 14:03:11.1234567'`,
    CreatedAt: `'2025-10-21 14:03:11.1300000'`,
    Synced: '0',
    SyncAttempts: '0',
    Metadata: 'NULL',
    Reference: `'REF-BAD-${n}'`,
    Notes: 'NULL',
    ...over,
  };
}

function invRow(n: number, over: Record<string, string> = {}): Record<string, string> {
  return {
    Id: `'BAD10000-0000-4000-8000-${String(n).padStart(12, '0')}'`,
    StoreId: `'STORE001'`,
    ProductId: `'PROD002'`,
    PreviousStock: '10',
    NewStock: '9',
    UpdateType: `'Sale'`,
    UpdateDate: `'2025-10-21 14:03:11.1234567'`,
    CreatedAt: `'2025-10-21 14:03:11.1300000'`,
    Synced: '0',
    SyncAttempts: '0',
    Reason: `'Till sale'`,
    TransactionId: 'NULL',
    ...over,
  };
}

interface BadRow {
  readonly what: string;
  readonly table: 'PosTransactions' | 'InventoryUpdates';
  readonly values: Record<string, string>;
  /** The column LastSyncError must name. */
  readonly column: string;
}

const BAD: readonly BadRow[] = [
  { what: 'a decimal comma (a till with the wrong locale)', table: 'PosTransactions', values: txRow(1, { UnitPrice: `'54,99'` }), column: 'UnitPrice' },
  { what: 'money with an exponent', table: 'PosTransactions', values: txRow(2, { UnitPrice: `'1.2e3'` }), column: 'UnitPrice' },
  { what: 'empty money', table: 'PosTransactions', values: txRow(3, { TotalAmount: `''` }), column: 'TotalAmount' },
  { what: 'money with 29 decimals (a .NET decimal stops at 28)', table: 'PosTransactions', values: txRow(4, { UnitPrice: `'0.${'3'.repeat(29)}'` }), column: 'UnitPrice' },
  { what: 'money past a .NET decimal (79228162514264337593543950336)', table: 'PosTransactions', values: txRow(18, { TotalAmount: `'79228162514264337593543950336'` }), column: 'TotalAmount' },
  { what: 'money as a BLOB', table: 'PosTransactions', values: txRow(5, { TotalAmount: `x'3132'` }), column: 'TotalAmount' },
  { what: 'text in the INTEGER Quantity', table: 'PosTransactions', values: txRow(6, { Quantity: `'two'` }), column: 'Quantity' },
  { what: 'a fractional Quantity', table: 'PosTransactions', values: txRow(7, { Quantity: '2.5' }), column: 'Quantity' },
  { what: 'a Quantity past 2^53 (would lose digits as a number)', table: 'PosTransactions', values: txRow(8, { Quantity: '9007199254740993' }), column: 'Quantity' },
  { what: 'a local date format', table: 'PosTransactions', values: txRow(9, { TransactionDate: `'21/10/2025 14:03'` }), column: 'TransactionDate' },
  { what: 'an impossible date', table: 'PosTransactions', values: txRow(10, { TransactionDate: `'2025-02-30 10:00:00'` }), column: 'TransactionDate' },
  { what: 'a Unix time in the date column', table: 'PosTransactions', values: txRow(11, { TransactionDate: '1729500000' }), column: 'TransactionDate' },
  { what: 'an empty StoreId', table: 'PosTransactions', values: txRow(12, { StoreId: `''` }), column: 'StoreId' },
  { what: 'a blank ProductId', table: 'PosTransactions', values: txRow(13, { ProductId: `'   '` }), column: 'ProductId' },
  { what: 'a BLOB ProductId', table: 'PosTransactions', values: txRow(14, { ProductId: `x'00'` }), column: 'ProductId' },
  { what: 'BLOB Notes', table: 'PosTransactions', values: txRow(15, { Notes: `x'DEADBEEF'` }), column: 'Notes' },
  { what: 'BLOB Metadata', table: 'PosTransactions', values: txRow(16, { Metadata: `x'7B7D'` }), column: 'Metadata' },
  { what: 'a BLOB Id (the primary key)', table: 'PosTransactions', values: txRow(17, { Id: `x'0102030405'` }), column: 'Id' },
  { what: 'text in PreviousStock', table: 'InventoryUpdates', values: invRow(1, { PreviousStock: `'ten'` }), column: 'PreviousStock' },
  { what: 'a fractional NewStock', table: 'InventoryUpdates', values: invRow(2, { NewStock: '1.5' }), column: 'NewStock' },
  { what: 'an empty UpdateDate', table: 'InventoryUpdates', values: invRow(3, { UpdateDate: `''` }), column: 'UpdateDate' },
  { what: 'a BLOB Reason', table: 'InventoryUpdates', values: invRow(4, { Reason: `x'FF'` }), column: 'Reason' },
  { what: 'a BLOB inventory Id', table: 'InventoryUpdates', values: invRow(5, { Id: `x'0A0B'` }), column: 'Id' },
];

interface OddRow {
  readonly what: string;
  readonly table: 'PosTransactions' | 'InventoryUpdates';
  readonly values: Record<string, string>;
  /** Fields of the event the central must have stored, exactly. */
  readonly expect: Record<string, unknown>;
}

const ODD_BUT_VALID: readonly OddRow[] = [
  { what: 'a REAL 12.5 (TEXT affinity stored it as the text "12.5")', table: 'PosTransactions', values: txRow(101, { UnitPrice: '12.5', TotalAmount: '25.0' }), expect: { unitPrice: '12.5', totalAmount: '25.0' } },
  { what: 'a return with negative money', table: 'PosTransactions', values: txRow(102, { TransactionType: `'Return'`, Quantity: '-1', UnitPrice: `'0.50'`, TotalAmount: `'-0.50'` }), expect: { quantity: -1, totalAmount: '-0.50' } },
  { what: 'a Quantity written as text "7" (INTEGER affinity made it 7)', table: 'PosTransactions', values: txRow(103, { Quantity: `'7'`, TotalAmount: `'87.50'` }), expect: { quantity: 7 } },
  { what: 'Unicode and a NUL in Notes', table: 'PosTransactions', values: txRow(104, { Notes: `'Café ☕ — 𝄞 ' || char(0) || ' end'` }), expect: { notes: 'Café ☕ — 𝄞 \u0000 end' } },
  { what: 'a seven-digit fraction in the date', table: 'PosTransactions', values: txRow(105), expect: { occurredAt: '2025-10-21T14:03:11.1234567Z' } },
  { what: 'money with ten decimals', table: 'PosTransactions', values: txRow(106, { UnitPrice: `'0.0000000001'`, TotalAmount: `'0.0000000002'` }), expect: { unitPrice: '0.0000000001' } },
  // What EF Core writes for .NET decimals: 10m/3m (28 decimals), the largest, the smallest, scale 28.
  {
    what: 'a .NET decimal of 29 significant digits (10m/3m and decimal.MaxValue)',
    table: 'PosTransactions',
    values: txRow(107, { UnitPrice: `'3.3333333333333333333333333333'`, TotalAmount: `'79228162514264337593543950335'` }),
    expect: { unitPrice: '3.3333333333333333333333333333', totalAmount: '79228162514264337593543950335' },
  },
  {
    what: 'decimal.MinValue and a scale of 28',
    table: 'PosTransactions',
    values: txRow(108, { UnitPrice: `'0.0000000000000000000000000001'`, TotalAmount: `'-79228162514264337593543950335'` }),
    expect: { unitPrice: '0.0000000000000000000000000001', totalAmount: '-79228162514264337593543950335' },
  },
  // TEXT affinity keeps a REAL's round-trip digits: 0.1 + 0.2 lands as '0.30000000000000004', which
  // is a value a decimal holds: it goes out exactly as stored, as any decimal text does.
  { what: 'a REAL 0.1 + 0.2, stored as the text "0.30000000000000004"', table: 'PosTransactions', values: txRow(109, { UnitPrice: String(0.1 + 0.2) }), expect: { unitPrice: '0.30000000000000004' } },
  { what: 'stock going negative (an oversold shelf)', table: 'InventoryUpdates', values: invRow(101, { PreviousStock: '0', NewStock: '-3' }), expect: { quantityChange: -3 } },
];

test(`bad rows a buggy POS wrote are held and listed, never sent nor dead-lettered; the rest, odd ones included, arrive exactly (seed ${SEED})`, async (t) => {
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  const config = writeSettings(dir, { Sync: { MaxRejections: 2, RetryDelayMinutes: 0, BatchSize: 7 } });
  const args = passArgs({ config, db, state: path.join(dir, 'pos-sync.state.json') }, central.url);
  const seeded = await procs.startPass([...args, 'seed', '--transactions', '20', '--inventory', '10', '--random-seed', String(SEED)], { cwd: dir, timeoutMs: 60_000 }).done;
  assert.equal(seeded.code, 0, seeded.stderr);

  // Interleaved with good rows, so refusals happen inside batches that also deliver.
  const conn = new Sqlite(db);
  const insert = (table: string, values: Record<string, string>): void => {
    const columns = table === 'PosTransactions' ? TX_COLUMNS : INV_COLUMNS;
    conn.exec(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => values[c]).join(', ')})`);
  };
  for (const row of [...BAD, ...ODD_BUT_VALID]) insert(row.table, row.values);
  const badRowids = new Map<BadRow, number>();
  for (const row of BAD) {
    badRowids.set(row, conn.prepare(`SELECT rowid FROM "${row.table}" WHERE "Id" = ${row.values['Id']}`).pluck().get() as number);
  }
  const types = conn.prepare(`SELECT typeof("UnitPrice") FROM "PosTransactions" WHERE "Id" = ${txRow(101)['Id']}`).pluck().get();
  assert.equal(types, 'text', 'TEXT affinity should have turned the REAL into text');
  conn.close();
  const businessBefore = businessSnapshot(db);

  const exits: number[] = [];
  for (let i = 0; i < 4; i++) {
    const run = await procs.startPass([...args, 'sync'], { cwd: dir, timeoutMs: 30_000 }).done;
    assert.ok(run.code === 0 || run.code === 65, `pass ${i + 1} exited ${run.code}: ${run.stderr.slice(-800)}`);
    assert.doesNotMatch(run.stderr, /internal error/);
    exits.push(run.code!);
  }
  t.diagnostic(`passes exited ${exits.join(', ')}`);
  assert.equal(countPending(db), BAD.length, 'the bad rows wait, every other row was delivered');
  assert.deepEqual(exits, [65, 65, 65, 65], 'each pass met the bad rows (RetryDelayMinutes 0): a data error, exit 65');
  const status = await procs.startPass([...args, '--json', 'status'], { cwd: dir, timeoutMs: 30_000 }).done;
  const listed = (JSON.parse(status.stdout) as { unreadable: { total: number; rows: { reason: string }[] } }).unreadable;
  assert.equal(listed.total, BAD.length, 'status lists every row it cannot read');
  for (const row of BAD) assert.ok(listed.rows.some((r) => new RegExp(`\\b${row.column}\\b`).test(r.reason)), `${row.what}: not listed with its column`);

  const read = new Sqlite(db, { readonly: true });
  try {
    for (const row of BAD) {
      const state = read
        .prepare(`SELECT "Synced", "SyncRejections", "DeadLetteredAt", "LastSyncError" FROM ${withState(row.table as 'PosTransactions' | 'InventoryUpdates')} WHERE rowid = ?`)
        .get(badRowids.get(row)) as { Synced: number; SyncRejections: number; DeadLetteredAt: string | null; LastSyncError: string | null };
      assert.equal(state.Synced, 0, `${row.what}: marked synced`);
      assert.equal(state.SyncRejections, 0, `${row.what}: counted as refused`);
      assert.equal(state.DeadLetteredAt, null, `${row.what}: dead-lettered`);
      assert.match(state.LastSyncError ?? '', new RegExp(`invalid row: ${row.column}\\b`), `${row.what}: LastSyncError does not name ${row.column}`);
    }
    const good = read.prepare(`SELECT count(*) FROM "PosTransactions" WHERE "Synced" = 1`).pluck().get() as number;
    const goodInv = read.prepare(`SELECT count(*) FROM "InventoryUpdates" WHERE "Synced" = 1`).pluck().get() as number;
    assert.equal(good + goodInv, 30 + ODD_BUT_VALID.length, 'every good and odd-but-valid row is synced');
  } finally {
    read.close();
  }

  const sentIds = new Set(central.receivedIds());
  // No bad row reached the central. The two with a BLOB Id have no text id to look for: the
  // central's count of refused events below covers them.
  const textIds = BAD.flatMap((row) => (row.values['Id']!.startsWith("'") ? [{ what: row.what, id: row.values['Id']!.slice(1, -1) }] : []));
  assert.equal(textIds.length, BAD.length - 2);
  assert.deepEqual(textIds.filter((r) => sentIds.has(r.id)).map((r) => r.what), [], 'bad rows sent to the central');
  assert.equal(central.stats().eventsRejected, 0, 'the central never saw a bad row');
  assert.equal(central.stats().duplicateIds, 0);

  const stored = new Map(central.events().map((e) => [e.id, e.event as Record<string, unknown>]));
  for (const row of ODD_BUT_VALID) {
    const event = stored.get(row.values['Id']!.slice(1, -1));
    assert.ok(event, `${row.what}: not delivered`);
    for (const [field, value] of Object.entries(row.expect)) assert.deepEqual(event[field], value, `${row.what}: ${field}`);
  }

  const businessAfter = businessSnapshot(db);
  assert.deepEqual([...businessAfter], [...businessBefore], 'pos-sync changed a business column');
});
