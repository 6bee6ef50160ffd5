// The reference central's summary endpoint (pos-sync's README, "Reconciliation"): for a store, an
// entity, optionally a till, and a half-open range of occurredAt, the number of distinct ids it
// stored, the exact sum of totalAmount (transactions) or quantityChange (inventory), and the digest
//   digest = ( Σ sha-256(upper-case id) as a 256-bit big-endian unsigned integer ) mod 2^256,
// written as 64 lower-case hex digits. With list=ids, the rows of the range as well.
//
// The hot path (POST) is not touched: the figures come from an index table built lazily, on the
// first summary request after new batches arrived, from what the central stored. So that one
// indexed range query answers a summary, everything is summed by SQLite's integer SUM, exactly:
// the hash as eight 32-bit words, money as the amount × 10^28 (.NET's decimal has at most 28
// fraction digits) in seven signed base-10^9 limbs. SUM of a limb overflows only past 9·10^9 rows.
// An amount that does not fit that (more than 28 fraction digits, or more than 35 whole digits) is
// marked `wide` and summed apart in BigInt at whatever scale it has: every decimal text is exact.
//
// Till: the event's `tillId` (pos-sync sends Sync.TillId), NULL for events sent before it existed.
// Asked for a till, the answer holds that till's rows and the rows without a till: the store's one
// till before the upgrade sees its old rows match; in a store with several tills, the others' old
// rows come back marked `till: null` in a listing and pos-sync reports them apart (README).

import type Database from 'better-sqlite3';
import { hash } from 'node:crypto';

import { parseJsonBody } from './body.js';

/** Bumped when summary_rows changes shape: the index is derived data, rebuilt from the batches. */
const INDEX_VERSION = 2;

export const SUMMARY_SCHEMA = `
CREATE TABLE IF NOT EXISTS summary_rows (
  id TEXT NOT NULL,
  store TEXT NOT NULL,
  till TEXT,
  entity TEXT NOT NULL,
  at INTEGER NOT NULL,
  amount TEXT NOT NULL,
  m0 INTEGER NOT NULL, m1 INTEGER NOT NULL, m2 INTEGER NOT NULL, m3 INTEGER NOT NULL,
  m4 INTEGER NOT NULL, m5 INTEGER NOT NULL, m6 INTEGER NOT NULL,
  wide INTEGER NOT NULL,
  h0 INTEGER NOT NULL, h1 INTEGER NOT NULL, h2 INTEGER NOT NULL, h3 INTEGER NOT NULL,
  h4 INTEGER NOT NULL, h5 INTEGER NOT NULL, h6 INTEGER NOT NULL, h7 INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS summary_rows_range ON summary_rows (store, entity, at);
CREATE TABLE IF NOT EXISTS summary_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
`;

export const SUMMARY_OBJECTS = ['summary_rows', 'summary_rows_range', 'summary_meta'];

/** The fixed scale of the limbs: .NET's decimal holds at most 28 fraction digits. */
const SCALE = 28;
const LIMB = 10n ** 9n;
const LIMBS = 7;
const MOD = 1n << 256n;
/** Decimal text as EF Core writes it, any number of digits (bounded so one row cannot cost much). */
const DECIMAL = /^([+-]?)(\d{1,200})(?:\.(\d{1,200}))?$/;

/** An exact decimal: value × 10^-scale. */
export interface Decimal {
  readonly value: bigint;
  readonly scale: number;
}

export function parseDecimalText(text: string): Decimal | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const fraction = m[3] ?? '';
  const value = BigInt(`${m[2]!}${fraction}`);
  return { value: m[1] === '-' ? -value : value, scale: fraction.length };
}

function rescale(d: Decimal, scale: number): bigint {
  return d.value * 10n ** BigInt(scale - d.scale);
}

export function addDecimals(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { value: rescale(a, scale) + rescale(b, scale), scale };
}

