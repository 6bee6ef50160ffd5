// Checks events against SPEC §5 as strictly as the contract reads, so that a mapping bug in
// pos-sync (money sent as a float, a time without its zone, a missing field) fails loudly in a
// test instead of being stored. Pure functions; each returns the problems found, [] when valid.

type Json = Record<string, unknown>;

/** Decimal text as EF Core stores it ("54.99", "25.0", "-3"): never a float, never an exponent. */
const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

/** ISO 8601 date-time; the zone is optional here and checked by the callers. */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/;


/** Problems with one event of a batch (SPEC §5, batch format). */
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

/** Null when `value` is an ISO 8601 date-time (in UTC when `zone` is "utc"), else the problem. */
export function checkDateTime(value: unknown, zone: 'utc' | 'any'): string | null {
  if (typeof value !== 'string') return 'must be an ISO 8601 date-time string';
  const m = ISO_DATE_TIME.exec(value);
  if (m === null) return `must be ISO 8601 like 2025-10-21T14:03:11.123Z, got ${JSON.stringify(value)}`;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return `is not a real date: ${value}`;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) {
    return `is not a real time of day: ${value}`;
  }
  const offset = m[8];
  if (zone === 'utc' && offset !== 'Z' && offset !== '+00:00') return `must be in UTC (end in Z), got ${value}`;
  return null;
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
