// The POS application's own migrations (pos-sync-operations(7) THE LOCAL DATABASE): EF Core's SQLite provider applies
// AlterColumn/DropColumn by rebuilding the table from its model — CREATE TABLE "ef_temp_X" with the
// model's columns, INSERT … SELECT, DROP, RENAME, the model's indexes — and anything pos-sync added
// to the table is lost. pos-sync keeps its bookkeeping in tables of its own and recreates its
// index by name, so after a rebuild of both business tables: new sales are delivered, dead letters
// stay dead-lettered, a row waiting out a refusal keeps waiting, and the Kafka backlog is published
// exactly once.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { buildFixtureDb, exec, FIXTURE, query, withState } from './helpers/db.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { consumeTopic, kafkaBrokerOrSkip, uniqueTopic } from './helpers/kafka.js';
import { centralForFile, closedPort } from './helpers/central.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('pos-table-rebuild');
const central = centralForFile({});
after(tmp.cleanup);

/** The model's columns, in the model's order (the fixture's CREATE TABLE: EnsureCreated of the same model). */
const MODEL: Record<'PosTransactions' | 'InventoryUpdates', string> = {
  PosTransactions: `"Id" TEXT NOT NULL CONSTRAINT "PK_PosTransactions" PRIMARY KEY,
    "TransactionId" TEXT NOT NULL, "StoreId" TEXT NOT NULL, "ProductId" TEXT NOT NULL, "TransactionType" TEXT NOT NULL,
    "Quantity" INTEGER NOT NULL, "UnitPrice" TEXT NOT NULL, "TotalAmount" TEXT NOT NULL, "TransactionDate" TEXT NOT NULL,
    "CreatedAt" TEXT NOT NULL, "Synced" INTEGER NOT NULL, "SyncAttempts" INTEGER NOT NULL, "LastSyncAttempt" TEXT NULL,
    "LastSyncError" TEXT NULL, "SyncedAt" TEXT NULL, "Metadata" TEXT NULL, "Reference" TEXT NULL, "Notes" TEXT NULL`,
  InventoryUpdates: `"Id" TEXT NOT NULL CONSTRAINT "PK_InventoryUpdates" PRIMARY KEY,
    "StoreId" TEXT NOT NULL, "ProductId" TEXT NOT NULL, "PreviousStock" INTEGER NOT NULL, "NewStock" INTEGER NOT NULL,
    "UpdateType" TEXT NOT NULL, "UpdateDate" TEXT NOT NULL, "CreatedAt" TEXT NOT NULL, "Synced" INTEGER NOT NULL,
    "SyncAttempts" INTEGER NOT NULL, "LastSyncAttempt" TEXT NULL, "LastSyncError" TEXT NULL, "SyncedAt" TEXT NULL,
    "Reason" TEXT NULL, "TransactionId" TEXT NULL`,
};
const MODEL_INDEXES: Record<'PosTransactions' | 'InventoryUpdates', string[]> = {
  PosTransactions: [
    `CREATE INDEX "IX_PosTransactions_Store_Product_Date" ON "PosTransactions" ("StoreId", "ProductId", "TransactionDate")`,
    `CREATE INDEX "IX_PosTransactions_StoreId_Synced" ON "PosTransactions" ("StoreId", "Synced")`,
    `CREATE INDEX "IX_PosTransactions_TransactionDate" ON "PosTransactions" ("TransactionDate")`,
  ],
  InventoryUpdates: [
    `CREATE INDEX "IX_InventoryUpdates_Store_Product_Date" ON "InventoryUpdates" ("StoreId", "ProductId", "UpdateDate")`,
    `CREATE INDEX "IX_InventoryUpdates_StoreId_Synced" ON "InventoryUpdates" ("StoreId", "Synced")`,
    `CREATE INDEX "IX_InventoryUpdates_UpdateDate" ON "InventoryUpdates" ("UpdateDate")`,
  ],
};

