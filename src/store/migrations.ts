// pos-sync's schema changes, versioned with PRAGMA user_version. They only add (tables, columns,
// indexes); the seed's tables and columns are never renamed or dropped (SPEC §4).

import type { Database } from 'better-sqlite3';

/** The seed's tables exactly as EF Core's EnsureCreated makes them, for databases pos-sync creates. */
const SEED_SCHEMA = `
CREATE TABLE IF NOT EXISTS "PosTransactions" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_PosTransactions" PRIMARY KEY,
    "TransactionId" TEXT NOT NULL, "StoreId" TEXT NOT NULL, "ProductId" TEXT NOT NULL,
    "TransactionType" TEXT NOT NULL, "Quantity" INTEGER NOT NULL, "UnitPrice" TEXT NOT NULL,
    "TotalAmount" TEXT NOT NULL, "TransactionDate" TEXT NOT NULL, "CreatedAt" TEXT NOT NULL,
    "Synced" INTEGER NOT NULL, "SyncAttempts" INTEGER NOT NULL, "LastSyncAttempt" TEXT NULL,
    "LastSyncError" TEXT NULL, "SyncedAt" TEXT NULL, "Metadata" TEXT NULL, "Reference" TEXT NULL,
    "Notes" TEXT NULL
);
CREATE TABLE IF NOT EXISTS "InventoryUpdates" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_InventoryUpdates" PRIMARY KEY,
    "StoreId" TEXT NOT NULL, "ProductId" TEXT NOT NULL, "PreviousStock" INTEGER NOT NULL,
    "NewStock" INTEGER NOT NULL, "UpdateType" TEXT NOT NULL, "UpdateDate" TEXT NOT NULL,
    "CreatedAt" TEXT NOT NULL, "Synced" INTEGER NOT NULL, "SyncAttempts" INTEGER NOT NULL,
    "LastSyncAttempt" TEXT NULL, "LastSyncError" TEXT NULL, "SyncedAt" TEXT NULL,
    "Reason" TEXT NULL, "TransactionId" TEXT NULL
);
CREATE TABLE IF NOT EXISTS "SyncRetryLogs" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_SyncRetryLogs" PRIMARY KEY,
    "EntityType" TEXT NOT NULL, "EntityId" TEXT NOT NULL, "StoreId" TEXT NOT NULL,
    "AttemptNumber" INTEGER NOT NULL, "AttemptTime" TEXT NOT NULL, "ErrorMessage" TEXT NOT NULL,
    "ErrorDetails" TEXT NULL, "HttpStatusCode" INTEGER NULL, "ShouldRetry" INTEGER NOT NULL,
    "NextRetryTime" TEXT NULL
);
CREATE TABLE IF NOT EXISTS "SyncConfigurations" (
    "Key" TEXT NOT NULL CONSTRAINT "PK_SyncConfigurations" PRIMARY KEY,
    "Value" TEXT NOT NULL, "UpdatedAt" TEXT NOT NULL, "Description" TEXT NULL
);
CREATE TABLE IF NOT EXISTS "SyncServiceStatuses" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_SyncServiceStatuses" PRIMARY KEY,
    "StoreId" TEXT NOT NULL, "LastSyncRun" TEXT NOT NULL,
    "TransactionsSyncedInLastRun" INTEGER NOT NULL, "InventoryUpdatesSyncedInLastRun" INTEGER NOT NULL,
    "FailedSyncsInLastRun" INTEGER NOT NULL, "LastRunDuration" TEXT NOT NULL, "Status" TEXT NOT NULL,
    "LastError" TEXT NULL, "CreatedAt" TEXT NOT NULL, "PendingTransactions" INTEGER NOT NULL,
    "PendingInventoryUpdates" INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS "IX_InventoryUpdates_Store_Product_Date" ON "InventoryUpdates" ("StoreId", "ProductId", "UpdateDate");
CREATE INDEX IF NOT EXISTS "IX_InventoryUpdates_StoreId_Synced" ON "InventoryUpdates" ("StoreId", "Synced");
CREATE INDEX IF NOT EXISTS "IX_InventoryUpdates_UpdateDate" ON "InventoryUpdates" ("UpdateDate");
CREATE INDEX IF NOT EXISTS "IX_PosTransactions_Store_Product_Date" ON "PosTransactions" ("StoreId", "ProductId", "TransactionDate");
CREATE INDEX IF NOT EXISTS "IX_PosTransactions_StoreId_Synced" ON "PosTransactions" ("StoreId", "Synced");
CREATE INDEX IF NOT EXISTS "IX_PosTransactions_TransactionDate" ON "PosTransactions" ("TransactionDate");
CREATE UNIQUE INDEX IF NOT EXISTS "IX_SyncConfigurations_Key" ON "SyncConfigurations" ("Key");
CREATE INDEX IF NOT EXISTS "IX_SyncRetryLogs_AttemptTime" ON "SyncRetryLogs" ("AttemptTime");
CREATE INDEX IF NOT EXISTS "IX_SyncRetryLogs_Entity" ON "SyncRetryLogs" ("EntityType", "EntityId");
CREATE INDEX IF NOT EXISTS "IX_SyncRetryLogs_Retry" ON "SyncRetryLogs" ("ShouldRetry", "NextRetryTime");
CREATE INDEX IF NOT EXISTS "IX_SyncServiceStatus_LastSyncRun" ON "SyncServiceStatuses" ("LastSyncRun");
CREATE INDEX IF NOT EXISTS "IX_SyncServiceStatus_StoreId" ON "SyncServiceStatuses" ("StoreId");
`;

