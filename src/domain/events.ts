// Rows → the central API's events (pos-sync-central(7)). Business columns are outside input written by the
// POS: each is checked, and a row that cannot be represented faithfully is reported, not sent.
// Money stays the stored decimal text, never a binary float.

import type { Entity, InventoryRow, SqlValue, TransactionRow } from './rows.js';
import { dbTimeToIso } from './time.js';

export interface TransactionEvent {
  readonly id: string;
  readonly entity: 'transaction';
  readonly storeId: string;
  readonly productId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly transactionId: string;
  readonly quantity: number;
  readonly unitPrice: string;
  readonly totalAmount: string;
  readonly reference: string | null;
  readonly notes: string | null;
  readonly metadata: string | null;
  /** Changes whenever the row's stored content changes: a central tells an edit from a repeat by it. */
  readonly contentHash?: string;
  /** Sync.TillId: which till of the store sent it (optional for a central; last, so the rest reads as before). */
  readonly tillId?: string;
}

export interface InventoryEvent {
  readonly id: string;
  readonly entity: 'inventory';
  readonly storeId: string;
  readonly productId: string;
  readonly type: string;
  readonly occurredAt: string;
  readonly previousStock: number;
  readonly newStock: number;
  readonly quantityChange: number;
  readonly reason: string | null;
  readonly transactionId: string | null;
  readonly contentHash?: string;
  readonly tillId?: string;
}

export type CentralEvent = TransactionEvent | InventoryEvent;

/** The seed's one-row payload, for Sync.ApiFormat = "single". */
export interface SinglePayload {
  readonly transactionId: string | null;
  readonly storeId: string;
  readonly type: string;
  readonly timestamp: string;
  readonly productId: string;
  readonly quantity: number;
  readonly price: number;
  /** Added after the seed's fields; a central built for the seed ignores them. */
  readonly contentHash?: string;
  readonly tillId?: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type Mapped<T> = { ok: true; value: T } | { ok: false; id: string; error: string };

/**
 * A .NET `decimal` as EF Core writes it (invariant culture, no exponent): a 96-bit integer
 * mantissa (at most 79228162514264337593543950335, 29 digits) and a scale of 0 to 28 fraction
 * digits, e.g. 10m/3m = "3.3333333333333333333333333333". Any value it can hold goes out as is.
 */
const DECIMAL = /^-?(\d+)(?:\.(\d{1,28}))?$/;
const DECIMAL_MAX_MANTISSA = '79228162514264337593543950335';

/** Whether `text` is a value a .NET decimal holds, written as EF Core writes it. */
export function isDotNetDecimal(text: string): boolean {
  const m = DECIMAL.exec(text);
  if (m === null) return false;
  if (text.length < DECIMAL_MAX_MANTISSA.length) return true; // fewer than 29 digits: always fits
  const digits = (m[1]! + (m[2] ?? '')).replace(/^0+/, '');
  if (digits.length !== DECIMAL_MAX_MANTISSA.length) return digits.length < DECIMAL_MAX_MANTISSA.length;
  return digits <= DECIMAL_MAX_MANTISSA; // same length: text order is numeric order
}

class BadColumn extends Error {}

function str(row: object, column: string, value: SqlValue): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw new BadColumn(`${column} is ${describe(value)}, expected text`);
}

function optStr(column: string, value: SqlValue): string | null {
  if (value === null || typeof value === 'string') return value;
  throw new BadColumn(`${column} is ${describe(value)}, expected text or NULL`);
}

function int(column: string, value: SqlValue): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'bigint' && value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(value);
  throw new BadColumn(`${column} is ${describe(value)}, expected an integer`);
}

function money(column: string, value: SqlValue): string {
  // EF Core stores decimals as TEXT; a number here means a POS wrote a float: refuse to guess.
  if (typeof value === 'string' && isDotNetDecimal(value)) return value;
  throw new BadColumn(`${column} is ${describe(value)}, expected decimal text like "12.50" (a .NET decimal: at most 29 digits, 28 after the point)`);
}

function time(column: string, value: SqlValue): string {
  const iso = typeof value === 'string' ? dbTimeToIso(value) : undefined;
  if (iso) return iso;
  throw new BadColumn(`${column} is ${describe(value)}, expected a UTC datetime 'yyyy-MM-dd HH:mm:ss.FFFFFFF'`);
}

