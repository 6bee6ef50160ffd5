// `pos-sync cleanup`: retry logs and run history past Sync.DataRetentionDays go (the newest run
// record stays); synced business rows go only when asked, and never one that is unsynced,
// dead-lettered, not yet on Kafka or of unknown sync time; --dry-run deletes nothing; a sync
// holding the pass lock keeps cleanup out; deletes are batched; --vacuum compacts.

import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { runCleanup } from '../src/commands/cleanup.js';
import { systemClock } from '../src/domain/time.js';
import { openDatabase } from '../src/store/db.js';
import { lines, runCli } from './helpers/cli.js';
import { query } from './helpers/db.js';
import { formatDbTime as efTime } from '../src/domain/time.js';
import { memoryLogger, seedDb, testConfig } from './helpers/sync.js';
import { holdLock, lockIsFree } from './helpers/lock.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('cleanup');
after(() => tmp.cleanup());

const DAY = 86_400_000;
const now = Date.now();
const ago = (days: number): string => efTime(now - days * DAY);

interface Arranged {
  readonly dir: string;
  readonly db: string;
  /** Ids of business rows that must survive whatever cleanup is asked. */
  readonly keep: string[];
  /** Ids of synced business rows older than 90 days, free to go with --synced-older-than 90. */
  readonly old: string[];
}

/** A database with a row of every kind cleanup must tell apart. */
function arrange(extraOldSynced = 0): Arranged {
  const dir = tmp.make();
  const db = seedDb(path.join(dir, 'POS_Local.db'), 0, 0, 1);
  const sql = new Sqlite(db);
  const keep: string[] = [];
  const old: string[] = [];
  let n = 0;
  const tx = sql.prepare(
    `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
       "TransactionDate", "CreatedAt", "Synced", "SyncAttempts", "SyncedAt")
     VALUES (?, ?, 'STORE001', 'PROD001', 'Sale', 1, '1.00', '1.00', ?, ?, ?, 1, ?)`,
  );
  const inv = sql.prepare(
    `INSERT INTO "InventoryUpdates" ("Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt",
       "Synced", "SyncAttempts", "SyncedAt")
     VALUES (?, 'STORE001', 'PROD001', 10, 9, 'Sale', ?, ?, ?, 1, ?)`,
  );
  // Dead letters and the Kafka backlog are pos-sync's own bookkeeping.
  const state = sql.prepare(`INSERT INTO "PosSync_RowState" ("Entity", "Id", "Rejections", "DeadLetteredAt", "KafkaPending") VALUES (?, ?, ?, ?, ?)`);
  const row = (kind: 'tx' | 'inv', synced: 0 | 1, syncedAt: string | null, dead: string | null, kafkaPending: 0 | 1, created = ago(200)): string => {
    const id = `${kind === 'tx' ? 'T' : 'I'}${String(++n).padStart(6, '0')}`;
    if (kind === 'tx') tx.run(id, `TX${n}`, created, created, synced, syncedAt);
    else inv.run(id, created, created, synced, syncedAt);
    if (dead !== null || kafkaPending !== 0) state.run(kind === 'tx' ? 'transaction' : 'inventory', id, dead ? 3 : 0, dead, kafkaPending);
    return id;
  };
  sql.transaction(() => {
    for (const kind of ['tx', 'inv'] as const) {
      old.push(row(kind, 1, ago(120), null, 0)); // synced long ago: may go
      keep.push(row(kind, 1, ago(10), null, 0)); // synced recently
      keep.push(row(kind, 0, null, null, 0)); // never synced, however old
      keep.push(row(kind, 0, null, ago(150), 0)); // dead-lettered long ago
      keep.push(row(kind, 1, ago(120), null, 1)); // synced long ago, not yet on Kafka
      keep.push(row(kind, 1, null, null, 0)); // synced, but when is unknown
      keep.push(row(kind, 1, ago(120), ago(130), 0)); // inconsistent: synced and dead-lettered — left alone
    }
    for (let i = 0; i < extraOldSynced; i++) old.push(row(i % 2 ? 'tx' : 'inv', 1, ago(100 + (i % 50)), null, 0));
    const log = sql.prepare(
      `INSERT INTO "SyncRetryLogs" ("Id", "EntityType", "EntityId", "StoreId", "AttemptNumber", "AttemptTime", "ErrorMessage", "HttpStatusCode", "ShouldRetry", "NextRetryTime")
       VALUES (?, 'PosTransaction', 'T000003', 'STORE001', 1, ?, 'HTTP 422', 422, 1, NULL)`,
    );
    for (let i = 0; i < 5; i++) log.run(`L-old-${i}`, ago(31 + i));
    for (let i = 0; i < 3; i++) log.run(`L-new-${i}`, ago(29 - i));
    const run = sql.prepare(
      `INSERT INTO "SyncServiceStatuses" ("Id", "StoreId", "LastSyncRun", "TransactionsSyncedInLastRun", "InventoryUpdatesSyncedInLastRun",
         "FailedSyncsInLastRun", "LastRunDuration", "Status", "LastError", "CreatedAt", "PendingTransactions", "PendingInventoryUpdates")
       VALUES (?, 'STORE001', ?, 1, 0, 0, '00:00:00.1000000', 'Running', NULL, ?, 0, 0)`,
    );
    for (let i = 0; i < 4; i++) run.run(`R-old-${i}`, ago(40 + i), ago(40 + i));
    run.run('R-new', ago(1), ago(1));
  })();
  sql.close();
  return { dir, db, keep, old };
}

