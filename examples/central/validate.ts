// Checks events against pos-sync-central(7) as strictly as the contract reads, so that a mapping bug in
// pos-sync (money sent as a float, a time without its zone, a missing field) fails loudly in a
// test instead of being stored. Pure functions; each returns the problems found, [] when valid.

type Json = Record<string, unknown>;

/** Decimal text as EF Core stores it ("54.99", "25.0", "-3"): never a float, never an exponent. */
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;


/** Problems with one event of a batch (pos-sync-central(7), batch format). */
export function checkBatchEvent(event: unknown): string[] {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return ['event must be a JSON object'];
  const e = event as Json;
  const problems: string[] = [];
  requireText(e, 'id', problems);
  requireText(e, 'storeId', problems);
  requireText(e, 'productId', problems);
  requireText(e, 'type', problems);
  const occurredAt = checkDateTime(e['occurredAt'], 'utc');
  if (occurredAt !== null) problems.push(`occurredAt ${occurredAt}`);
  // Optional, but when sent it is what tells an edit from a repeat (pos-sync man page, CENTRAL API).
  if ('contentHash' in e && (typeof e['contentHash'] !== 'string' || e['contentHash'] === '')) problems.push('contentHash must be a non-empty string when present');
  if (e['entity'] === 'transaction') checkTransaction(e, problems);
  else if (e['entity'] === 'inventory') checkInventory(e, problems);
  else problems.push('entity must be "transaction" or "inventory"');
  return problems;
}

function checkTransaction(e: Json, problems: string[]): void {
  requireText(e, 'transactionId', problems);
  requireInteger(e, 'quantity', problems);
  for (const key of ['unitPrice', 'totalAmount']) {
    const value = e[key];
    if (typeof value !== 'string' || !DECIMAL_TEXT.test(value)) {
      problems.push(`${key} must be a JSON string holding a decimal (like "54.99"), got ${JSON.stringify(value)}`);
    }
  }
  nullableText(e, 'reference', problems);
  nullableText(e, 'notes', problems);
  const metadata = e['metadata'];
  if (!('metadata' in e)) problems.push(missing('metadata'));
  else if (metadata !== null && typeof metadata !== 'string' && !isObject(metadata)) {
    problems.push('metadata must be a string, an object or null');
  }
}

function checkInventory(e: Json, problems: string[]): void {
  const previous = requireInteger(e, 'previousStock', problems);
  const next = requireInteger(e, 'newStock', problems);
  const change = requireInteger(e, 'quantityChange', problems);
  if (previous !== null && next !== null && change !== null && change !== next - previous) {
    problems.push(`quantityChange must be newStock - previousStock (${next - previous}), got ${change}`);
  }
  nullableText(e, 'reason', problems);
  nullableText(e, 'transactionId', problems);
}

/** Problems with the seed's single payload {transactionId, storeId, type, timestamp, productId,
 *  quantity, price}, numbers as the seed sends them. */
export function checkSingleEvent(event: Json): string[] {
  const problems: string[] = [];
  nullableText(event, 'transactionId', problems);
  requireText(event, 'storeId', problems);
  requireText(event, 'productId', problems);
  requireText(event, 'type', problems);
  requireInteger(event, 'quantity', problems);
  const price = event['price'];
  if (typeof price !== 'number' || !Number.isFinite(price)) problems.push('price must be a JSON number');
  // The seed serialises a zone-less DateTime, so a missing zone is accepted here.
  const timestamp = checkDateTime(event['timestamp'], 'any');
  if (timestamp !== null) problems.push(`timestamp ${timestamp}`);
  return problems;
}

/**
 * Null when `value` is an ISO 8601 date-time (in UTC when `zone` is "utc"), else the problem.
 * Shape: YYYY-MM-DDTHH:MM:SS, then optionally .F (1-9 digits), then Z, ±HH:MM or (when any zone
 * is allowed) nothing. Read by position rather than by a regex with capture groups: it runs for
 * every event of every batch.
 */
export function checkDateTime(value: unknown, zone: 'utc' | 'any'): string | null {
  if (typeof value !== 'string') return 'must be an ISO 8601 date-time string';
  if (value.length < 19 || value[4] !== '-' || value[7] !== '-' || value[10] !== 'T' || value[13] !== ':' || value[16] !== ':') {
    return notIso(value);
  }
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return notIso(value);
  let end = 19;
  if (value[end] === '.') {
    const first = ++end;
    while (end < value.length && digitsAt(value, end, 1) >= 0) end++;
    if (end === first || end - first > 9) return notIso(value);
  }
  const offset = value.slice(end);
  const hasOffset = offset === 'Z' || (offset.length === 6 && (offset[0] === '+' || offset[0] === '-') && offset[3] === ':' && digitsAt(offset, 1, 2) >= 0 && digitsAt(offset, 4, 2) >= 0);
  if (offset !== '' && !hasOffset) return notIso(value);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return `is not a real date: ${value}`;
  if (hour > 23 || minute > 59 || second > 59) return `is not a real time of day: ${value}`;
  if (zone === 'utc' && offset !== 'Z' && offset !== '+00:00') return `must be in UTC (end in Z), got ${value}`;
  return null;
}

function notIso(value: string): string {
  return `must be ISO 8601 like 2025-10-21T14:03:11.123Z, got ${JSON.stringify(value)}`;
}

/** The number written with `count` digits at `at`, or -1 when one of them is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return -1; // also NaN past the end
    n = n * 10 + digit;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
}

function missing(key: string): string {
  return `${key} is missing (send null when there is no value)`;
}

function requireText(e: Json, key: string, problems: string[]): void {
  const value = e[key];
  if (typeof value !== 'string' || value === '') problems.push(`${key} must be a non-empty string`);
}

/** The contract names the field, so it must be there, but it may hold null. */
function nullableText(e: Json, key: string, problems: string[]): void {
  if (!(key in e)) problems.push(missing(key));
  else if (e[key] !== null && typeof e[key] !== 'string') problems.push(`${key} must be a string or null`);
}

function requireInteger(e: Json, key: string, problems: string[]): number | null {
  const value = e[key];
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  problems.push(`${key} must be a whole JSON number`);
  return null;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