/** Canonical text: no trailing fraction zeros, no "-0" ("12.5", "-3", "0"). */
export function formatDecimalText(d: Decimal): string {
  const negative = d.value < 0n;
  const digits = (negative ? -d.value : d.value).toString().padStart(d.scale + 1, '0');
  const whole = digits.slice(0, digits.length - d.scale);
  const fraction = digits.slice(digits.length - d.scale).replace(/0+$/, '');
  return `${negative && (whole !== '0' || fraction !== '') ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * The amount × 10^28 as seven signed base-10^9 limbs, least significant first; null when it does not
 * fit (a wide amount). Cut from the digits as text: indexing a month of sales must not cost a BigInt
 * division per limb.
 */
export function limbsOf(text: string): number[] | null {
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const fraction = (m[3] ?? '').replace(/0+$/, '');
  if (fraction.length > SCALE) return null;
  const digits = `${m[2]!}${fraction.padEnd(SCALE, '0')}`.replace(/^0+/, '');
  if (digits.length > LIMBS * 9) return null;
  const negative = m[1] === '-';
  const limbs: number[] = [];
  for (let i = 0; i < LIMBS; i++) {
    const end = digits.length - 9 * i;
    const limb = end > 0 ? Number(digits.slice(Math.max(0, end - 9), end)) : 0;
    limbs.push(negative && limb !== 0 ? -limb : limb);
  }
  return limbs;
}

export interface SummaryAnswer {
  count: number;
  totalAmount: string;
  digest: string;
  rows?: Array<{ id: string; amount: string; till: string | null }>;
}

/** ISO 8601 with up to 7 fraction digits → epoch ms, truncated like pos-sync does. */
export function occurredMs(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}.${(m[2] ?? '').padEnd(3, '0').slice(0, 3)}${m[3]}`);
  return Number.isFinite(ms) ? ms : null;
}

interface Indexed {
  id: string;
  store: string;
  till: string | null;
  entity: string;
  at: number;
  amount: string;
  /** Seven limbs, or null: a wide amount, summed apart. */
  limbs: number[] | null;
  h: number[];
}

/** One stored event as an index row; null for what cannot be summarised (the seed's single format). */
export function indexRow(event: unknown, storeHeader: string | null): Indexed | null {
  if (typeof event !== 'object' || event === null) return null;
  const e = event as Record<string, unknown>;
  if (typeof e['id'] !== 'string' || (e['entity'] !== 'transaction' && e['entity'] !== 'inventory')) return null;
  const at = occurredMs(e['occurredAt']);
  if (at === null) return null;
  const raw = e['entity'] === 'transaction' ? e['totalAmount'] : e['quantityChange'];
  const amount = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : typeof raw === 'string' ? raw : null;
  if (amount === null || !DECIMAL.test(amount)) return null;
  const digest = hash('sha256', e['id'].toUpperCase(), 'buffer');
  const h = Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4));
  const store = storeHeader ?? (typeof e['storeId'] === 'string' ? e['storeId'] : '');
  const till = typeof e['tillId'] === 'string' && e['tillId'] !== '' ? e['tillId'] : null;
  return { id: e['id'], store, till, entity: e['entity'], at, amount, limbs: limbsOf(amount), h };
}

interface BatchRow {
  seq: number;
  format: string;
  store_header: string | null;
  events: Buffer;
}

