// Rows as the POS application writes them (the seed's EF Core entities), read raw from SQLite.
// Every business column is outside input: a buggy POS may have written NULL or a wrong type,
// so values are typed `unknown`-ish here and validated when they become events (domain/events.ts).

export type Entity = 'transaction' | 'inventory';

export const ENTITIES: readonly Entity[] = ['transaction', 'inventory'];

/** The SQLite value types better-sqlite3 can hand back. */
export type SqlValue = string | number | bigint | Buffer | null;

export interface TransactionRow {
  readonly rowid: number;
  readonly Id: SqlValue;
  readonly TransactionId: SqlValue;
  readonly StoreId: SqlValue;
  readonly ProductId: SqlValue;
  readonly TransactionType: SqlValue;
  readonly Quantity: SqlValue;
  readonly UnitPrice: SqlValue;
  readonly TotalAmount: SqlValue;
  readonly TransactionDate: SqlValue;
  readonly CreatedAt: SqlValue;
  readonly Metadata: SqlValue;
  readonly Reference: SqlValue;
  readonly Notes: SqlValue;
}

export interface InventoryRow {
  readonly rowid: number;
  readonly Id: SqlValue;
  readonly StoreId: SqlValue;
  readonly ProductId: SqlValue;
  readonly PreviousStock: SqlValue;
  readonly NewStock: SqlValue;
  readonly UpdateType: SqlValue;
  readonly UpdateDate: SqlValue;
  readonly CreatedAt: SqlValue;
  readonly Reason: SqlValue;
  readonly TransactionId: SqlValue;
}

export type PendingRow =
  | { readonly entity: 'transaction'; readonly row: TransactionRow }
  | { readonly entity: 'inventory'; readonly row: InventoryRow };
