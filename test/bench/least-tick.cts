// The least a timer tick can do on this machine, as the floor the tick targets are measured
// against (README → Performance): not pos-sync's code, but the fewest steps that give the same
// answer, the simplest way. CommonJS (this file is .cts) as bin/pos-sync is, so neither starts
// Node's ES module loader.
//
//   node dist/test/bench/least-tick.cjs idle --db FILE --state FILE
//     node:sqlite opened read-only, "any row with Synced = 0?" asked of both tables, the state
//     file read and parsed, its modification time set (the trace every pass leaves); exit 0, or 1
//     when something is pending.
//   node dist/test/bench/least-tick.cjs deliver --db FILE --url EVENTS_URL --state FILE [--till TILL]
//     the pending sales read (node:sqlite), their events built with a content hash (SHA-1) and the
//     batch's Idempotency-Key (SHA-256), one POST, the rows marked synced by rowid in one
//     transaction once the central acknowledged them, the state file written (a temporary file
//     renamed); exit 0, or 1 on any answer but 2xx.
//
// Without a mode it prints its usage and exits 0.

import fs = require('node:fs');

const TABLES = ['PosTransactions', 'InventoryUpdates'];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function required(name: string): string {
  const value = option(name);
  if (value === undefined) throw new Error(`least-tick: --${name} is required`);
  return value;
}

function idle(dbPath: string, statePath: string): number {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    for (const table of TABLES) if (db.prepare(`SELECT 1 FROM "${table}" WHERE "Synced" = 0 LIMIT 1`).get() !== undefined) return 1;
  } finally {
    db.close();
  }
  JSON.parse(fs.readFileSync(statePath, 'utf8'));
  const now = new Date();
  fs.utimesSync(statePath, now, now);
  fs.writeSync(1, 'nothing pending\n');
  return 0;
}

interface Row {
  rowid: number;
  Id: string;
  TransactionId: string;
  StoreId: string;
  ProductId: string;
  TransactionType: string;
  Quantity: number;
  UnitPrice: string;
  TotalAmount: string;
  TransactionDate: string;
  CreatedAt: string;
  Metadata: string | null;
  Reference: string | null;
  Notes: string | null;
}

function deliver(dbPath: string, url: string, statePath: string, tillId: string): Promise<number> {
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const crypto = process.getBuiltinModule('node:crypto');
  const http = process.getBuiltinModule('node:http');
  const db = new DatabaseSync(dbPath);
  const rows = db
    .prepare(
      `SELECT rowid, "Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "CreatedAt", "Metadata", "Reference", "Notes"
       FROM "PosTransactions" WHERE "Synced" = 0 ORDER BY rowid LIMIT 500`,
    )
    .all() as unknown as Row[];
  const events = rows.map((r) => ({
    id: r.Id,
    entity: 'transaction',
    storeId: r.StoreId,
    productId: r.ProductId,
    type: r.TransactionType,
    occurredAt: `${r.TransactionDate.replace(' ', 'T')}Z`,
    transactionId: r.TransactionId,
    quantity: r.Quantity,
    unitPrice: r.UnitPrice,
    totalAmount: r.TotalAmount,
    reference: r.Reference,
    notes: r.Notes,
    metadata: r.Metadata,
    contentHash: crypto
      .hash('sha1', JSON.stringify([r.Id, r.TransactionId, r.StoreId, r.ProductId, r.TransactionType, r.Quantity, r.UnitPrice, r.TotalAmount, r.TransactionDate, r.CreatedAt, r.Metadata, r.Reference, r.Notes]), 'base64url')
      .slice(0, 16),
    tillId,
  }));
  const body = Buffer.from(JSON.stringify(events));
  const key = crypto
    .createHash('sha256')
    .update(events.map((e) => `${e.id}:${e.contentHash}`).join('\n'))
    .digest('hex');
  return new Promise<number>((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length, 'idempotency-key': key, 'x-store-id': events[0]?.storeId ?? 'STORE001' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
          if (!ok) return resolve(1);
          JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
          const at = new Date().toISOString().replace('T', ' ').replace('Z', '');
          db.exec('BEGIN IMMEDIATE');
          db.prepare(`UPDATE "PosTransactions" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ? WHERE rowid IN (SELECT value FROM json_each(?))`).run(
            at,
            at,
            JSON.stringify(rows.map((r) => r.rowid)),
          );
          db.exec('COMMIT');
          db.close();
          const tmp = `${statePath}.tmp`;
          fs.writeFileSync(tmp, JSON.stringify({ lastPass: { at, delivered: rows.length } }));
          fs.renameSync(tmp, statePath);
          resolve(0);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function main(): Promise<number> {
  const mode = process.argv[2];
  if (mode === 'idle') return idle(required('db'), required('state'));
  if (mode === 'deliver') return deliver(required('db'), required('url'), required('state'), option('till') ?? 'bench-till');
  fs.writeSync(1, 'usage: node dist/test/bench/least-tick.cjs idle --db FILE --state FILE | deliver --db FILE --url EVENTS_URL --state FILE [--till TILL]\n');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    fs.writeSync(2, `least-tick: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
