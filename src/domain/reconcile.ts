// Reconciliation (`pos-sync reconcile`): the pure part. What a summary of a set of rows is, how two
// summaries are compared, how a time range is split (day → hour → halves) and how a difference is
// narrowed down to ids. No I/O here: the local and central summaries come in through `Summaries`.
//
// A summary is additive over disjoint sets — count, exact decimal total, and a digest that is the
// sum mod 2^256 of sha-256(upper-case id) — so a range's right half is the whole minus the left half:
// narrowing costs one request per level, not two.

import { partsFormatter } from './localtime.js';

// node:crypto is taken when a digest is made, not with this module: the bundled CLI loads every
// module it holds on every timer tick, and node:crypto (with the stream modules it pulls in) costs
// an idle tick milliseconds (pos-sync-internals(7) PERFORMANCE). getBuiltinModule is a plain lookup, no I/O.
const sha256Hex = (text: string): string => process.getBuiltinModule('node:crypto').hash('sha256', text, 'hex');
const sha256Bytes = (text: string): Buffer => process.getBuiltinModule('node:crypto').hash('sha256', text, 'buffer');

/**
 * Money and quantities are summed as integers scaled by 10^SCALE: exact, never binary floats.
 * 28: .NET's decimal has at most 28 fraction digits, so any total a central sums from decimals is
 * read exactly; a digit beyond (only zeros are accepted there) would be no .NET decimal.
 */
export const SCALE = 28;
const SCALE_FACTOR = 10n ** BigInt(SCALE);
const MOD = 1n << 256n;

export interface Summary {
  readonly count: number;
  /** The exact total, scaled by 10^SCALE. */
  readonly total: bigint;
  /** Sum mod 2^256 of sha-256(upper-case id), as an unsigned integer. */
  readonly digest: bigint;
}

export const EMPTY_SUMMARY: Summary = { count: 0, total: 0n, digest: 0n };

/** Up to 40 whole digits: a sum of many of .NET's largest decimals (29 digits) still reads. */
const DECIMAL = /^([+-]?)(\d{1,40})(?:\.(\d{1,200}))?$/;

/** Decimal text ("12.50", "-3", "0.0000000001") → scaled integer; undefined when it is not one. */
export function parseDecimal(text: string): bigint | undefined {
  const m = DECIMAL.exec(text.trim());
  if (!m) return undefined;
  const [, sign, whole] = m;
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > SCALE) return undefined;
  const scaled = BigInt(whole!) * SCALE_FACTOR + BigInt(fraction.padEnd(SCALE, '0'));
  return sign === '-' ? -scaled : scaled;
}

/** Scaled integer → canonical decimal text: no trailing fraction zeros, no "-0" ("12.5", "-3", "0"). */
export function formatDecimal(value: bigint): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / SCALE_FACTOR;
  const fraction = (abs % SCALE_FACTOR).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** sha-256 of the upper-case id, as a 256-bit unsigned integer. */
export function idHash(id: string): bigint {
  return BigInt(`0x${sha256Hex(id.toUpperCase())}`);
}

export function formatDigest(digest: bigint): string {
  return digest.toString(16).padStart(64, '0');
}

export function parseDigest(text: string): bigint | undefined {
  return /^[0-9a-fA-F]{64}$/.test(text) ? BigInt(`0x${text}`) : undefined;
}

/**
 * Accumulates a summary row by row without a BigInt per row for the digest: the hash is added as
 * eight 32-bit words into plain numbers (exact up to 2^21 rows between folds), folded into a
 * BigInt every million rows and at the end. Memory is constant, whatever the number of rows.
 */
export class SummaryBuilder {
  private count = 0;
  private total = 0n;
  private digest = 0n;
  private readonly words = new Float64Array(8);
  private sinceFold = 0;

  add(id: string, amount: bigint): void {
    // crypto.hash: a third faster than createHash().update().digest() for short inputs.
    const h = sha256Bytes(id.toUpperCase());
    for (let i = 0; i < 8; i++) this.words[i]! += h.readUInt32BE(i * 4);
    this.total += amount;
    this.count++;
    if (++this.sinceFold >= 1_000_000) this.fold();
  }

