// The raw limit for `seed` (pos-sync-internals(7) PERFORMANCE): the same rows inserted by a bare better-sqlite3 script.
// "The same rows" literally: they are read, in order, from a database `pos-sync seed` filled with
// the same --random-seed, and inserted with one prepared INSERT in one transaction into an empty
// database with pos-sync's schema — the B-tree work (random GUID keys, the seed's indexes) is
// identical, and there is no generator, validation or anything else of pos-sync's.
//
//   node dist/test/bench/raw-seed.js --from SEEDED_FILE --db EMPTY_FILE
//
// Without --db it prints its usage and exits 0: `node --test` runs every file under test/.

import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

const COLUMNS = ['Id', 'TransactionId', 'StoreId', 'ProductId', 'TransactionType', 'Quantity', 'UnitPrice', 'TotalAmount', 'TransactionDate', 'CreatedAt', 'Metadata', 'Reference', 'Notes'];

function copy(from: string, to: string): number {
  const source = new Database(from, { readonly: true });
  const db = new Database(to);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // The page cache `pos-sync seed` gives its connection (SEED_CACHE_KIB): the limit is measured
  // with the same SQLite settings, so the ratio shows pos-sync's own cost.
  db.pragma('cache_size = -65536');
  const list = COLUMNS.map((c) => `"${c}"`).join(', ');
  const read = source.prepare(`SELECT ${list} FROM "PosTransactions" ORDER BY rowid`).raw();
  const insert = db.prepare(
    `INSERT INTO "PosTransactions" (${list}, "Synced", "SyncAttempts", "LastSyncAttempt", "LastSyncError", "SyncedAt")
     VALUES (${COLUMNS.map(() => '?').join(', ')}, 0, 0, NULL, NULL, NULL)`,
  );
  let rows = 0;
  db.transaction(() => {
    for (const row of read.iterate() as IterableIterator<unknown[]>) {
      insert.run(row);
      rows++;
    }
  })();
  db.close();
  source.close();
  return rows;
}

const { values } = parseArgs({ options: { from: { type: 'string' }, db: { type: 'string' } } });
if (values.from === undefined || values.db === undefined) {
  process.stdout.write('usage: node dist/test/bench/raw-seed.js --from SEEDED_FILE --db EMPTY_FILE\n');
} else {
  process.stdout.write(`${JSON.stringify({ rows: copy(values.from, values.db) })}\n`);
}