function ids(db: string, table: string): string[] {
  return query<{ Id: string }>(db, `SELECT "Id" FROM "${table}" ORDER BY "Id"`).map((r) => r.Id);
}

function business(db: string): string[] {
  return [...ids(db, 'PosTransactions'), ...ids(db, 'InventoryUpdates')].sort();
}

function snapshot(db: string): Record<string, unknown[]> {
  return Object.fromEntries(['PosTransactions', 'InventoryUpdates', 'SyncRetryLogs', 'SyncServiceStatuses'].map((t) => [t, query(db, `SELECT * FROM "${t}" ORDER BY rowid`)]));
}

describe('cleanup through the binary', () => {
  test('--dry-run reports what would go and deletes nothing', async () => {
    const a = arrange();
    const before = snapshot(a.db);
    const r = await runCli(['--db', a.db, '--json', 'cleanup', '--dry-run', '--synced-older-than', '90'], { cwd: a.dir });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { dryRun: boolean; deleted: Record<string, number>; vacuum: unknown };
    assert.equal(doc.dryRun, true);
    assert.deepEqual(doc.deleted, { retryLogs: 5, runHistory: 4, transactions: 1, inventory: 1 });
    assert.equal(doc.vacuum, null);
    assert.deepEqual(snapshot(a.db), before);
    const human = await runCli(['--db', a.db, 'cleanup', '--dry-run'], { cwd: a.dir });
    assert.equal(human.code, 0);
    assert.equal(lines(human.stdout).length, 3);
    assert.deepEqual(lines(human.stdout).slice(1), ['synced business rows are kept (no --synced-older-than or Sync.SyncedRowRetentionDays)', 'dry run: nothing was deleted']);
    assert.match(lines(human.stdout)[0]!, /^would delete 5 retry log rows and 4 run history rows older than 30 days \(before \d{4}-\d\d-\d\d \d\d:\d\d [A-Z][A-Za-z0-9+:-]*\)$/);
    assert.deepEqual(snapshot(a.db), before);
  });

  test('without --synced-older-than: old logs and run history go, every business row stays', async () => {
    const a = arrange();
    const rowsBefore = business(a.db);
    const r = await runCli(['--db', a.db, '--json', 'cleanup'], { cwd: a.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { deleted: unknown }).deleted, { retryLogs: 5, runHistory: 4, transactions: 0, inventory: 0 });
    assert.deepEqual(ids(a.db, 'SyncRetryLogs'), ['L-new-0', 'L-new-1', 'L-new-2']);
    assert.deepEqual(ids(a.db, 'SyncServiceStatuses'), ['R-new']);
    assert.deepEqual(business(a.db), rowsBefore);
  });

  test('--synced-older-than 90: only synced, published, not dead-lettered rows older than that go', async () => {
    const a = arrange();
    const r = await runCli(['--db', a.db, '--json', 'cleanup', '--synced-older-than', '90'], { cwd: a.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { deleted: unknown }).deleted, { retryLogs: 5, runHistory: 4, transactions: 1, inventory: 1 });
    assert.deepEqual(business(a.db), [...a.keep].sort());
  });

  test('Sync.SyncedRowRetentionDays does the same from the config file', async () => {
    const a = arrange();
    fs.writeFileSync(path.join(a.dir, 'appsettings.json'), JSON.stringify({ Sync: { SyncedRowRetentionDays: 90, DataRetentionDays: 365 } }));
    const r = await runCli(['--config', 'appsettings.json', '--db', a.db, '--json', 'cleanup'], { cwd: a.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { deleted: unknown }).deleted, { retryLogs: 0, runHistory: 0, transactions: 1, inventory: 1 });
    assert.deepEqual(business(a.db), [...a.keep].sort());
  });

  test('the newest run record stays even when it is past retention, so status still shows the last pass', async () => {
    const a = arrange();
    const sql = new Sqlite(a.db);
    sql.prepare(`DELETE FROM "SyncServiceStatuses" WHERE "Id" = 'R-new'`).run();
    sql.close();
    const r = await runCli(['--db', a.db, 'cleanup'], { cwd: a.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ids(a.db, 'SyncServiceStatuses'), ['R-old-0']);
  });

  test('a sync holding the pass lock past Database.CommandTimeoutSeconds keeps cleanup out (75); a dry run still reports', async () => {
    const a = arrange();
    const lock = holdLock(a.db, 'sync');
    try {
      const before = snapshot(a.db);
      const startedAt = Date.now();
      const r = await runCli(['--db', a.db, 'cleanup'], { cwd: a.dir, env: { Database__CommandTimeoutSeconds: '1' } });
      assert.equal(r.code, 75, r.stderr);
      assert.ok(Date.now() - startedAt >= 1000, 'it waited for the pass first');
      assert.match(r.stderr, new RegExp(`another pos-sync sync \\(pid ${process.pid}, since .*\\) holds .* cleanup waited 1 s`));
      assert.deepEqual(snapshot(a.db), before);
      assert.equal((await runCli(['--db', a.db, 'cleanup', '--dry-run'], { cwd: a.dir })).code, 0);
    } finally {
      lock.release();
    }
  });

  test('cleanup never creates a database', async () => {
    const dir = tmp.make();
    const r = await runCli(['--db', path.join(dir, 'none.db'), 'cleanup'], { cwd: dir });
    assert.equal(r.code, 74, r.stderr);
    assert.equal(fs.existsSync(path.join(dir, 'none.db')), false);
  });
});

describe('batched deletes', () => {
  test('many rows in small batches: exactly the old synced rows go, one short transaction per batch', () => {
    const a = arrange(1_000);
    const config = testConfig(a.db, 'http://127.0.0.1:1');
    let deleteSteps = 0;
    const result = runCleanup(
      { syncedOlderThanDays: 90 },
      {
        config,
        clock: systemClock,
        log: memoryLogger(),
        batchRows: 37,
        openDb: () => {
          const db = openDatabase({ path: a.db, create: false, autoMigrate: true, busyTimeoutMs: 1000 });
          // Count the delete steps: each is one run of a DELETE statement in its own transaction.
          const prepare = db.prepare.bind(db);
          db.prepare = ((sql: string) => {
            const statement = prepare(sql);
            if (!sql.startsWith('DELETE')) return statement;
            const run = statement.run.bind(statement);
            statement.run = ((...params: unknown[]) => {
              deleteSteps++;
              return run(...params);
            }) as typeof statement.run;
            return statement;
          }) as typeof db.prepare;
          return db;
        },
      },
    );
    assert.equal(result.deleted.transactions + result.deleted.inventory, a.old.length);
    assert.deepEqual(business(a.db), [...a.keep].sort());
    const rows = a.keep.length + a.old.length;
    // Each table walked once in steps of 37 rowids (plus the small log and history tables).
    assert.ok(deleteSteps >= Math.floor(rows / 37) && deleteSteps <= Math.ceil(rows / 37) + 4, `${deleteSteps} steps for ${rows} rows`);
    assert.ok(lockIsFree(a.db), 'the lock is released');
  });

  test('--vacuum compacts the file after a large delete', async () => {
    const a = arrange(3_000);
    const r = await runCli(['--db', a.db, '--json', 'cleanup', '--synced-older-than', '90', '--vacuum'], { cwd: a.dir });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { vacuum: { beforeBytes: number; afterBytes: number } };
    assert.ok(doc.vacuum.afterBytes < doc.vacuum.beforeBytes, JSON.stringify(doc.vacuum));
    assert.deepEqual(business(a.db), [...a.keep].sort());
  });
});
