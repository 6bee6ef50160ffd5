// The reference central's summary endpoint (pos-sync's README, "Reconciliation"): for a store, an
// entity and a half-open range of occurredAt, the number of distinct ids it stored, the exact sum
// of totalAmount (transactions) or quantityChange (inventory), and the digest
//   digest = ( Σ sha-256(upper-case id) as a 256-bit big-endian unsigned integer ) mod 2^256,
// written as 64 lower-case hex digits. With list=ids, the rows of the range as well.
//
// The hot path (POST) is not touched: the figures come from an index table built lazily, on the
// first summary request after new batches arrived, from what the central stored. Money is split
// into whole and fraction parts (scaled by 10^10) and the hash into eight 32-bit words, so SQLite's
// integer SUM adds them exactly and one indexed range query answers a summary.

import type Database from 'better-sqlite3';
import { hash } from 'node:crypto';

import { parseJsonBody } from './body.js';

export const SUMMARY_SCHEMA = `
CREATE TABLE IF NOT EXISTS summary_rows (
  id TEXT NOT NULL,
  store TEXT NOT NULL,
  entity TEXT NOT NULL,
  at INTEGER NOT NULL,
  amount TEXT NOT NULL,
  whole INTEGER NOT NULL,
  frac INTEGER NOT NULL,
  h0 INTEGER NOT NULL, h1 INTEGER NOT NULL, h2 INTEGER NOT NULL, h3 INTEGER NOT NULL,
  h4 INTEGER NOT NULL, h5 INTEGER NOT NULL, h6 INTEGER NOT NULL, h7 INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS summary_rows_range ON summary_rows (store, entity, at);
CREATE TABLE IF NOT EXISTS summary_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
`;

export const SUMMARY_OBJECTS = ['summary_rows', 'summary_rows_range', 'summary_meta'];

const SCALE = 10;
const FRACTION_DIGITS = 10n ** BigInt(SCALE);
const MOD = 1n << 256n;
const DECIMAL = /^([+-]?)(\d{1,18})(?:\.(\d{1,10}))?$/;

export interface SummaryAnswer {
  count: number;
  totalAmount: string;
  digest: string;
  rows?: Array<{ id: string; amount: string }>;
}

function formatScaled(value: bigint): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const fraction = (abs % FRACTION_DIGITS).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / FRACTION_DIGITS}${fraction ? `.${fraction}` : ''}`;
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
  entity: string;
  at: number;
  amount: string;
  whole: number;
  frac: number;
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
  const m = amount === null ? null : DECIMAL.exec(amount);
  if (!m || amount === null) return null;
  const sign = m[1] === '-' ? -1 : 1;
  const whole = sign * Number(m[2]);
  const frac = sign * Number((m[3] ?? '').padEnd(SCALE, '0'));
  const digest = hash('sha256', e['id'].toUpperCase(), 'buffer');
  const h = Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4));
  const store = storeHeader ?? (typeof e['storeId'] === 'string' ? e['storeId'] : '');
  return { id: e['id'], store, entity: e['entity'], at, amount, whole: whole === 0 ? 0 : whole, frac: frac === 0 ? 0 : frac, h };
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
    db.exec(SUMMARY_SCHEMA);
    this.insert = db.prepare(
      'INSERT INTO summary_rows (id, store, entity, at, amount, whole, frac, h0, h1, h2, h3, h4, h5, h6, h7) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  private add(row: Indexed): void {
    this.insert.run(row.id, row.store, row.entity, row.at, row.amount, row.whole, row.frac, ...row.h);
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

  summary(store: string, entity: string, from: number, to: number, list: boolean, maxRows: number): SummaryAnswer | 'tooMany' {
    this.catchUp();
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS n, COALESCE(SUM(whole), 0) AS w, COALESCE(SUM(frac), 0) AS f,
           COALESCE(SUM(h0), 0) AS h0, COALESCE(SUM(h1), 0) AS h1, COALESCE(SUM(h2), 0) AS h2, COALESCE(SUM(h3), 0) AS h3,
           COALESCE(SUM(h4), 0) AS h4, COALESCE(SUM(h5), 0) AS h5, COALESCE(SUM(h6), 0) AS h6, COALESCE(SUM(h7), 0) AS h7
         FROM summary_rows WHERE store = ? AND entity = ? AND at >= ? AND at < ?`,
      )
      .safeIntegers(true)
      .get(store, entity, from, to) as Record<string, bigint>;
    let digest = 0n;
    for (let i = 0; i < 8; i++) digest = (digest << 32n) + r[`h${i}`]!;
    const answer: SummaryAnswer = {
      count: Number(r['n']),
      totalAmount: formatScaled(r['w']! * FRACTION_DIGITS + r['f']!),
      digest: (digest % MOD).toString(16).padStart(64, '0'),
    };
    if (list) {
      if (answer.count > maxRows) return 'tooMany';
      answer.rows = this.db
        .prepare('SELECT id, amount FROM summary_rows WHERE store = ? AND entity = ? AND at >= ? AND at < ? ORDER BY at, id')
        .all(store, entity, from, to) as Array<{ id: string; amount: string }>;
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
    this.db.exec('DELETE FROM summary_rows; DELETE FROM summary_meta;');
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
