// The Kafka event for one delivered row, in the seed's format (pos-sync-central(7) KAFKA): same key, same JSON
// property names and order, same headers, plus an `id` header carrying the row Id so consumers
// that read uncommitted can drop the records of aborted transactions. Pure: no kafkajs, no clock
// (the publish time and the synced time are parameters).

import type { Entity, InventoryRow, PendingRow, SqlValue, TransactionRow } from '../domain/rows.js';

export interface OutgoingMessage {
  /** The row's Id as stored: what the caller marks published once Kafka has the event. */
  readonly rowId: string;
  readonly entity: Entity;
  readonly key: string;
  /** The JSON document, already serialized (money digits are spliced in exactly). */
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type MessageResult =
  | { readonly ok: true; readonly message: OutgoingMessage }
  | { readonly ok: false; readonly rowId: string | undefined; readonly error: string };

export interface MessageContext {
  /** When the event is built: the seed's `Timestamp` (its DateTime.UtcNow at publish time). */
  readonly now: Date;
  /**
   * When the central accepted the row: the row's SyncedAt, as a Date or as the database text
   * (rows published in a later pass, after a Kafka outage, carry it from the database).
   */
  readonly syncedAt: Date | SqlValue;
  /**
   * Sync.TillId: which till of the store published it. Added after the seed's properties (a
   * consumer of the seed's format ignores it); left out when not given.
   */
  readonly tillId?: string | undefined;
}

export function buildKafkaMessage(pending: PendingRow, context: MessageContext): MessageResult {
  return pending.entity === 'transaction'
    ? buildTransactionMessage(pending.row, context)
    : buildInventoryMessage(pending.row, context);
}

export function buildTransactionMessage(row: TransactionRow, context: MessageContext): MessageResult {
  return build(row.Id, (rowId) => {
    const storeId = requiredText(row.StoreId, 'StoreId');
    const productId = requiredText(row.ProductId, 'ProductId');
    const transactionDate = dateTime(row.TransactionDate, 'TransactionDate');
    const value = jsonObject([
      ['EventType', JSON.stringify('TransactionSynced')],
      ['Timestamp', JSON.stringify(formatJsonDate(fromJsDate(context.now, 'now')))],
      ['StoreId', JSON.stringify(storeId)],
      ['TransactionId', JSON.stringify(requiredText(row.TransactionId, 'TransactionId'))],
      ['ProductId', JSON.stringify(productId)],
      ['TransactionType', JSON.stringify(text(row.TransactionType, 'TransactionType'))],
      ['Quantity', String(int32(row.Quantity, 'Quantity'))],
      ['UnitPrice', decimalToken(row.UnitPrice, 'UnitPrice')],
      ['TotalAmount', decimalToken(row.TotalAmount, 'TotalAmount')],
      ['TransactionDate', JSON.stringify(formatJsonDate(transactionDate))],
      ['SyncedAt', JSON.stringify(formatJsonDate(syncedAt(context.syncedAt)))],
      ...tillIdEntry(context),
    ]);
    return message(rowId, 'transaction', storeId, productId, value, 'transaction', transactionDate);
  });
}

export function buildInventoryMessage(row: InventoryRow, context: MessageContext): MessageResult {
  return build(row.Id, (rowId) => {
    const storeId = requiredText(row.StoreId, 'StoreId');
    const productId = requiredText(row.ProductId, 'ProductId');
    const updateDate = dateTime(row.UpdateDate, 'UpdateDate');
    const quantityChange = int32(row.NewStock, 'NewStock') - int32(row.PreviousStock, 'PreviousStock');
    const value = jsonObject([
      ['EventType', JSON.stringify('InventoryUpdateSynced')],
      ['Timestamp', JSON.stringify(formatJsonDate(fromJsDate(context.now, 'now')))],
      ['StoreId', JSON.stringify(storeId)],
      ['UpdateId', JSON.stringify(seedGuidText(rowId))],
      ['ProductId', JSON.stringify(productId)],
      ['UpdateType', JSON.stringify(text(row.UpdateType, 'UpdateType'))],
      ['QuantityChange', String(quantityChange)],
      ['Reason', JSON.stringify(optionalText(row.Reason, 'Reason'))],
      ['UpdateDate', JSON.stringify(formatJsonDate(updateDate))],
      ['SyncedAt', JSON.stringify(formatJsonDate(syncedAt(context.syncedAt)))],
      ...tillIdEntry(context),
    ]);
    return message(rowId, 'inventory', storeId, productId, value, 'inventory-update', updateDate);
  });
}

// --- assembling -------------------------------------------------------------------------------

/** A column that makes the row unusable; caught in `build` and turned into an error result. */
class BadColumn extends Error {}

function build(id: SqlValue, make: (rowId: string) => OutgoingMessage): MessageResult {
  if (typeof id !== 'string' || id.trim() === '') {
    return { ok: false, rowId: undefined, error: `row has no usable Id (${describe(id)})` };
  }
  try {
    return { ok: true, message: make(id) };
  } catch (e) {
    if (e instanceof BadColumn) return { ok: false, rowId: id, error: `row ${id}: ${e.message}` };
    throw e;
  }
}

function message(
  rowId: string,
  entity: Entity,
  storeId: string,
  productId: string,
  value: string,
  eventType: 'transaction' | 'inventory-update',
  businessDate: UtcDateTime,
): OutgoingMessage {
  return {
    rowId,
    entity,
    key: `${storeId}_${productId}`,
    value,
    headers: {
      'store-id': storeId,
      'event-type': eventType,
      timestamp: formatRoundTrip(businessDate),
      id: rowId,
    },
  };
}

/** Serializes [name, JSON text] pairs in order: the seed's property order, raw number tokens. */
function tillIdEntry(context: MessageContext): ReadonlyArray<readonly [string, string]> {
  return context.tillId === undefined ? [] : [['TillId', JSON.stringify(context.tillId)]];
}

function jsonObject(entries: ReadonlyArray<readonly [string, string]>): string {
  return `{${entries.map(([name, json]) => `${JSON.stringify(name)}:${json}`).join(',')}}`;
}

// --- column values ----------------------------------------------------------------------------

function text(value: SqlValue, column: string): string {
  if (typeof value !== 'string') throw new BadColumn(`${column} must be text (${describe(value)})`);
  return value;
}

function requiredText(value: SqlValue, column: string): string {
  const t = text(value, column);
  if (t.trim() === '') throw new BadColumn(`${column} is empty`);
  return t;
}

function optionalText(value: SqlValue, column: string): string | null {
  return value === null ? null : text(value, column);
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** The seed's `int` columns. SQLite's INTEGER affinity already turned numeric text into numbers. */
function int32(value: SqlValue, column: string): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) {
    throw new BadColumn(`${column} must be a whole number (${describe(value)})`);
  }
  return n;
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * Money as a JSON *number* token whose digits are exactly the stored decimal text.
 * Why a number: the seed serialized C# `decimal` with System.Text.Json, which writes a JSON
 * number carrying the decimal's own digits and scale ("25.0" stays 25.0, "54.99" stays 54.99),
 * and consumers of the existing topic expect numbers. Why not parseFloat: a round trip through
 * binary floating point can change the digits (and drops the scale), so the token is built
 * from the text, only normalized to valid JSON (no "+", no leading zeros, no bare ".5").
 */
function decimalToken(value: SqlValue, column: string): string {
  let raw: string;
  if (typeof value === 'string') raw = value.trim();
  else if (typeof value === 'bigint') raw = value.toString();
  else if (typeof value === 'number' && Number.isFinite(value)) raw = String(value); // shortest round-trip text
  else throw new BadColumn(`${column} must be a decimal number (${describe(value)})`);

  const m = DECIMAL_TEXT.exec(raw);
  const [, sign = '', intDigits = '', fraction] = m ?? [];
  if (!m || (intDigits === '' && !fraction)) {
    throw new BadColumn(`${column} must be a decimal number (${describe(value)})`);
  }
  const integer = intDigits.replace(/^0+(?=\d)/, '') || '0';
  // .NET decimal holds 28-29 significant digits; the seed could not have read more.
  if ((integer.replace(/^0+/, '') + (fraction ?? '')).length > 28) {
    throw new BadColumn(`${column} has more digits than a decimal holds (${describe(value)})`);
  }
  return `${sign === '-' ? '-' : ''}${integer}${fraction ? `.${fraction}` : ''}`;
}

/**
 * The seed read `Id` into a .NET Guid and System.Text.Json wrote it back in lower case; the
 * POS stores it in upper case. `UpdateId` keeps the seed's form; the `id` header keeps the
 * stored text, the same value the central API receives.
 */
function seedGuidText(id: string): string {
  return /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/.test(id) ? id.toLowerCase() : id;
}

// --- datetimes --------------------------------------------------------------------------------

/** A UTC instant kept as text parts so all 7 fraction digits of EF Core's text survive. */
interface UtcDateTime {
  /** yyyy-MM-ddTHH:mm:ss */
  readonly seconds: string;
  /** 0 to 7 digits, trailing zeros dropped. */
  readonly fraction: string;
}

const EF_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(?:Z|[+-]00:?00)?$/;

/** EF Core text `yyyy-MM-dd HH:mm:ss.FFFFFFF`, UTC without a zone (a `T` or a UTC zone is accepted). */
function dateTime(value: SqlValue, column: string): UtcDateTime {
  const m = typeof value === 'string' ? EF_DATETIME.exec(value.trim()) : null;
  if (!m) throw new BadColumn(`${column} must be a date and time (${describe(value)})`);
  const [, y = '', mo = '', d = '', h = '', mi = '', s = '', fraction = ''] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new BadColumn(`${column} is not a valid date and time (${describe(value)})`);
  }
  return { seconds: `${y}-${mo}-${d}T${h}:${mi}:${s}`, fraction: fraction.replace(/0+$/, '') };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

function fromJsDate(date: Date, what: string): UtcDateTime {
  if (Number.isNaN(date.getTime())) throw new BadColumn(`${what} is not a valid date`);
  const iso = date.toISOString(); // yyyy-MM-ddTHH:mm:ss.sssZ
  return { seconds: iso.slice(0, 19), fraction: iso.slice(20, 23).replace(/0+$/, '') };
}

function syncedAt(value: Date | SqlValue): UtcDateTime {
  return value instanceof Date ? fromJsDate(value, 'SyncedAt') : dateTime(value, 'SyncedAt');
}

/**
 * System.Text.Json's DateTime form: ISO 8601, fraction only as long as needed. The seed read
 * database dates with an unspecified kind and so wrote them without a zone; they are UTC by
 * contract (pos-sync-operations(7) THE LOCAL DATABASE), so pos-sync says so with `Z` and every consumer reads the same instant.
 */
function formatJsonDate(t: UtcDateTime): string {
  return `${t.seconds}${t.fraction ? `.${t.fraction}` : ''}Z`;
}

/** .NET's round-trip "O" format, as the seed's `timestamp` header: always 7 fraction digits. */
function formatRoundTrip(t: UtcDateTime): string {
  return `${t.seconds}.${t.fraction.padEnd(7, '0')}Z`;
}

function describe(value: unknown): string {
  if (value === null) return 'NULL';
  if (Buffer.isBuffer(value)) return `a ${value.length}-byte blob`;
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}…"` : `"${value}"`;
  return `${typeof value} ${String(value)}`;
}
