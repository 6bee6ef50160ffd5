// The raw limit for a drain (SPEC §10): what a bare script does with none of pos-sync's logic —
// read pending transactions with better-sqlite3 in batches, POST the very bytes pos-sync would
// send (same JSON events, same headers) with fetch, and mark the batch synced in one transaction.
// No validation, no retries, no breaker, no lock, no refusal handling.
//
//   node dist/test/bench/raw-drain.js --db FILE --url EVENTS_URL [--batch 500] [--store STORE001]
//
// Without --db it prints its usage and exits 0: `node --test` runs every file under test/.

import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';

type Row = [number, string, string, string, string, string, number, string, string, string, string | null, string | null, string | null];

async function drain(dbPath: string, url: string, batch: number, store: string): Promise<number> {
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const select = db
    .prepare(
      `SELECT rowid, "Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "Reference", "Notes", "Metadata"
       FROM "PosTransactions" WHERE "Synced" = 0 AND rowid > ? ORDER BY rowid LIMIT ?`,
    )
    .raw();
  const mark = db.prepare(`UPDATE "PosTransactions" SET "Synced" = 1, "SyncedAt" = ? WHERE rowid = ?`);
  const markAll = db.transaction((rowids: number[], at: string) => {
    for (const r of rowids) mark.run(at, r);
  });
  let after = 0;
  let total = 0;
  for (;;) {
    const rows = select.all(after, batch) as Row[];
    if (rows.length === 0) break;
    after = rows[rows.length - 1]![0];
    // The event shape of SPEC §5, key for key in pos-sync's order, so the bodies are byte-identical.
    const events = rows.map((r) => ({
      id: r[1],
      entity: 'transaction',
      storeId: r[3],
      productId: r[4],
      type: r[5],
      occurredAt: `${r[9].replace(' ', 'T')}Z`,
      transactionId: r[2],
      quantity: r[6],
      unitPrice: r[7],
      totalAmount: r[8],
      reference: r[10],
      notes: r[11],
      metadata: r[12],
    }));
    const key = createHash('sha256')
      .update(rows.map((r) => r[1]).join('\n'))
      .digest('hex');
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify(events),
      headers: { 'X-Store-Id': store, 'Content-Type': 'application/json', 'Idempotency-Key': key },
    });
    await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    markAll(
      rows.map((r) => r[0]),
      new Date().toISOString().replace('T', ' ').replace('Z', ''),
    );
    total += rows.length;
  }
  db.close();
  return total;
}

const { values } = parseArgs({
  options: { db: { type: 'string' }, url: { type: 'string' }, batch: { type: 'string', default: '500' }, store: { type: 'string', default: 'STORE001' } },
});
if (values.db === undefined || values.url === undefined) {
  process.stdout.write('usage: node dist/test/bench/raw-drain.js --db FILE --url EVENTS_URL [--batch 500] [--store STORE001]\n');
} else {
  const rows = await drain(values.db, values.url, Number(values.batch), values.store!);
  process.stdout.write(`${JSON.stringify({ rows })}\n`);
}
