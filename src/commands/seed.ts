// `pos-sync seed`: inserts realistic unsynced rows, as the POS would, in one transaction. Never
// into a real POS database: a database holding rows seed did not make is refused (nothing is
// written, not even the schema) unless --force, and every row it makes carries SAMPLE_MARK.
// The whole command: its options and --help, its run, the seeding, its human output.

import type { Database } from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { nonNegativeInt } from '../cli/options.js';
import { seconds } from '../cli/render.js';
import { plural } from '../domain/localtime.js';
import { SAMPLE_MARK, sampleIds, sampleInventoryUpdates, sampleTransactions, seededRandom } from '../domain/sample.js';
import { systemClock, type Clock } from '../domain/time.js';
import { ConfigError } from '../errors.js';
import { openReadOnly } from '../store/db.js';
import { COMMON_EXIT_CODES, defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync --db /tmp/lab.db seed --transactions 100 --inventory 20 --random-seed 7

Exit codes:
  0   seeded (the database is created when missing)
${COMMON_EXIT_CODES}`;

export const seed = defineCommand<{ transactions: number; inventory: number; randomSeed?: number; force?: boolean }>({
  options: [
    { flags: '--transactions <n>', description: 'sales transactions to insert', parse: nonNegativeInt('--transactions', 100_000_000), defaultValue: 10 },
    { flags: '--inventory <n>', description: 'inventory updates to insert', parse: nonNegativeInt('--inventory', 100_000_000), defaultValue: 5 },
    { flags: '--random-seed <n>', description: 'seed of the random generator, for a repeatable set', parse: nonNegativeInt('--random-seed', Number.MAX_SAFE_INTEGER) },
    { flags: '--force', description: 'seed even a database holding rows seed did not make (a real POS database)' },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config } = await ctx.loadConfig();
    const openDb = await ctx.databases();
    const result = runSeed(
      { transactions: opts.transactions, inventory: opts.inventory, randomSeed: opts.randomSeed, storeId: config.storeId, force: opts.force },
      { clock: systemClock, openDb: () => openDb(config, true), dbPath: config.db.path },
    );
    ctx.print(result, () => renderSeed(result));
    return result.exitCode;
  },
});

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
  const randomSeed = options.randomSeed ?? process.getBuiltinModule('node:crypto').randomInt(0, 2 ** 48 - 1);
  const random = seededRandom(randomSeed);
  const newId = sampleIds(randomSeed);
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
      for (const row of sampleTransactions(options.transactions, options.storeId, now, random, newId)) insertTx.run(row);
      for (const row of sampleInventoryUpdates(options.inventory, options.storeId, now, random, stock, newId)) insertInv.run(row);
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

export function renderSeed(r: SeedResult): string {
  return `seeded ${plural(r.transactions, 'transaction')} and ${plural(r.inventoryUpdates, 'inventory update')} into ${r.database} (random seed ${r.randomSeed}, ${seconds(r.durationMs)})\n`;
}
