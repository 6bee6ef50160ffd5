// Databases for tests: built from the seed's EF Core fixture (test/fixtures/seed-efcore.sql, a copy
// of ../shared/fixtures/seed-efcore.sql so a clean clone has it), or empty, plus readers for
// asserting what pos-sync wrote.

import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { REPO_ROOT } from './tmp.js';

export const FIXTURE_SQL = path.join(REPO_ROOT, 'test', 'fixtures', 'seed-efcore.sql');

/** The fixture's ids, as the POS wrote them. */
export const FIXTURE = {
  pendingTransactions: [
    '9B0C2F1E-6A51-4C9D-8E0B-1F6A2D3C4B5A',
    '1D4E5F60-7A8B-4C9D-9E0F-A1B2C3D4E5F6',
    'C0FFEE00-1234-4ABC-8DEF-0123456789AB',
  ],
  syncedTransaction: '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D',
  pendingInventory: ['5E6F7A8B-9C0D-4E1F-A2B3-C4D5E6F7A8B9', '7F8E9D0C-1B2A-4394-8576-A5B4C3D2E1F0'],
} as const;

/** Creates `file` from the fixture SQL exactly as `sqlite3 file < seed-efcore.sql` would. */
export function buildFixtureDb(file: string): string {
  const db = new Sqlite(file);
  try {
    db.exec(fs.readFileSync(FIXTURE_SQL, 'utf8'));
  } finally {
    db.close();
  }
  return file;
}

/** The seed's business columns (what the POS owns); everything else is sync bookkeeping. */
export const BUSINESS_COLUMNS = {
  PosTransactions: ['Id', 'TransactionId', 'StoreId', 'ProductId', 'TransactionType', 'Quantity', 'UnitPrice', 'TotalAmount', 'TransactionDate', 'CreatedAt', 'Metadata', 'Reference', 'Notes'],
  InventoryUpdates: ['Id', 'StoreId', 'ProductId', 'PreviousStock', 'NewStock', 'UpdateType', 'UpdateDate', 'CreatedAt', 'Reason', 'TransactionId'],
} as const;

export type Row = Record<string, unknown>;

/** Every row of a table, in rowid order, with each value's SQLite type beside it (byte-for-byte checks). */
export function readTable(file: string, table: string, columns: readonly string[] | '*' = '*'): Row[] {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    const list = columns === '*' ? '*' : columns.map((c) => `"${c}", typeof("${c}") AS "${c}:type"`).join(', ');
    return db.prepare(`SELECT ${list} FROM "${table}" ORDER BY rowid`).all() as Row[];
  } finally {
    db.close();
  }
}

/** Runs one query read-only and returns all rows. */
export function query<T = Row>(file: string, sql: string, ...params: unknown[]): T[] {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** Runs statements against the file (for arranging a test). */
export function exec(file: string, sql: string, ...params: unknown[]): void {
  const db = new Sqlite(file, { fileMustExist: true });
  try {
    if (params.length > 0) db.prepare(sql).run(...params);
    else db.exec(sql);
  } finally {
    db.close();
  }
}

/** The ids still pending (Synced = 0, not dead-lettered) in both tables. */
export function pendingIds(file: string): string[] {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    // Before pos-sync set the database up (a dry run only reads) nothing is dead-lettered.
    const dead = stateSource(db, 'PosTransactions').startsWith('"') ? '' : 'AND "DeadLetteredAt" IS NULL';
    return (
      db
        .prepare(
          `SELECT "Id" FROM ${stateSource(db, 'PosTransactions')} WHERE "Synced" = 0 ${dead}
           UNION ALL SELECT "Id" FROM ${stateSource(db, 'InventoryUpdates')} WHERE "Synced" = 0 ${dead}`,
        )
        .all() as { Id: string }[]
    ).map((r) => r.Id);
  } finally {
    db.close();
  }
}

export function allIds(file: string): string[] {
  return query<{ Id: string }>(file, `SELECT "Id" FROM "PosTransactions" UNION ALL SELECT "Id" FROM "InventoryUpdates"`).map((r) => r.Id);
}

/**
 * A business table with pos-sync's bookkeeping beside each row (from its own table
 * PosSync_RowState), as a FROM item: `SELECT ... FROM ${withState('PosTransactions')} WHERE ...`.
 * Columns: the table's own, rowid, SyncRejections, NextAttemptAt, DeadLetteredAt, KafkaPending.
 */
export function withState(table: 'PosTransactions' | 'InventoryUpdates'): string {
  const entity = table === 'PosTransactions' ? 'transaction' : 'inventory';
  return `(SELECT p.*, p.rowid AS rowid, coalesce(s."Rejections", 0) AS "SyncRejections", s."NextAttemptAt" AS "NextAttemptAt",
            s."DeadLetteredAt" AS "DeadLetteredAt", coalesce(s."KafkaPending", 0) AS "KafkaPending", s."KafkaError" AS "KafkaError"
          FROM "${table}" AS p LEFT JOIN "PosSync_RowState" AS s ON s."Entity" = '${entity}' AND s."Id" = p."Id") AS "${table}"`;
}

/** Sets pos-sync's bookkeeping of one row (arranging a test): refusals, backoff, dead letter, Kafka state. */
export function setState(
  file: string,
  table: 'PosTransactions' | 'InventoryUpdates',
  id: string,
  state: { rejections?: number; nextAttemptAt?: string | null; deadLetteredAt?: string | null; kafkaPending?: number },
): void {
  const entity = table === 'PosTransactions' ? 'transaction' : 'inventory';
  exec(
    file,
    `INSERT INTO "PosSync_RowState" ("Entity", "Id", "Rejections", "NextAttemptAt", "DeadLetteredAt", "KafkaPending") VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT ("Entity", "Id") DO UPDATE SET "Rejections" = excluded."Rejections", "NextAttemptAt" = excluded."NextAttemptAt",
       "DeadLetteredAt" = excluded."DeadLetteredAt", "KafkaPending" = excluded."KafkaPending"`,
    entity,
    id,
    state.rejections ?? 0,
    state.nextAttemptAt ?? null,
    state.deadLetteredAt ?? null,
    state.kafkaPending ?? 0,
  );
}

/** withState(table) when pos-sync has set the database up, else the bare table (its bookkeeping columns then absent). */
export function stateSource(db: import('better-sqlite3').Database, table: 'PosTransactions' | 'InventoryUpdates'): string {
  const has = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'PosSync_RowState'`).get() !== undefined;
  return has ? withState(table) : `"${table}"`;
}
