// The local database (pos-sync-operations(7) THE LOCAL DATABASE): a database made from the seed's EF Core fixture opens and
// migrates by only adding; pending rows are found through the partial index, in the order the
// POS wrote them, also when most of a large table is synced; the sync columns are the only
// ones written.

import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Sqlite, { type Database, type Statement } from 'better-sqlite3';
import type { Entity } from '../src/domain/rows.js';
import { guid, seededRandom } from '../src/domain/sample.js';
import { ConfigError, LocalIoError } from '../src/errors.js';
import { openDatabase } from '../src/store/db.js';
import { countPending, entityBacklog, formatTimeSpan, parseTimeSpan } from '../src/store/history.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from '../src/store/migrations.js';
import { contentHash, imageOf, Queue, type SentRow } from '../src/store/queue.js';
import { buildFixtureDb, FIXTURE, readTable, withState } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('store');
after(() => tmp.cleanup());

const SEED_TABLES = ['PosTransactions', 'InventoryUpdates', 'SyncRetryLogs', 'SyncConfigurations', 'SyncServiceStatuses'];

function open(file: string, create = false): Database {
  return openDatabase({ path: file, create, autoMigrate: true, busyTimeoutMs: 1000 });
}

function columns(db: Database, table: string): Array<Record<string, unknown>> {
  return db.pragma(`table_info("${table}")`) as Array<Record<string, unknown>>;
}

function schemaObjects(db: Database): Map<string, string | null> {
  const rows = db.prepare(`SELECT type, name, sql FROM sqlite_master ORDER BY name`).all() as Array<{ type: string; name: string; sql: string | null }>;
  return new Map(rows.map((r) => [`${r.type} ${r.name}`, r.sql]));
}

function everything(file: string): Record<string, unknown[]> {
  return Object.fromEntries(SEED_TABLES.map((t) => [t, readTable(file, t)]));
}

function plan(db: Database, stmt: Statement, ...params: unknown[]): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${stmt.source}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
}

const NOW_TEXT = '2030-01-01 00:00:00';