function describe(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (Buffer.isBuffer(value)) return 'a BLOB';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** The Id as text for logs and SyncRetryLogs; a BLOB (a buggy POS) as its SQL literal X'…'. */
function rowId(value: SqlValue): string {
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex').toUpperCase()}'`;
  return typeof value === 'string' ? value : String(value);
}

/** A row the POS wrote wrongly, as the invalid-row result; anything else is a bug and goes on up. */
function invalidRow(id: SqlValue, err: unknown): { ok: false; id: string; error: string } {
  if (err instanceof BadColumn) return { ok: false, id: rowId(id), error: `invalid row: ${err.message}` };
  throw err;
}

function checkId(id: SqlValue): string {
  if (typeof id !== 'string' || id === '') throw new BadColumn(`Id is ${describe(id)}, expected text`);
  return id;
}

// The events are built as one object literal each, then the optional fields assigned: spreading
// `{contentHash}`/`{tillId}` in, and a closure per row, cost a drain (which maps every row) 88
// instead of 69 ms CPU per 100,000 rows. Keys keep the order the central API lists them in.

export function transactionEvent(row: TransactionRow, tillId?: string, contentHash?: string): Mapped<TransactionEvent> {
  try {
    const event: Mutable<TransactionEvent> = {
      id: checkId(row.Id),
      entity: 'transaction',
      storeId: str(row, 'StoreId', row.StoreId),
      productId: str(row, 'ProductId', row.ProductId),
      type: str(row, 'TransactionType', row.TransactionType),
      occurredAt: time('TransactionDate', row.TransactionDate),
      transactionId: str(row, 'TransactionId', row.TransactionId),
      quantity: int('Quantity', row.Quantity),
      unitPrice: money('UnitPrice', row.UnitPrice),
      totalAmount: money('TotalAmount', row.TotalAmount),
      reference: optStr('Reference', row.Reference),
      notes: optStr('Notes', row.Notes),
      metadata: optStr('Metadata', row.Metadata),
    };
    if (contentHash !== undefined) event.contentHash = contentHash;
    if (tillId !== undefined) event.tillId = tillId;
    return { ok: true, value: event };
  } catch (err) {
    return invalidRow(row.Id, err);
  }
}

export function inventoryEvent(row: InventoryRow, tillId?: string, contentHash?: string): Mapped<InventoryEvent> {
  try {
    const id = checkId(row.Id);
    const previousStock = int('PreviousStock', row.PreviousStock);
    const newStock = int('NewStock', row.NewStock);
    const event: Mutable<InventoryEvent> = {
      id,
      entity: 'inventory',
      storeId: str(row, 'StoreId', row.StoreId),
      productId: str(row, 'ProductId', row.ProductId),
      type: str(row, 'UpdateType', row.UpdateType),
      occurredAt: time('UpdateDate', row.UpdateDate),
      previousStock,
      newStock,
      quantityChange: newStock - previousStock,
      reason: optStr('Reason', row.Reason),
      transactionId: optStr('TransactionId', row.TransactionId),
    };
    if (contentHash !== undefined) event.contentHash = contentHash;
    if (tillId !== undefined) event.tillId = tillId;
    return { ok: true, value: event };
  } catch (err) {
    return invalidRow(row.Id, err);
  }
}

export function toEvent(entity: Entity, row: TransactionRow | InventoryRow, tillId?: string, contentHash?: string): Mapped<CentralEvent> {
  return entity === 'transaction' ? transactionEvent(row as TransactionRow, tillId, contentHash) : inventoryEvent(row as InventoryRow, tillId, contentHash);
}

/** `{tillId}` when there is one, to spread last into a payload. */
const till = (tillId: string | undefined): { tillId?: string } => (tillId === undefined ? {} : { tillId });
/** `{contentHash}` when there is one. */
const hashed = (contentHash: string | undefined): { contentHash?: string } => (contentHash === undefined ? {} : { contentHash });

/** The seed's payload: numbers as the seed sends them (its decimals become JSON numbers). */
export function singlePayload(event: CentralEvent): SinglePayload {
  if (event.entity === 'transaction') {
    return {
      transactionId: event.transactionId,
      storeId: event.storeId,
      type: event.type,
      timestamp: event.occurredAt,
      productId: event.productId,
      quantity: event.quantity,
      price: Number(event.unitPrice),
      ...hashed(event.contentHash),
      ...till(event.tillId),
    };
  }
  return {
    transactionId: event.transactionId,
    storeId: event.storeId,
    type: event.type,
    timestamp: event.occurredAt,
    productId: event.productId,
    quantity: event.quantityChange,
    price: 0,
    ...hashed(event.contentHash),
    ...till(event.tillId),
  };
}
