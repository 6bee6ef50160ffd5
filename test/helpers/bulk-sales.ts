// Many delivered sales at once, for reconcile's scale test and benchmark: the same rows written
// straight into a pos-sync database (Synced = 1) and into a reference central's store file, as if
// `sync` had delivered them — except the ones in `missing`, which the central "lost". Writing
// 600,000 rows this way takes seconds; delivering them over HTTP would take minutes.

import Sqlite from 'better-sqlite3';
import { CentralStore } from '../../examples/central/store.js';
import { openDatabase } from '../../src/store/db.js';
import { efTime } from './pos.js';

export interface BulkSales {
  /** pos-sync database file (created). */
  readonly db: string;
  /** Reference central store file (created, or appended to). */
  readonly centralDb: string;
  readonly from: number;
  readonly spanMs: number;
  readonly count: number;
  /** Indexes of the rows the central does not get. */
  readonly missing?: ReadonlySet<number>;
  /** First group of the ids, so two sets never collide. */
  readonly prefix: string;
  readonly storeId?: string;
}

export function bulkId(prefix: string, i: number): string {
  return `${prefix}-0000-4000-8000-${i.toString(16).toUpperCase().padStart(12, '0')}`;
}

export function writeBulkSales(o: BulkSales): void {
  const store = o.storeId ?? 'STORE001';
  const at = (i: number): number => o.from + Math.floor((i * o.spanMs) / o.count);
  openDatabase({ path: o.db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
  const conn = new Sqlite(o.db);
  const insert = conn.prepare(
    `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
       "TransactionDate", "CreatedAt", "Synced", "SyncAttempts", "SyncedAt") VALUES (?, ?, ?, 'P1', 'Sale', 1, ?, ?, ?, ?, 1, 1, ?)`,
  );
  const central = new CentralStore(o.centralDb);
  try {
    conn.transaction(() => {
      let batch: unknown[] = [];
      for (let i = 0; i < o.count; i++) {
        const id = bulkId(o.prefix, i);
        const amount = `${(i % 50) + 1}.${String(i % 100).padStart(2, '0')}`;
        const time = efTime(at(i));
        insert.run(id, `TX${o.prefix}${i}`, store, amount, amount, time, time, time);
        if (!o.missing?.has(i)) {
          batch.push({ id, entity: 'transaction', storeId: store, productId: 'P1', type: 'Sale', occurredAt: new Date(at(i)).toISOString(), transactionId: `TX${o.prefix}${i}`, quantity: 1, unitPrice: amount, totalAmount: amount, reference: null, notes: null, metadata: null });
        }
        if (batch.length === 500 || (i === o.count - 1 && batch.length > 0)) {
          central.record({ receivedAt: new Date().toISOString(), format: 'batch', idempotencyKey: `${o.prefix}-${i}`, storeHeader: store, eventsJson: JSON.stringify(batch), count: batch.length, repeatedIds: [] });
          batch = [];
        }
      }
    })();
  } finally {
    conn.close();
    central.close();
  }
}

/** README "Reconciliation": the most requests a difference of `d` rows may cost. */
export function requestBound(entities: number, d: number, days: number, busiestHourRows: number): number {
  return entities + d * (Math.ceil(Math.log2(Math.max(1, days))) + 5 + Math.max(0, Math.ceil(Math.log2(busiestHourRows / 500))) + 1);
}