export class SummaryIndex {
  private readonly insert: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TABLE IF NOT EXISTS summary_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
    const version = (db.prepare("SELECT v FROM summary_meta WHERE k = 'version'").get() as { v: number } | undefined)?.v ?? 0;
    if (version !== INDEX_VERSION) {
      // An index of an older shape (no till, money in two parts): dropped, rebuilt by catchUp().
      db.exec('DROP TABLE IF EXISTS summary_rows; DELETE FROM summary_meta;');
      db.prepare("INSERT INTO summary_meta (k, v) VALUES ('version', ?)").run(INDEX_VERSION);
    }
    db.exec(SUMMARY_SCHEMA);
    this.insert = db.prepare(
      `INSERT INTO summary_rows (id, store, till, entity, at, amount, m0, m1, m2, m3, m4, m5, m6, wide, h0, h1, h2, h3, h4, h5, h6, h7)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  private add(row: Indexed): void {
    const limbs = row.limbs ?? [0, 0, 0, 0, 0, 0, 0];
    this.insert.run(row.id, row.store, row.till, row.entity, row.at, row.amount, ...limbs, row.limbs === null ? 1 : 0, ...row.h);
  }

  private indexedSeq(): number {
    const row = this.db.prepare("SELECT v FROM summary_meta WHERE k = 'seq'").get() as { v: number } | undefined;
    return row?.v ?? 0;
  }

  /** Indexes the batches stored since the last call. */
  catchUp(): void {
    const last = this.indexedSeq();
    const batches = this.db
      .prepare("SELECT seq, format, store_header, CAST(events AS BLOB) AS events FROM batches WHERE seq > ? AND format = 'batch' ORDER BY seq")
      .all(last) as BatchRow[];
    const maxSeq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM batches').get() as { m: number }).m;
    if (maxSeq <= last) return;
    this.db.transaction(() => {
      for (const batch of batches) {
        for (const event of parseJsonBody(batch.events) as unknown[]) {
          const row = indexRow(event, batch.store_header);
          if (row) this.add(row);
        }
      }
      this.db.prepare("INSERT INTO summary_meta (k, v) VALUES ('seq', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v").run(maxSeq);
    })();
  }

  /** `till` null: the whole store; a till: its rows and the rows that came without a till. */
  summary(store: string, till: string | null, entity: string, from: number, to: number, list: boolean, maxRows: number): SummaryAnswer | 'tooMany' {
    this.catchUp();
    const where = `store = ? AND entity = ? AND at >= ? AND at < ?${till === null ? '' : ' AND (till = ? OR till IS NULL)'}`;
    const params = till === null ? [store, entity, from, to] : [store, entity, from, to, till];
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n, COALESCE(SUM(wide), 0) AS wide,
           COALESCE(SUM(m0), 0) AS m0, COALESCE(SUM(m1), 0) AS m1, COALESCE(SUM(m2), 0) AS m2, COALESCE(SUM(m3), 0) AS m3,
           COALESCE(SUM(m4), 0) AS m4, COALESCE(SUM(m5), 0) AS m5, COALESCE(SUM(m6), 0) AS m6,
           COALESCE(SUM(h0), 0) AS h0, COALESCE(SUM(h1), 0) AS h1, COALESCE(SUM(h2), 0) AS h2, COALESCE(SUM(h3), 0) AS h3,
           COALESCE(SUM(h4), 0) AS h4, COALESCE(SUM(h5), 0) AS h5, COALESCE(SUM(h6), 0) AS h6, COALESCE(SUM(h7), 0) AS h7
         FROM summary_rows WHERE ${where}`,
      )
      .safeIntegers(true)
      .get(...params) as Record<string, bigint>;
    let digest = 0n;
    for (let i = 0; i < 8; i++) digest = (digest << 32n) + r[`h${i}`]!;
    let scaled = 0n;
    for (let i = LIMBS - 1; i >= 0; i--) scaled = scaled * LIMB + r[`m${i}`]!;
    let total: Decimal = { value: scaled, scale: SCALE };
    if (r['wide']! > 0n) {
      const wide = this.db.prepare(`SELECT amount FROM summary_rows WHERE ${where} AND wide = 1`).pluck().all(...params) as string[];
      for (const amount of wide) total = addDecimals(total, parseDecimalText(amount)!);
    }
    const answer: SummaryAnswer = {
      count: Number(r['n']),
      totalAmount: formatDecimalText(total),
      digest: (digest % MOD).toString(16).padStart(64, '0'),
    };
    if (list) {
      if (answer.count > maxRows) return 'tooMany';
      answer.rows = this.db
        .prepare(`SELECT id, amount, till FROM summary_rows WHERE ${where} ORDER BY at, id`)
        .all(...params) as Array<{ id: string; amount: string; till: string | null }>;
    }
    return answer;
  }

  /** Drops an id from the index (the caller changed or removed its stored event). */
  forget(id: string): void {
    this.db.prepare('DELETE FROM summary_rows WHERE id = ?').run(id);
  }

  /** Re-indexes one changed event if its batch was indexed already (later batches come with catchUp). */
  reindex(seq: number, event: unknown, storeHeader: string | null): void {
    if (seq > this.indexedSeq()) return;
    const row = indexRow(event, storeHeader);
    if (row) this.add(row);
  }

  clear(): void {
    this.db.exec("DELETE FROM summary_rows; DELETE FROM summary_meta WHERE k = 'seq';");
  }
}

/**
 * Changes stored events behind the client's back (tests: "the central lost a sale", "an amount
 * changed at the central"): `change` returns the new event, or null to delete it. Returns the
 * ids found.
 */
export function rewriteEvents(
  db: Database.Database,
  index: SummaryIndex,
  ids: readonly string[],
  change: (event: Record<string, unknown>) => Record<string, unknown> | null,
): string[] {
  const found: string[] = [];
  const find = db.prepare("SELECT seq, format, store_header, CAST(events AS BLOB) AS events FROM batches WHERE format = 'batch' AND instr(events, ?) > 0");
  const update = db.prepare('UPDATE batches SET events = CAST(? AS TEXT), n = ? WHERE seq = ?');
  db.transaction(() => {
    for (const id of ids) {
      for (const batch of find.all(`"${id}"`) as BatchRow[]) {
        const events = parseJsonBody(batch.events) as Array<Record<string, unknown>>;
        const at = events.findIndex((e) => e['id'] === id);
        if (at < 0) continue;
        const next = change(events[at]!);
        index.forget(id);
        if (next === null) events.splice(at, 1);
        else {
          events[at] = next;
          index.reindex(batch.seq, next, batch.store_header);
        }
        update.run(JSON.stringify(events), events.length, batch.seq);
        found.push(id);
      }
    }
  })();
  return found;
}