describe('a database made from the seed fixture', () => {
  let file: string;
  let before_: { schema: Map<string, string | null>; columns: Record<string, unknown[]>; rows: Record<string, unknown[]> };

  before(() => {
    file = buildFixtureDb(path.join(tmp.make(), 'POS_Local.db'));
    const raw = new Sqlite(file, { readonly: true });
    before_ = {
      schema: schemaObjects(raw),
      columns: Object.fromEntries(SEED_TABLES.map((t) => [t, columns(raw, t)])),
      rows: {},
    };
    assert.equal(schemaVersion(raw), 0, 'the seed never sets user_version');
    raw.close();
    before_.rows = everything(file);
  });

  test('opens and migrates to the current schema version, in WAL mode', () => {
    const db = open(file);
    try {
      assert.equal(schemaVersion(db), SCHEMA_VERSION);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  test('setting up adds no column to the POS tables: every seed table is exactly as EF Core made it', () => {
    const db = open(file);
    try {
      for (const table of SEED_TABLES) assert.deepEqual(columns(db, table), before_.columns[table], `${table}: the seed's columns, nothing added`);
      const own = schemaObjects(db);
      assert.ok(own.has('table PosSync_RowState'), 'the bookkeeping is in a table of its own');
      assert.ok(own.has('table PosSync_Schema'));
      assert.equal(db.pragma('user_version', { simple: true }), 0, 'PRAGMA user_version is not used (other tools set it)');
    } finally {
      db.close();
    }
  });

  test('the migration only added: every seed index and table definition is still there', () => {
    const db = open(file);
    try {
      const now = schemaObjects(db);
      // Every seed table and index is still there, word for word.
      for (const [key, sql] of before_.schema) assert.equal(now.get(key), sql, `${key} is unchanged`);
      assert.ok([...before_.schema.keys()].some((key) => key.startsWith('index ')), 'the seed has indexes to compare');
      assert.ok(now.has('index IX_PosTransactions_PosSync_Pending'));
      assert.ok(now.has('index IX_InventoryUpdates_PosSync_Pending'));
      assert.match(now.get('index IX_PosTransactions_PosSync_Pending')!, /WHERE "Synced" = 0/);
    } finally {
      db.close();
    }
  });

  test('the migration changed no value the POS wrote (or the seed\'s sync columns)', () => {
    const db = open(file);
    db.close();
    const seedColumns = (rows: unknown[], table: string) => {
      const keep = (before_.columns[table] as Array<{ name: string }>).map((c) => c.name);
      return (rows as Array<Record<string, unknown>>).map((r) => Object.fromEntries(keep.map((k) => [k, r[k]])));
    };
    const now = everything(file);
    for (const t of SEED_TABLES) assert.deepEqual(seedColumns(now[t]!, t), before_.rows[t], t);
  });

  test('migrating again is a no-op', () => {
    const db = open(file);
    try {
      const schema = schemaObjects(db);
      assert.equal(migrate(db).version, SCHEMA_VERSION);
      assert.deepEqual(schemaObjects(db), schema);
    } finally {
      db.close();
    }
  });

  test('pending rows come out in the order the POS wrote them, the synced one never', () => {
    const db = open(file);
    try {
      const q = new Queue(db);
      assert.deepEqual(q.nextPending('transaction', 0, NOW_TEXT, 100).map((r) => r.Id), FIXTURE.pendingTransactions);
      assert.deepEqual(q.nextPending('inventory', 0, NOW_TEXT, 100).map((r) => r.Id), FIXTURE.pendingInventory);
      assert.equal(countPending(db, 'transaction'), 3);
      assert.equal(countPending(db, 'inventory'), 2);
      const first = q.nextPending('transaction', 0, NOW_TEXT, 1)[0]!;
      assert.deepEqual(q.nextPending('transaction', first.rowid, NOW_TEXT, 100).map((r) => r.Id), FIXTURE.pendingTransactions.slice(1));
    } finally {
      db.close();
    }
  });

  test('a row image lists the business columns in the order nextPending reads them (the content hash is of it)', () => {
    const db = open(file);
    try {
      const q = new Queue(db);
      for (const entity of ['transaction', 'inventory'] as const) {
        const rows = q.nextPending(entity, 0, NOW_TEXT, 100);
        assert.ok(rows.length > 0);
        for (const row of rows) {
          const [rowidKey, ...business] = Object.keys(row);
          assert.equal(rowidKey, 'rowid');
          assert.equal(imageOf(entity, row), JSON.stringify(business.map((k) => (row as unknown as Record<string, unknown>)[k])));
        }
      }
      // A reader with safeIntegers gets bigints: written as text, not thrown at.
      const [sale] = q.nextPending('transaction', 0, NOW_TEXT, 1);
      assert.match(imageOf('transaction', { ...sale!, Quantity: 3n }), /,"3n",/);
    } finally {
      db.close();
    }
  });

  test('values come back with their stored types: money and dates as text, quantities as integers', () => {
    const db = open(file);
    try {
      const [row] = new Queue(db).nextPending('transaction', 1, NOW_TEXT, 1);
      assert.equal(row?.UnitPrice, '54.99');
      assert.equal(row?.TotalAmount, '54.99');
      assert.equal(row?.TransactionDate, '2025-10-21 14:05:42.5');
      assert.equal(row?.Quantity, 1);
    } finally {
      db.close();
    }
  });
});

describe('a database pos-sync creates', () => {
  test('has the same seed tables and columns as the EF Core fixture', () => {
    const dir = tmp.make();
    const fixture = open(buildFixtureDb(path.join(dir, 'fixture.db')));
    const fresh = open(path.join(dir, 'fresh.db'), true);
    try {
      for (const t of SEED_TABLES) assert.deepEqual(columns(fresh, t), columns(fixture, t), t);
      const indexes = (db: Database) => [...schemaObjects(db).keys()].filter((k) => k.startsWith('index ') && !k.includes('autoindex')).sort();
      assert.deepEqual(indexes(fresh), indexes(fixture));
    } finally {
      fixture.close();
      fresh.close();
    }
  });
});

describe('opening fails with exit 74 (or 78) and a clear message', () => {
  test('a missing folder is never created', () => {
    const dir = path.join(tmp.make(), 'no', 'such');
    assert.throws(() => open(path.join(dir, 'pos.db'), true), (err: unknown) => {
      assert.ok(err instanceof LocalIoError);
      assert.equal(err.exitCode, 74);
      assert.match(err.message, /database folder .*no\/such does not exist/);
      return true;
    });
    assert.equal(fs.existsSync(dir), false);
  });

  test('a missing file when creating is not allowed', () => {
    const file = path.join(tmp.make(), 'pos.db');
    assert.throws(() => open(file, false), (err: unknown) => err instanceof LocalIoError && /does not exist/.test(err.message));
    assert.equal(fs.existsSync(file), false);
  });

  test('a file that is not a database', () => {
    const file = path.join(tmp.make(), 'pos.db');
    fs.writeFileSync(file, Buffer.from('this is not a SQLite database, just garbage bytes \u0000\u0001\u0002'.repeat(100)));
    assert.throws(() => open(file, true), (err: unknown) => {
      assert.ok(err instanceof LocalIoError, String(err));
      assert.match(err.hint ?? '', /not a SQLite database/);
      return true;
    });
  });

  test('a database from a newer pos-sync', () => {
    const file = path.join(tmp.make(), 'pos.db');
    open(file, true).close();
    const raw = new Sqlite(file);
    raw.prepare(`UPDATE "PosSync_Schema" SET "Value" = ? WHERE "Key" = 'Version'`).run(String(SCHEMA_VERSION + 1));
    raw.close();
    assert.throws(() => open(file), (err: unknown) => err instanceof LocalIoError && /newer than this pos-sync knows/.test(err.message));
  });

  test('an old schema with Database.AutoMigrate false is a configuration error', () => {
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    assert.throws(
      () => openDatabase({ path: file, create: false, autoMigrate: false, busyTimeoutMs: 100 }),
      (err: unknown) => err instanceof ConfigError && /AutoMigrate/.test(err.hint ?? ''),
    );
  });
});

describe('a large table where most rows are synced', () => {
  const ROWS = 50_000;
  let db: Database;
  let expectedPending: string[];
  let deadLettered: string;
  let backingOff: string;

  before(() => {
    const file = buildFixtureDb(path.join(tmp.make(), 'big.db'));
    db = open(file);
    const random = seededRandom(50_000);
    const insert = db.prepare(
      `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "CreatedAt", "Synced", "SyncAttempts", "SyncedAt") VALUES (?, ?, 'STORE001', 'PROD001', 'Sale', 1, '1.00', '1.00', ?, ?, ?, 0, ?)`,
    );
    expectedPending = [...FIXTURE.pendingTransactions];
    db.transaction(() => {
      for (let n = 0; n < ROWS; n++) {
        const id = guid(random); // random GUIDs: their text order is not the write order
        const pending = n % 997 === 0 || n === ROWS - 1;
        // Dates deliberately out of order too: the POS's write order is what counts.
        const date = `2025-10-${String(10 + ((n * 7) % 20)).padStart(2, '0')} 12:00:00`;
        insert.run(id, `TX-${n}`, date, date, pending ? 0 : 1, pending ? null : date);
        if (pending) expectedPending.push(id);
      }
    })();
    // One pending row dead-lettered, one waiting out a refusal backoff: neither is due.
    deadLettered = expectedPending[10]!;
    backingOff = expectedPending[20]!;
    const state = db.prepare(`INSERT INTO "PosSync_RowState" ("Entity", "Id", "Rejections", "NextAttemptAt", "DeadLetteredAt") VALUES ('transaction', ?, ?, ?, ?)`);
    state.run(deadLettered, 3, null, '2025-10-21 00:00:00');
    state.run(backingOff, 1, '2099-01-01 00:00:00', null);
    db.exec('ANALYZE');
  });
  after(() => db?.close());

  test('nextPending searches the partial pending index, never the whole table (with and without bookkeeping rows)', () => {
    const queue = new Queue(db);
    const statements = (queue as unknown as { statements: Record<Entity, { nextPending: Statement; nextPendingBare: Statement }> }).statements;
    for (const entity of ['transaction', 'inventory'] as const) {
      for (const stmt of [statements[entity].nextPending, statements[entity].nextPendingBare]) {
        const detail = plan(db, stmt, 0, NOW_TEXT, 50);
        const table = entity === 'transaction' ? 'PosTransactions' : 'InventoryUpdates';
        assert.match(detail, new RegExp(`SEARCH p USING INDEX IX_${table}_PosSync_Pending \\(Synced=\\? AND rowid>\\?\\)`), detail);
        assert.doesNotMatch(detail, /SCAN|TEMP B-TREE/, detail);
      }
    }
  });

  test('the status counts use the partial indexes too', () => {
    const counting = `EXPLAIN QUERY PLAN SELECT count(*) FROM "PosTransactions" INDEXED BY "IX_PosTransactions_PosSync_Pending" WHERE "Synced" = 0`;
    assert.match((db.prepare(counting).all() as Array<{ detail: string }>).map((r) => r.detail).join(), /IX_PosTransactions_PosSync_Pending/);
    assert.equal(countPending(db, 'transaction'), expectedPending.length - 1);
    const backlog = entityBacklog(db, 'transaction', Date.parse('2030-01-01T00:00:00Z'));
    assert.equal(backlog.pending, expectedPending.length - 1);
    assert.equal(backlog.waiting, 1);
    assert.equal(backlog.deadLettered, 1);
  });

  test('paging with the rowid cursor returns exactly the due pending rows, in write order', () => {
    const queue = new Queue(db);
    const seen: string[] = [];
    let cursor = 0;
    for (;;) {
      const page = queue.nextPending('transaction', cursor, NOW_TEXT, 7);
      if (page.length === 0) break;
      assert.ok(page.every((r) => r.rowid > cursor));
      seen.push(...page.map((r) => r.Id as string));
      cursor = page[page.length - 1]!.rowid;
    }
    assert.deepEqual(seen, expectedPending.filter((id) => id !== deadLettered && id !== backingOff));
  });

  test('a row whose backoff has passed is due again', () => {
    const queue = new Queue(db);
    const ids = queue.nextPending('transaction', 0, '2099-01-01 00:00:00', 1000).map((r) => r.Id);
    assert.ok(ids.includes(backingOff));
    assert.ok(!ids.includes(deadLettered));
  });
});

/** The rows as a batch read them (rowid and content hash), for markSynced. */
function sentRows(db: Database, ids: readonly string[]): SentRow[] {
  const read = db.prepare(`SELECT rowid AS rowid, * FROM "PosTransactions" WHERE "Id" = ?`);
  return ids.map((id) => {
    const row = read.get(id) as { rowid: number };
    return { id, rowid: row.rowid, hash: contentHash(imageOf('transaction', row)) };
  });
}

describe('Queue writes only the sync columns', () => {
  const FIXED = '2025-10-22 08:00:00.5';

  function freshFixture(): { file: string; db: Database; queue: Queue } {
    const file = buildFixtureDb(path.join(tmp.make(), 'q.db'));
    const db = open(file);
    return { file, db, queue: new Queue(db) };
  }

  test('markSynced: Synced, SyncedAt, SyncAttempts + 1, LastSyncAttempt, error cleared; a synced row is left alone', () => {
    const { db, queue } = freshFixture();
    try {
      const [a, b] = FIXTURE.pendingTransactions;
      const changed = queue.markSynced('transaction', sentRows(db, [a!, FIXTURE.pendingTransactions[2]!, FIXTURE.syncedTransaction]), FIXED, true);
      assert.equal(changed, 2, 'the already-synced row is not counted or touched');
      const rows = db.prepare(`SELECT * FROM "PosTransactions" ORDER BY rowid`).all() as Array<Record<string, unknown>>;
      const byId = new Map(rows.map((r) => [r['Id'], r]));
      assert.deepEqual(
        { ...byId.get(a) },
        { ...byId.get(a), Synced: 1, SyncedAt: FIXED, SyncAttempts: 1, LastSyncAttempt: FIXED, LastSyncError: null },
      );
      const kafka = db.prepare(`SELECT "Id", "KafkaPending" FROM "PosSync_RowState" ORDER BY "Seq"`).all();
      assert.deepEqual(kafka, [{ Id: a, KafkaPending: 1 }, { Id: FIXTURE.pendingTransactions[2], KafkaPending: 1 }], 'the Kafka backlog is in pos-sync\'s own table');
      const returned = byId.get(FIXTURE.pendingTransactions[2])!;
      assert.equal(returned['SyncAttempts'], 3, 'the seed\'s two earlier attempts are kept and counted on');
      assert.equal(returned['LastSyncError'], null);
      assert.equal(byId.get(b)!['Synced'], 0);
      const synced = byId.get(FIXTURE.syncedTransaction)!;
      assert.equal(synced['SyncedAt'], '2025-10-20 18:30:10.7', 'an already-synced row keeps its SyncedAt');
    } finally {
      db.close();
    }
  });

  test('markAttempt counts an attempt without penalising the row', () => {
    const { db, queue } = freshFixture();
    try {
      const id = FIXTURE.pendingInventory[0];
      queue.markAttempt('inventory', [id], FIXED, 'HTTP 503');
      const row = db.prepare(`SELECT * FROM ${withState('InventoryUpdates')} WHERE "Id" = ?`).get(id) as Record<string, unknown>;
      assert.equal(row['SyncAttempts'], 1);
      assert.equal(row['LastSyncError'], 'HTTP 503');
      assert.equal(row['SyncRejections'], 0);
      assert.equal(row['NextAttemptAt'], null);
      assert.equal(row['DeadLetteredAt'], null);
      assert.equal(row['Synced'], 0);
    } finally {
      db.close();
    }
  });

  test('recordRejections: refusal count, backoff or dead letter, and one SyncRetryLogs row each in the seed\'s shape', () => {
    const { db, queue } = freshFixture();
    try {
      const [a, b] = FIXTURE.pendingTransactions;
      let n = 0;
      queue.recordRejections(
        'transaction',
        [
          { id: a, error: 'HTTP 422: bad product', httpStatus: 422, rejections: 1, nextAttemptAt: '2025-10-22 08:05:00.5', deadLettered: false },
          { id: b, error: 'price must be positive', httpStatus: 200, rejections: 3, nextAttemptAt: null, deadLettered: true },
        ],
        FIXED,
        'STORE001',
        () => `LOG-${++n}`,
      );
      const get = (id: string) => db.prepare(`SELECT * FROM ${withState('PosTransactions')} WHERE "Id" = ?`).get(id) as Record<string, unknown>;
      assert.equal(get(a)['SyncRejections'], 1);
      assert.equal(get(a)['NextAttemptAt'], '2025-10-22 08:05:00.5');
      assert.equal(get(a)['DeadLetteredAt'], null);
      assert.equal(get(b)['SyncRejections'], 3);
      assert.equal(get(b)['DeadLetteredAt'], FIXED);
      assert.equal(get(b)['Synced'], 0, 'a dead letter is kept, not marked synced');
      assert.equal(queue.rejectionsOf('transaction', b), 3);
      const logs = db.prepare(`SELECT * FROM "SyncRetryLogs" ORDER BY "Id"`).all();
      assert.deepEqual(logs, [
        { Id: 'LOG-1', EntityType: 'PosTransaction', EntityId: a, StoreId: 'STORE001', AttemptNumber: 1, AttemptTime: FIXED, ErrorMessage: 'HTTP 422: bad product', ErrorDetails: null, HttpStatusCode: 422, ShouldRetry: 1, NextRetryTime: '2025-10-22 08:05:00.5' },
        { Id: 'LOG-2', EntityType: 'PosTransaction', EntityId: b, StoreId: 'STORE001', AttemptNumber: 3, AttemptTime: FIXED, ErrorMessage: 'price must be positive', ErrorDetails: null, HttpStatusCode: 200, ShouldRetry: 0, NextRetryTime: null },
      ]);
    } finally {
      db.close();
    }
  });
});

describe('run history durations as .NET TimeSpan text (SyncServiceStatuses.LastRunDuration)', () => {
  const table: Array<[number, string]> = [
    [0, '00:00:00.0000000'],
    [1234, '00:00:01.2340000'],
    [61_005, '00:01:01.0050000'],
    [3_600_000 + 2500, '01:00:02.5000000'],
  ];
  for (const [ms, text] of table) {
    test(`${ms} ms ↔ ${text}`, () => {
      assert.equal(formatTimeSpan(ms), text);
      assert.equal(parseTimeSpan(text), ms);
    });
  }
  test('the seed\'s own values read back, days included; garbage does not', () => {
    assert.equal(parseTimeSpan('00:00:02.5'), 2500);
    assert.equal(parseTimeSpan('1.02:00:00'), 26 * 3_600_000);
    assert.equal(parseTimeSpan('2 seconds'), undefined);
  });
});