/** What `dotnet ef database update` runs for an AlterColumn on SQLite (MigrationsSqlGenerator's table rebuild), table by table. */
function efRebuild(file: string): void {
  const db = new Sqlite(file);
  try {
    db.pragma('foreign_keys = 0');
    for (const table of ['PosTransactions', 'InventoryUpdates'] as const) {
      const cols = [...MODEL[table].matchAll(/"(\w+)" (?:TEXT|INTEGER)/g)].map((m) => `"${m[1]}"`).join(', ');
      db.transaction(() => {
        db.exec(`CREATE TABLE "ef_temp_${table}" (\n    ${MODEL[table]}\n)`);
        db.exec(`INSERT INTO "ef_temp_${table}" (${cols})\nSELECT ${cols}\nFROM "${table}"`);
        db.exec(`DROP TABLE "${table}"`);
        db.exec(`ALTER TABLE "ef_temp_${table}" RENAME TO "${table}"`);
        for (const sql of MODEL_INDEXES[table]) db.exec(sql);
      })();
    }
    db.pragma('foreign_keys = 1');
  } finally {
    db.close();
  }
}

function newSale(file: string, id: string, n: number): void {
  exec(
    file,
    `INSERT INTO "PosTransactions" ("Id","TransactionId","StoreId","ProductId","TransactionType","Quantity","UnitPrice","TotalAmount","TransactionDate","CreatedAt","Synced","SyncAttempts")
     VALUES (?, ?, 'STORE001', 'PROD001', 'Sale', 1, '2.50', '2.50', '2025-10-23 10:00:00', '2025-10-23 10:00:00.1', 0, 0)`,
    id,
    `TX-AFTER-${n}`,
  );
}

