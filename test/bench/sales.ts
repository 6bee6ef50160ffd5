// The sales the drain's bound and floor read and send (README → Performance), the simplest way and
// with nothing of pos-sync's: a plain SELECT of the next pending rows by rowid, as arrays, and their
// events built as objects for JSON.stringify — the same bytes pos-sync sends (the fields of the
// man page's CENTRAL API, the contentHash a SHA-1 of the same row image).

import { hash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';

/** rowid, then the business columns in the row image's order. */
export type SaleRow = [number, string, string, string, string, string, number, string, string, string, string, string | null, string | null, string | null];

/** The next pending sales after a rowid: `.all(afterRowid, limit)`. */
export function pendingSales(db: Database): Statement<[number, number], SaleRow> {
  return db
    .prepare<[number, number], SaleRow>(
      `SELECT rowid, "Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "CreatedAt", "Metadata", "Reference", "Notes"
       FROM "PosTransactions" WHERE "Synced" = 0 AND rowid > ? ORDER BY rowid LIMIT ?`,
    )
    .raw();
}

/** The sales as the central API's events. */
export function saleEvents(rows: readonly SaleRow[], tillId: string): { id: string; contentHash: string }[] {
  return rows.map((r) => ({
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
    reference: r[12],
    notes: r[13],
    metadata: r[11],
    contentHash: hash('sha1', JSON.stringify(r.slice(1)), 'base64url').slice(0, 16),
    tillId,
  }));
}
