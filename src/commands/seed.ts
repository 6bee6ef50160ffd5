// `pos-sync seed`: inserts realistic unsynced rows, as the POS would, in one transaction. Never
// into a real POS database: a database holding rows seed did not make is refused (nothing is
// written, not even the schema) unless --force, and every row it makes carries SAMPLE_MARK.

import type { Database } from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { SAMPLE_MARK, sampleInventoryUpdates, sampleTransactions, seededRandom } from '../domain/sample.js';
import { ConfigError } from '../errors.js';
import { openReadOnly } from '../store/db.js';
import type { Clock } from '../domain/time.js';

/** Page cache of the seeding connection, KiB (test/bench/raw-seed.ts uses the same). */
const SEED_CACHE_KIB = 65_536;

export interface SeedOptions {
  readonly transactions: number;
  readonly inventory: number;
  readonly randomSeed?: number | undefined;
  readonly storeId: string;
  /** Seed even into a database holding rows seed did not make. */
  readonly force?: boolean | undefined;
}

export interface SeedResult {
  readonly command: 'seed';
  readonly exitCode: 0;
  readonly database: string;
  readonly transactions: number;
  readonly inventoryUpdates: number;
  readonly randomSeed: number;
  readonly durationMs: number;
}

export interface SeedDeps {
  readonly clock: Clock;
  readonly openDb: () => Database;
  readonly dbPath: string;
}

export function runSeed(options: SeedOptions, deps: SeedDeps): SeedResult {
  const start = deps.clock.now();
  const randomSeed = options.randomSeed ?? process.getBuiltinModule('node:crypto').randomInt(0, 2 ** 31);
  const random = seededRandom(randomSeed);
  if (!options.force) refuseForeignRows(deps.dbPath);
  const db = deps.openDb();
  try {
    // Random GUID keys put every insert on a random page of the primary-key index: with SQLite's
    // default 2 MB page cache a large seed spills and re-reads pages all the time (a third of its
    // CPU in a 300,000-row test). 64 MB, for this connection only, holds the indexes' hot part.
    db.pragma(`cache_size = -${SEED_CACHE_KIB}`);
    const insertTx = db.prepare(
      `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "CreatedAt", "Synced", "SyncAttempts", "LastSyncAttempt", "LastSyncError", "SyncedAt", "Metadata", "Reference", "Notes")
       VALUES (@Id, @TransactionId, @StoreId, @ProductId, @TransactionType, @Quantity, @UnitPrice, @TotalAmount,
         @TransactionDate, @CreatedAt, 0, 0, NULL, NULL, NULL, @Metadata, @Reference, @Notes)`,
    );
    const insertInv = db.prepare(
      `INSERT INTO "InventoryUpdates" ("Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt",
         "Synced", "SyncAttempts", "LastSyncAttempt", "LastSyncError", "SyncedAt", "Reason", "TransactionId")
       VALUES (@Id, @StoreId, @ProductId, @PreviousStock, @NewStock, @UpdateType, @UpdateDate, @CreatedAt, 0, 0, NULL, NULL, NULL, @Reason, @TransactionId)`,
    );
    // Each product's chain continues from its latest recorded stock.
    const stock = new Map<string, number>();
    const latest = db.prepare(
      `SELECT "ProductId" AS p, "NewStock" AS s FROM "InventoryUpdates"
       WHERE rowid IN (SELECT max(rowid) FROM "InventoryUpdates" GROUP BY "ProductId")`,
    );
    for (const r of latest.iterate() as IterableIterator<{ p: unknown; s: unknown }>) {
      if (typeof r.p === 'string' && typeof r.s === 'number') stock.set(r.p, r.s);
    }
    const now = deps.clock.now();
    db.transaction(() => {
      for (const row of sampleTransactions(options.transactions, options.storeId, now, random)) insertTx.run(row);
      for (const row of sampleInventoryUpdates(options.inventory, options.storeId, now, random, stock)) insertInv.run(row);
    })();
  } finally {
    db.close();
  }
  return {
    command: 'seed',
    exitCode: 0,
    database: deps.dbPath,
    transactions: options.transactions,
    inventoryUpdates: options.inventory,
    randomSeed,
    durationMs: deps.clock.now() - start,
  };
}

/**
 * How many rows of the POS's tables seed did not make (no SAMPLE_MARK), read through a read-only
 * connection so that a refusal leaves the file exactly as it was.
 */
export function foreignRows(db: Database): number {
  const tables = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('PosTransactions', 'InventoryUpdates')`).pluck().all() as string[]);
  const n = SAMPLE_MARK.length;
  let count = 0;
  if (tables.has('PosTransactions')) count += db.prepare(`SELECT count(*) FROM "PosTransactions" WHERE "Notes" IS NULL OR substr("Notes", 1, ${n}) <> ?`).pluck().get(SAMPLE_MARK) as number;
  if (tables.has('InventoryUpdates')) count += db.prepare(`SELECT count(*) FROM "InventoryUpdates" WHERE "Reason" IS NULL OR substr("Reason", 1, ${n}) <> ?`).pluck().get(SAMPLE_MARK) as number;
  return count;
}

function refuseForeignRows(dbPath: string): void {
  if (!existsSync(dbPath) || statSync(dbPath).size === 0) return;
  const db = openReadOnly(dbPath, 2000);
  let foreign: number;
  try {
    foreign = foreignRows(db);
  } finally {
    db.close();
  }
  if (foreign > 0) {
    throw new ConfigError(`refusing to seed ${dbPath}: it holds ${foreign} row${foreign === 1 ? '' : 's'} seed did not make (a real POS database?); nothing was written`, {
      hint: 'seed a test database (--db), or add --force to mix sample rows into this one',
    });
  }
}