  /** A row whose amount cannot be read: counted and hashed (it exists), its amount left out. */
  addWithoutAmount(id: string): void {
    this.add(id, 0n);
  }

  private fold(): void {
    let value = 0n;
    for (let i = 0; i < 8; i++) {
      value = (value << 32n) + BigInt(this.words[i]!);
      this.words[i] = 0;
    }
    this.digest = (this.digest + value) % MOD;
    this.sinceFold = 0;
  }

  result(): Summary {
    this.fold();
    return { count: this.count, total: this.total, digest: this.digest };
  }
}

export function subtract(a: Summary, b: Summary): Summary {
  return { count: a.count - b.count, total: a.total - b.total, digest: (((a.digest - b.digest) % MOD) + MOD) % MOD };
}

export function sameSummary(a: Summary, b: Summary): boolean {
  return a.count === b.count && a.total === b.total && a.digest === b.digest;
}

// --- time: days in a time zone, ranges and how they split ---

/** A half-open range of occurredAt, epoch ms: [from, to). */
export interface Range {
  readonly from: number;
  readonly to: number;
}

const HOUR = 3_600_000;

/** True when `name` is a time zone this Node knows (IANA name such as "Europe/Berlin", or "UTC"). */
export function isTimeZone(name: string): boolean {
  try {
    partsFormatter(name);
    return true;
  } catch {
    return false;
  }
}

/** Local wall-clock fields of an instant in a zone. */
function localParts(ms: number, timeZone: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  const parts: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts['year']!, m: parts['month']!, d: parts['day']!, h: parts['hour']!, mi: parts['minute']!, s: parts['second']! };
}

/** The zone's offset from UTC at an instant, in ms (Berlin in summer: +7,200,000). */
export function zoneOffset(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s);
  return asUtc - (ms - (((ms % 1000) + 1000) % 1000));
}

