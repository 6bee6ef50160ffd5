// pos-sync's own schema (pos-sync-operations(7) THE LOCAL DATABASE). Its bookkeeping lives in tables of its own, keyed by entity and
// row Id, never in the POS's tables: the POS's EF Core migrations rebuild those from their model and
// drop whatever is not in it. Before each writing pass the objects pos-sync needs are checked by
// name in one sqlite_master read and whatever is missing is (re)created: PRAGMA user_version is
// never trusted (other tools set it, and it survives a rebuild that drops our indexes).

import type { Database } from 'better-sqlite3';

/** The seed's tables exactly as EF Core's EnsureCreated makes them, for databases pos-sync creates. */
export const SEED_SCHEMA = `
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


/** pos-sync's own schema version, kept in its own table (never PRAGMA user_version). */
export const SCHEMA_VERSION = 2;

export const STATE_TABLE = 'PosSync_RowState';
export const META_TABLE = 'PosSync_Schema';
/** Rows that keep failing alone, held back (store/quarantine.ts). */
export const QUARANTINE_TABLE = 'PosSync_Quarantine';
/** Rows holding a value pos-sync cannot read, listed and never sent (store/unreadable.ts). */
export const UNREADABLE_TABLE = 'PosSync_Unreadable';
const BUSINESS = ['PosTransactions', 'InventoryUpdates'] as const;
const ENTITY_OF: Readonly<Record<(typeof BUSINESS)[number], string>> = { PosTransactions: 'transaction', InventoryUpdates: 'inventory' };

/** The partial index on the POS's queue (Synced = 0): lost when the POS rebuilds its table, re-created by name. */
export function pendingIndex(table: string): string {
  return `IX_${table}_PosSync_Pending`;
}

/**
 * Per-row bookkeeping, one row per business row pos-sync has something to remember about (a row
 * never refused and already published has none): refusals, when it may be tried again, when it
 * was dead-lettered, and its Kafka state (1 waiting, 2 parked: the event cannot be built, with the
 * reason). Seq (the rowid) orders the Kafka backlog in the order rows were delivered.
 */
const OWN_OBJECTS: ReadonlyArray<readonly [string, string]> = [
  [META_TABLE, `CREATE TABLE IF NOT EXISTS "${META_TABLE}" ("Key" TEXT NOT NULL PRIMARY KEY, "Value" TEXT NOT NULL)`],
  [
    STATE_TABLE,
    `CREATE TABLE IF NOT EXISTS "${STATE_TABLE}" (
      "Seq" INTEGER PRIMARY KEY, "Entity" TEXT NOT NULL, "Id" NOT NULL,
      "Rejections" INTEGER NOT NULL DEFAULT 0, "NextAttemptAt" TEXT NULL, "DeadLetteredAt" TEXT NULL,
      "KafkaPending" INTEGER NOT NULL DEFAULT 0, "KafkaError" TEXT NULL)`,
  ],
  ['IX_PosSync_RowState_Row', `CREATE UNIQUE INDEX IF NOT EXISTS "IX_PosSync_RowState_Row" ON "${STATE_TABLE}" ("Entity", "Id")`],
  // The table holds only rows with something to remember, so plain (not partial) indexes are small.
  ['IX_PosSync_RowState_Kafka', `CREATE INDEX IF NOT EXISTS "IX_PosSync_RowState_Kafka" ON "${STATE_TABLE}" ("Entity", "KafkaPending")`],
  ['IX_PosSync_RowState_Dead', `CREATE INDEX IF NOT EXISTS "IX_PosSync_RowState_Dead" ON "${STATE_TABLE}" ("Entity") WHERE "DeadLetteredAt" IS NOT NULL`],
  // Rows that failed alone while the central answered the rest (domain/quarantine.ts); their hold
  // itself is NextAttemptAt in the bookkeeping table, which the pending-row query already honours.
  [
    QUARANTINE_TABLE,
    `CREATE TABLE IF NOT EXISTS "${QUARANTINE_TABLE}" (
      "Entity" TEXT NOT NULL, "Id" NOT NULL, "Strikes" INTEGER NOT NULL, "Tries" INTEGER NOT NULL DEFAULT 0,
      "FirstFailedAt" TEXT NOT NULL, "LastFailedAt" TEXT NOT NULL, "Answers" TEXT NOT NULL,
      "QuarantinedAt" TEXT NULL, "NextAttemptAt" TEXT NULL, PRIMARY KEY ("Entity", "Id"))`,
  ],
  // Rows the POS wrote with a value pos-sync cannot read: never sent, never the central's refusal;
  // held by NextAttemptAt in the bookkeeping table like the quarantine, looked at again later.
  [
    UNREADABLE_TABLE,
    `CREATE TABLE IF NOT EXISTS "${UNREADABLE_TABLE}" (
      "Entity" TEXT NOT NULL, "Id" NOT NULL, "Reason" TEXT NOT NULL, "Seen" INTEGER NOT NULL,
      "FirstSeenAt" TEXT NOT NULL, "LastSeenAt" TEXT NOT NULL, "NextAttemptAt" TEXT NULL, PRIMARY KEY ("Entity", "Id"))`,
  ],
  ...BUSINESS.map((t): readonly [string, string] => [pendingIndex(t), `CREATE INDEX IF NOT EXISTS "${pendingIndex(t)}" ON "${t}" ("Synced") WHERE "Synced" = 0`]),
];

/** Every name pos-sync needs, the POS's tables included. */
export const NEEDED = [...BUSINESS, 'SyncRetryLogs', 'SyncServiceStatuses', ...OWN_OBJECTS.map(([name]) => name)];

export interface SchemaFacts {
  /** pos-sync's schema version recorded in its own table; 0 when it has never set the database up. */
  readonly version: number;
  /** Needed objects that are missing. */
  readonly missing: readonly string[];
  /** Whether the bookkeeping table is there (read-only callers leave it out of their queries when not). */
  readonly hasState: boolean;
  /** Whether the quarantine table is there (a database set up by an older pos-sync has none yet). */
  readonly hasQuarantine: boolean;
  /** Whether the table of unreadable rows is there (likewise). */
  readonly hasUnreadable: boolean;
  /** Whether each business table's pending index is there. */
  readonly hasPendingIndex: Readonly<Record<string, boolean>>;
}

/**
 * Where a connection keeps what the last check or set-up on it found, so a pass reads sqlite_master
 * once (pos-sync-internals(7) PERFORMANCE): on the connection itself, which the facts describe and which they end with.
 */
const FACTS = Symbol('pos-sync schema facts');
type WithFacts = Database & { [FACTS]?: SchemaFacts };

/** The facts found when the connection was opened (or a fresh check when there were none). */
export function schemaFactsOf(db: Database): SchemaFacts {
  return (db as WithFacts)[FACTS] ?? inspectSchema(db);
}

/** One sqlite_master read (and one read of our version when our table is there): cheap enough for every tick. */
export function inspectSchema(db: Database): SchemaFacts {
  const present = new Set(
    db.prepare(`SELECT name FROM sqlite_master WHERE name IN (${NEEDED.map(() => '?').join(', ')})`).pluck().all(...NEEDED) as string[],
  );
  const version = present.has(META_TABLE) ? Number(db.prepare(`SELECT "Value" FROM "${META_TABLE}" WHERE "Key" = 'Version'`).pluck().get() ?? 0) || 0 : 0;
  const facts: SchemaFacts = {
    version,
    missing: NEEDED.filter((n) => !present.has(n)),
    hasState: present.has(STATE_TABLE),
    hasQuarantine: present.has(QUARANTINE_TABLE),
    hasUnreadable: present.has(UNREADABLE_TABLE),
    hasPendingIndex: Object.fromEntries(BUSINESS.map((t) => [t, present.has(pendingIndex(t))])),
  };
  (db as WithFacts)[FACTS] = facts;
  return facts;
}

export function schemaVersion(db: Database): number {
  return inspectSchema(db).version;
}

/**
 * Creates what is missing, in one IMMEDIATE transaction (safe against a second pos-sync or the
 * POS writing): the seed's tables on a new database, pos-sync's own tables and indexes, and the
 * pending indexes on the POS's tables a rebuild by the POS dropped. Returns the facts after.
 */
export function migrate(db: Database): SchemaFacts {
  const facts = inspectSchema(db);
  if (facts.missing.length === 0 && facts.version >= SCHEMA_VERSION) return facts;
  db.transaction(() => {
    db.exec(SEED_SCHEMA);
    for (const [, sql] of OWN_OBJECTS) db.exec(sql);
    db.prepare(`INSERT INTO "${META_TABLE}" ("Key", "Value") VALUES ('Version', ?) ON CONFLICT ("Key") DO UPDATE SET "Value" = excluded."Value"`).run(
      String(SCHEMA_VERSION),
    );
  }).immediate();
  return inspectSchema(db);
}