describe('the POS rebuilds both business tables (EF Core migration) after pos-sync worked on them', () => {
  test('new sales delivered, dead letters and backoffs kept, the Kafka backlog published once', { timeout: 120_000 }, async (t) => {
    const brokers = await kafkaBrokerOrSkip(t);
    if (!brokers) return;
    const cwd = tmp.make();
    fs.mkdirSync(path.join(cwd, 'data'));
    const db = buildFixtureDb(path.join(cwd, 'data', 'pos.db'));
    const config = path.join(cwd, 'appsettings.json');
    const topic = uniqueTopic('pos-sync-ef-rebuild');
    const writeConfig = (servers: string): void =>
      fs.writeFileSync(
        config,
        JSON.stringify({
          // A till of its own: passes of other test files with the same StoreId and TillId would
          // fence this one's Kafka transactions.
          Sync: { StoreId: 'STORE001', TillId: `till-${path.basename(cwd)}`, MaxRunSeconds: 20, MaxRejections: 1, RetryDelayMinutes: 60 },
          Database: { ConnectionString: 'Data Source=data/pos.db' },
          Kafka: { Enabled: true, BootstrapServers: servers, InventoryTopic: topic },
        }),
      );
    const sync = (): Promise<CliResult> => runCli(['--config', config, '--central-url', central.url, '--json', 'sync'], { cwd, timeoutMs: 60_000 });

    // 1. Before the rebuild: the central refuses two rows (MaxRejections 1: dead-lettered), the
    //    rest is delivered while Kafka is down, so it waits in the Kafka backlog.
    const [deadTx, , ] = FIXTURE.pendingTransactions;
    const deadInv = FIXTURE.pendingInventory[1];
    central.setFaults({ refuseIds: [deadTx, deadInv] });
    writeConfig(`127.0.0.1:${await closedPort()}`);
    const first = await sync();
    assert.equal(first.code, 65, first.stderr);
    const delivered = [FIXTURE.pendingTransactions[1], FIXTURE.pendingTransactions[2], FIXTURE.pendingInventory[0]];
    assert.deepEqual(new Set(central.receivedIds()), new Set(delivered));
    const stateBefore = query(db, `SELECT "Entity", "Id", "Rejections", "DeadLetteredAt", "KafkaPending" FROM "PosSync_RowState" ORDER BY "Seq"`);
    assert.equal(stateBefore.filter((r) => r['KafkaPending'] === 1).length, 3, 'three events wait for Kafka');
    assert.equal(stateBefore.filter((r) => r['DeadLetteredAt'] !== null).length, 2, 'two dead letters');
    // One more row refused once and waiting out its backoff: set up as a refusal of the past.
    const waitingId = 'BAC0FF00-0000-4000-8000-000000000001';
    newSale(db, waitingId, 0);
    exec(db, `INSERT INTO "PosSync_RowState" ("Entity", "Id", "Rejections", "NextAttemptAt") VALUES ('transaction', ?, 1, '2099-01-01 00:00:00')`, waitingId);

    // 2. The POS's migration rebuilds both tables from its model.
    efRebuild(db);
    const indexes = query<{ name: string }>(db, `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%PosSync%'`).map((r) => r.name);
    assert.ok(!indexes.includes('IX_PosTransactions_PosSync_Pending'), 'the rebuild dropped pos-sync\'s index on the POS table (the test shows a real rebuild)');
    assert.deepEqual(query(db, `SELECT "Entity", "Id", "Rejections", "DeadLetteredAt", "KafkaPending" FROM "PosSync_RowState" WHERE "Id" <> ? ORDER BY "Seq"`, waitingId), stateBefore);

    // 3. The POS goes on selling; Kafka is back.
    const newIds = ['AF7E0000-0000-4000-8000-000000000001', 'AF7E0000-0000-4000-8000-000000000002'];
    newIds.forEach((id, i) => newSale(db, id, i + 1));
    central.setFaults({ refuseIds: [] });
    writeConfig(brokers.join(','));
    const second = await sync();
    assert.equal(second.code, 0, second.stderr);
    const result = JSON.parse(second.stdout) as { delivered: { transaction: number; inventory: number }; kafka: { published: number; backlog: number; error: null } };
    assert.deepEqual(result.delivered, { transaction: 2, inventory: 0 }, 'the new sales, and only them');
    assert.deepEqual(new Set(central.receivedIds()), new Set([...delivered, ...newIds]));
    assert.deepEqual(central.duplicateIds(), []);
    // (kafka.requests, the requests the pass sent, depends on the broker's answers.)
    assert.deepEqual({ ...result.kafka, requests: undefined }, { published: 5, backlog: 0, error: null, requests: undefined });
    // The index is back, by name.
    assert.ok(query(db, `SELECT 1 FROM sqlite_master WHERE name = 'IX_PosTransactions_PosSync_Pending'`).length === 1, 'the pending index is recreated');
    // Dead letters stay dead-lettered, the waiting row keeps waiting.
    const dead = query<{ Id: string }>(db, `SELECT "Id" FROM ${withState('PosTransactions')} WHERE "DeadLetteredAt" IS NOT NULL AND "Synced" = 0
      UNION ALL SELECT "Id" FROM ${withState('InventoryUpdates')} WHERE "DeadLetteredAt" IS NOT NULL AND "Synced" = 0`).map((r) => r.Id);
    assert.deepEqual(dead.sort(), [deadTx, deadInv].sort());
    assert.deepEqual(query(db, `SELECT "Synced", "SyncRejections" FROM ${withState('PosTransactions')} WHERE "Id" = ?`, waitingId), [{ Synced: 0, SyncRejections: 1 }]);

    // 4. The Kafka backlog (3 delivered before the rebuild) plus the 2 new sales: each once.
    const received = await consumeTopic(brokers, topic, { expected: 5, timeoutMs: 45_000, settleMs: 2_000 });
    const ids = received.map((m) => m.headers['id']);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(String(id).toUpperCase(), (counts.get(String(id).toUpperCase()) ?? 0) + 1);
    assert.deepEqual([...counts].sort(), [...delivered, ...newIds].map((id) => [id, 1]).sort(), 'every event exactly once');

    // 5. status still shows the dead letters after the rebuild.
    const status = await runCli(['--config', config, '--json', 'status'], { cwd });
    assert.ok(status.code !== null && status.code <= 2, status.stderr);
    const s = JSON.parse(status.stdout) as { pending: Record<string, { deadLettered: number }>; deadLettered: number; notSetUp: string | null };
    assert.equal(s.pending['transaction']!.deadLettered + s.pending['inventory']!.deadLettered, 2);
    assert.equal(s.deadLettered, 2);
    assert.equal(s.notSetUp, null);
  });
});