/** The local calendar date of an instant, "YYYY-MM-DD". */
export function localDate(ms: number, timeZone: string): string {
  const p = localParts(ms, timeZone);
  return `${String(p.y).padStart(4, '0')}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

/** The instant a local calendar day starts (its midnight; the first instant of it when DST skips midnight). */
export function startOfDay(date: string, timeZone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  // Two rounds settle the offset even when the first guess lands on the other side of a DST change.
  let guess = wall - zoneOffset(wall, timeZone);
  guess = wall - zoneOffset(guess, timeZone);
  if (localDate(guess, timeZone) !== date) guess += HOUR; // midnight did not exist that day
  return guess;
}

/** "YYYY-MM-DD" plus n days (calendar arithmetic, no zone involved). */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** A local calendar day as a range: [its midnight, the next day's midnight) — 23, 24 or 25 hours. */
export function dayRange(date: string, timeZone: string): Range {
  return { from: startOfDay(date, timeZone), to: startOfDay(addDays(date, 1), timeZone) };
}

/** Checks "YYYY-MM-DD" is a real calendar date. */
export function isDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  return new Date(`${text}T00:00:00Z`).toISOString().slice(0, 10) === text;
}

/** The default window: yesterday and today in the zone, [yesterday 00:00, tomorrow 00:00). */
export function defaultWindow(now: number, timeZone: string): Range {
  const today = localDate(now, timeZone);
  return { from: startOfDay(addDays(today, -1), timeZone), to: startOfDay(addDays(today, 1), timeZone) };
}

/**
 * Where to split a range: at the local midnight nearest its middle while it spans more than a day,
 * else at the local hour boundary nearest its middle, else at its middle. So the differences found
 * fall into days and hours a person recognises, and each level still roughly halves the range.
 * Null when the range is one millisecond and cannot be split.
 */
export function splitPoint(range: Range, timeZone: string): number | null {
  if (range.to - range.from < 2) return null;
  const mid = Math.floor((range.from + range.to) / 2);
  const inside = (t: number): boolean => t > range.from && t < range.to;
  const nearest = (candidates: number[]): number | null => {
    const ok = candidates.filter(inside);
    if (ok.length === 0) return null;
    return ok.reduce((best, t) => (Math.abs(t - mid) < Math.abs(best - mid) ? t : best));
  };
  const day = localDate(mid, timeZone);
  const byDay = nearest([startOfDay(day, timeZone), startOfDay(addDays(day, 1), timeZone)]);
  if (byDay !== null) return byDay;
  const offset = zoneOffset(mid, timeZone);
  const hourStart = Math.floor((mid + offset) / HOUR) * HOUR - offset;
  const byHour = nearest([hourStart, hourStart + HOUR]);
  if (byHour !== null) return byHour;
  return mid;
}

// --- narrowing ---

/** One row of a listed range: its id and amount (decimal text as stored; null when unreadable). */
export interface ListedRow {
  readonly id: string;
  readonly amount: string | null;
  /** From the central: the till it came from; null when it came without one (before tillId). */
  readonly till?: string | null;
}

/** Where narrowing asks for the summaries and listings of a range, here and at the central. */
export interface Summaries {
  /** This till's delivered rows in a range. */
  local(range: Range): Promise<Summary>;
  central(range: Range): Promise<Summary>;
  localRows(range: Range): Promise<ListedRow[]>;
  centralRows(range: Range): Promise<ListedRow[]>;
}

export interface AmountDifference {
  readonly id: string;
  readonly here: string | null;
  readonly central: string | null;
}

export interface Differences {
  /** Delivered here (Synced = 1), not at the central. */
  readonly missingAtCentral: ListedRow[];
  /** At the central, not delivered from here. */
  readonly extraAtCentral: ListedRow[];
  /** On both sides with a different amount. */
  readonly amountDiffers: AmountDifference[];
  /** The ranges that were listed, for the report. */
  readonly ranges: Range[];
}

/** A range is listed (ids fetched) once neither side holds more rows than this. */
export const LIST_LIMIT = 500;

function sameAmount(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  return x !== undefined && y !== undefined ? x === y : a === b;
}

/** Compares two listings of the same range. */
export function compareListings(here: readonly ListedRow[], central: readonly ListedRow[]): Omit<Differences, 'ranges'> {
  const centralById = new Map(central.map((r) => [r.id.toUpperCase(), r]));
  const hereIds = new Set<string>();
  const missingAtCentral: ListedRow[] = [];
  const amountDiffers: AmountDifference[] = [];
  for (const row of here) {
    const key = row.id.toUpperCase();
    hereIds.add(key);
    const other = centralById.get(key);
    if (!other) missingAtCentral.push(row);
    else if (!sameAmount(row.amount, other.amount)) amountDiffers.push({ id: row.id, here: row.amount, central: other.amount });
  }
  const extraAtCentral = central.filter((r) => !hereIds.has(r.id.toUpperCase()));
  return { missingAtCentral, extraAtCentral, amountDiffers };
}

/**
 * Finds which rows differ between this till and the central in `range`, given both sides' summaries
 * of it. Depth first, one central request per level (the right half is derived by subtraction),
 * until a differing range is small enough to list. Memory holds one path of the split tree plus
 * the listings of differing ranges.
 */
export async function narrow(range: Range, here: Summary, central: Summary, summaries: Summaries, timeZone: string, listLimit = LIST_LIMIT): Promise<Differences> {
  const out: Differences = { missingAtCentral: [], extraAtCentral: [], amountDiffers: [], ranges: [] };
  const visit = async (r: Range, h: Summary, c: Summary): Promise<void> => {
    if (sameSummary(h, c)) return;
    const at = Math.max(h.count, c.count) <= listLimit ? null : splitPoint(r, timeZone);
    if (at === null) {
      const [hereRows, centralRows] = [await summaries.localRows(r), await summaries.centralRows(r)];
      const found = compareListings(hereRows, centralRows);
      out.missingAtCentral.push(...found.missingAtCentral);
      out.extraAtCentral.push(...found.extraAtCentral);
      out.amountDiffers.push(...found.amountDiffers);
      out.ranges.push(r);
      return;
    }
    const left: Range = { from: r.from, to: at };
    const right: Range = { from: at, to: r.to };
    const hl = await summaries.local(left);
    const cl = await summaries.central(left);
    await visit(left, hl, cl);
    await visit(right, subtract(h, hl), subtract(c, cl));
  };
  await visit(range, here, central);
  return out;
}

/** The money difference the listed rows explain: here − central, scaled. */
export function moneyDifference(here: Summary, central: Summary): bigint {
  return here.total - central.total;
}
