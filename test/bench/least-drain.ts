// The drain's floor (README → Performance): the least a drain can do in one thread, as pos-sync's
// pass must — not pos-sync's code, but the fewest steps that deliver every pending sale the
// contract's way, done the simplest way. The sales read and encoded as the bound's SQLite leg does
// (sales.ts: the same bodies), each batch's Idempotency-Key a SHA-256 of its ids and content
// hashes, one POST per batch over one kept-alive node:http connection, the next batch read and
// encoded while one is in flight, and each batch marked synced once its whole answer came and
// parsed as JSON — one UPDATE per batch, in one transaction, before the next answer is awaited.
// No validation, no lock, no bookkeeping, no retries.
// Not least-tick.cts's `deliver` run in a loop: that floor stays CommonJS on node:sqlite for a
// tick's start-up, while a drain's rows read faster as better-sqlite3 arrays (100,000 rows: 1.41-2.07
// against 1.66-2.62 s, five alternated runs), and the bound's SQLite leg reads them so.
//
//   node dist/test/bench/least-drain.js --db FILE --url EVENTS_URL --till TILL [--batch 500]
//
// Prints {"rows": N}; exits 1 on any answer but 2xx. Without --db it prints its usage and exits 0.

import { createHash } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pendingSales, saleEvents } from './sales.js';

interface Encoded {
  readonly body: Buffer;
  readonly key: string;
  readonly rowids: readonly number[];
}

/** One POST; true once the whole answer came and is a 2xx JSON acknowledgement. */
function post(agent: http.Agent, url: URL, batch: Encoded, store: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const headers = { 'content-type': 'application/json', 'content-length': batch.body.length, 'idempotency-key': batch.key, 'x-store-id': store };
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        if (ok) JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        resolve(ok);
      });
    });
    req.on('error', reject);
    req.end(batch.body);
  });
}

async function drain(dbPath: string, url: URL, tillId: string, size: number, store: string): Promise<number | null> {
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const select = pendingSales(db);
  const update = db.prepare(`UPDATE "PosTransactions" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ? WHERE rowid IN (SELECT value FROM json_each(?))`);
  const mark = db.transaction((rowids: readonly number[]) => {
    const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
    update.run(at, at, JSON.stringify(rowids));
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const next = (after: number): Encoded | null => {
    const rows = select.all(after, size);
    if (rows.length === 0) return null;
    const events = saleEvents(rows, tillId);
    return {
      body: Buffer.from(JSON.stringify(events)),
      key: createHash('sha256')
        .update(events.map((e) => `${e.id}:${e.contentHash}`).join('\n'))
        .digest('hex'),
      rowids: rows.map((r) => r[0]),
    };
  };
  let total = 0;
  let unmarked: Encoded | null = null;
  try {
    for (let batch = next(0); batch !== null; ) {
      const sending = post(agent, url, batch, store);
      await new Promise((resolve) => setImmediate(resolve)); // the request is on its way
      if (unmarked !== null) mark(unmarked.rowids);
      unmarked = null;
      const following = next(batch.rowids[batch.rowids.length - 1]!);
      if (!(await sending)) return null;
      unmarked = batch;
      total += batch.rowids.length;
      batch = following;
    }
    if (unmarked !== null) mark(unmarked.rowids);
    return total;
  } finally {
    agent.destroy();
    db.close();
  }
}

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    url: { type: 'string' },
    till: { type: 'string', default: 'bench-till' },
    batch: { type: 'string', default: '500' },
    store: { type: 'string', default: 'STORE001' },
  },
});
if (values.db === undefined || values.url === undefined) {
  process.stdout.write('usage: node dist/test/bench/least-drain.js --db FILE --url EVENTS_URL --till TILL [--batch 500] [--store STORE001]\n');
} else {
  const rows = await drain(values.db, new URL(values.url), values.till!, Number(values.batch), values.store!);
  if (rows === null) process.exitCode = 1;
  else process.stdout.write(`${JSON.stringify({ rows })}\n`);
}
