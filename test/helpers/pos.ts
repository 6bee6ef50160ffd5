// Rows as the POS application writes them (EF Core: upper-case GUID text ids, decimals as TEXT,
// UTC datetimes 'yyyy-MM-dd HH:mm:ss.FFFFFFF', Synced = 0), written with plain SQL so the torture
// tests do not depend on pos-sync's own sample generator to model the till.

import type { Database } from 'better-sqlite3';
import { seededRandom } from '../../src/domain/sample.js';

/** The repeatable generator `seed --random-seed` uses; every torture test prints the seed it used. */
export const prng = seededRandom;

const HEX = '0123456789ABCDEF';

export function posGuid(random: () => number): string {
  let out = '';
  for (let i = 0; i < 32; i++) {
    out += HEX[Math.floor(random() * 16)];
    if (i === 7 || i === 11 || i === 15 || i === 19) out += '-';
  }
  return out;
}

/** EF Core's datetime text for epoch ms, with a 7-digit fraction as .NET writes it. */
export function efTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}0000`;
}

const PRICES = ['12.50', '5.25', '54.99', '1.99', '3.49', '18.99', '0.89', '24.50', '6.75', '129.99'];

function cents(text: string): number {
  const [whole, fraction = '00'] = text.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

function money(c: number): string {
  return `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
}

export interface PosWriter {
  /** Inserts one till transaction: `transactions` sales and `inventory` stock updates, in one SQL transaction. */
  write(transactions: number, inventory: number): string[];
}

/** Prepared inserts on an open connection (the caller owns it and its pragmas). */
export function posWriter(db: Database, random: () => number, storeId = 'STORE001'): PosWriter {
  const insertTx = db.prepare(
    `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice",
       "TotalAmount", "TransactionDate", "CreatedAt", "Synced", "SyncAttempts", "Metadata", "Reference", "Notes")
     VALUES (?, ?, ?, ?, 'Sale', ?, ?, ?, ?, ?, 0, 0, NULL, ?, NULL)`,
  );
  const insertInv = db.prepare(
    `INSERT INTO "InventoryUpdates" ("Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate",
       "CreatedAt", "Synced", "SyncAttempts", "Reason", "TransactionId")
     VALUES (?, ?, ?, ?, ?, 'Sale', ?, ?, 0, 0, 'Till sale', NULL)`,
  );
  let n = 0;
  const write = db.transaction((transactions: number, inventory: number): string[] => {
    const ids: string[] = [];
    const now = Date.now();
    for (let i = 0; i < transactions; i++) {
      const id = posGuid(random);
      const product = Math.floor(random() * PRICES.length);
      const price = PRICES[product]!;
      const quantity = 1 + Math.floor(random() * 5);
      n++;
      insertTx.run(id, `TX-W-${n}`, storeId, `PROD${String(product + 1).padStart(3, '0')}`, quantity, price, money(cents(price) * quantity), efTime(now), efTime(now), `REF-W-${n}`);
      ids.push(id);
    }
    for (let i = 0; i < inventory; i++) {
      const id = posGuid(random);
      const previous = 10 + Math.floor(random() * 90);
      insertInv.run(id, storeId, `PROD${String(1 + Math.floor(random() * 10)).padStart(3, '0')}`, previous, previous - 1, efTime(now), efTime(now));
      ids.push(id);
    }
    return ids;
  });
  return { write: (transactions, inventory) => write.immediate(transactions, inventory) };
}
