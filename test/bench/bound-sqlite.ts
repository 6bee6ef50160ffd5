// One leg of the drain's physical bound (README → Performance): what SQLite and Node do on this
// machine to read pending sales, encode them as the central API's events and mark them synced, done
// the simplest way and with nothing of pos-sync's — no validation, no lock, no bookkeeping, no
// network. A plain SELECT of the next rows by rowid, the events built as objects and given to
// JSON.stringify (the same bytes pos-sync sends: the fields of the man page's CENTRAL API, the
// contentHash a SHA-1 of the same row image), and one UPDATE by rowid per row in one transaction
// per batch. Marking checks no content, so this leg is faster than the work pos-sync must do.
//
//   node dist/test/bench/bound-sqlite.js --db FILE --till TILL [--batch 500] [--bodies OUT]
//
// --bodies also writes every body (a 4-byte length, then the bytes) to OUT: the other leg
// (bound-central.js) posts them. Without --db it prints its usage and exits 0.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pendingSales, saleEvents } from './sales.js';

function drain(dbPath: string, batch: number, tillId: string, bodiesPath: string | undefined): number {
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const select = pendingSales(db);
  const mark = db.prepare(`UPDATE "PosTransactions" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ? WHERE rowid = ?`);
  const markAll = db.transaction((rowids: number[], at: string) => {
    for (const r of rowids) mark.run(at, at, r);
  });
  const out = bodiesPath === undefined ? undefined : fs.openSync(bodiesPath, 'w');
  let after = 0;
  let total = 0;
  for (;;) {
    const rows = select.all(after, batch);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]![0];
    const events = saleEvents(rows, tillId);
    const body = Buffer.from(JSON.stringify(events));
    if (out !== undefined) {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(body.length);
      fs.writeSync(out, size);
      fs.writeSync(out, body);
    }
    markAll(
      rows.map((r) => r[0]),
      new Date().toISOString().replace('T', ' ').replace('Z', ''),
    );
    total += rows.length;
  }
  if (out !== undefined) fs.closeSync(out);
  db.close();
  return total;
}

const { values } = parseArgs({
  options: { db: { type: 'string' }, till: { type: 'string', default: 'bench-till' }, batch: { type: 'string', default: '500' }, bodies: { type: 'string' } },
});
if (values.db === undefined) {
  process.stdout.write('usage: node dist/test/bench/bound-sqlite.js --db FILE --till TILL [--batch 500] [--bodies OUT]\n');
} else {
  const rows = drain(values.db, Number(values.batch), values.till!, values.bodies);
  process.stdout.write(`${JSON.stringify({ rows })}\n`);
}