function hasColumn(db: Database, table: string, column: string): boolean {
  return (db.pragma(`table_info("${table}")`) as { name: string }[]).some((c) => c.name === column);
}

function addColumn(db: Database, table: string, definition: string): void {
  const column = definition.split('"')[1]!;
  if (!hasColumn(db, table, column)) db.exec(`ALTER TABLE "${table}" ADD COLUMN ${definition}`);
}

interface Migration {
  readonly version: number;
  readonly describe: string;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    describe: 'seed tables when missing; rejection counting, backoff, dead letters, Kafka tracking; pending-row indexes',
    up(db) {
      db.exec(SEED_SCHEMA);
      for (const table of ['PosTransactions', 'InventoryUpdates']) {
        // Refusals by the central, separate from the seed's SyncAttempts (every attempt, outages included).
        addColumn(db, table, '"SyncRejections" INTEGER NOT NULL DEFAULT 0');
        // A refused row waits until then before it is tried again.
        addColumn(db, table, '"NextAttemptAt" TEXT NULL');
        // Set when refusals reached Sync.MaxRejections: kept, shown by status, brought back by requeue.
        addColumn(db, table, '"DeadLetteredAt" TEXT NULL');
        // 1 while a delivered row still has to be published to Kafka (only set when Kafka is enabled).
        addColumn(db, table, '"KafkaPending" INTEGER NOT NULL DEFAULT 0');
        // Partial indexes stay small when most of a large table is already synced.
        db.exec(`CREATE INDEX IF NOT EXISTS "IX_${table}_PosSync_Pending" ON "${table}" ("Synced") WHERE "Synced" = 0`);
        db.exec(`CREATE INDEX IF NOT EXISTS "IX_${table}_PosSync_KafkaPending" ON "${table}" ("KafkaPending") WHERE "KafkaPending" = 1`);
      }
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies what is missing, each migration in its own IMMEDIATE transaction (safe against a second pos-sync). */
export function migrate(db: Database): number {
  for (const migration of MIGRATIONS) {
    if (schemaVersion(db) >= migration.version) continue;
    db.transaction(() => {
      if (schemaVersion(db) >= migration.version) return; // another process got there first
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}
