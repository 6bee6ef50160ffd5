// The central's own SQLite database. It is built for speed on the hot path: an accepted request
// is ONE insert of the request's events as one JSON text (the raw body when every event is new),
// not one row per event — measured on this machine, a row per event with a UNIQUE index on the
// random GUID ids costs 3–7 ms per 500 events, one row per request about 0.05 ms. Deduplication
// is done before the insert by the caller's in-memory set of ids (one process owns the file), and
// the `events` view unpacks the JSON for anyone who wants to look with sqlite3.

import Database from 'better-sqlite3';

import { parseJsonBody } from './body.js';
import { rewriteEvents, SUMMARY_OBJECTS, SummaryIndex, type SummaryAnswer } from './summary.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY,
  received_at TEXT NOT NULL,
  format TEXT NOT NULL CHECK (format IN ('batch', 'single')),
  idempotency_key TEXT,
  store_header TEXT,
  -- how many events are in \`events\`, so a page of events can skip whole batches unread
  n INTEGER NOT NULL,
  -- JSON array of the events this request stored for the first time, as the client sent them
  events TEXT NOT NULL
);
-- Receipts beyond the first, for ids that came more than once (rare: only after lost answers).
CREATE TABLE IF NOT EXISTS extra_receipts (
  id TEXT PRIMARY KEY,
  extra INTEGER NOT NULL
) WITHOUT ROWID;
CREATE VIEW IF NOT EXISTS events AS
  SELECT b.seq AS batch,
         CAST(j.key AS INTEGER) AS idx,
         CASE b.format WHEN 'single' THEN b.idempotency_key ELSE j.value ->> 'id' END AS id,
         j.value AS event,
         b.received_at, b.format, b.idempotency_key, b.store_header
  FROM batches AS b, json_each(b.events) AS j;
`;

const OUR_OBJECTS = new Set(['batches', 'extra_receipts', 'events', ...SUMMARY_OBJECTS]);

export interface StoredBatch {
  readonly receivedAt: string;
  readonly format: 'batch' | 'single';
  readonly idempotencyKey: string | null;
  readonly storeHeader: string | null;
  /** JSON array of the newly stored events (UTF-8 bytes or text); null when nothing was new. */
  readonly eventsJson: Buffer | string | null;
  /** How many events eventsJson holds. */
  readonly count: number;
  /** Ids received again in this request. */
  readonly repeatedIds: readonly string[];
}

export interface StoredEventRow {
  readonly id: string;
  readonly batch: number;
  readonly index: number;
  readonly event: unknown;
  readonly receivedAt: string;
  readonly format: 'batch' | 'single';
  readonly idempotencyKey: string | null;
  readonly storeHeader: string | null;
}

interface BatchRow {
  seq: number;
  received_at: string;
  format: 'batch' | 'single';
  idempotency_key: string | null;
  store_header: string | null;
  n: number;
  events: Buffer;
}

export class CentralStore {
  private readonly db: Database.Database;
  private readonly insertBatch: Database.Statement;
  private readonly addReceipt: Database.Statement;
  private readonly recordTx: (batch: StoredBatch) => void;
  private readonly summaries: SummaryIndex;

  constructor(path: string) {
    this.db = new Database(path);
    // The central is a test fixture: speed matters, surviving a power cut does not.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = OFF');
    this.guardForeignDatabase();
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.summaries = new SummaryIndex(this.db);
    // Index what an existing file holds now, not in the first summary request's time budget.
    this.summaries.catchUp();
    this.insertBatch = this.db.prepare(
      // Bytes are stored as TEXT, so json_each reads them as JSON (a BLOB would be read as JSONB).
      'INSERT INTO batches (received_at, format, idempotency_key, store_header, n, events) VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT))',
    );
    this.addReceipt = this.db.prepare(
      'INSERT INTO extra_receipts (id, extra) VALUES (?, 1) ON CONFLICT (id) DO UPDATE SET extra = extra + 1',
    );
    this.recordTx = this.db.transaction((batch: StoredBatch) => {
      if (batch.eventsJson !== null) {
        this.insertBatch.run(batch.receivedAt, batch.format, batch.idempotencyKey, batch.storeHeader, batch.count, batch.eventsJson);
      }
      for (const id of batch.repeatedIds) this.addReceipt.run(id);
    });
  }

  /** Refuses a file that holds other tables (say, a POS database passed to --db by mistake). */
  private guardForeignDatabase(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    const names = this.db.prepare("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    const foreign = names.filter((name) => !OUR_OBJECTS.has(name));
    if (foreign.length > 0 || (version !== 0 && version !== SCHEMA_VERSION)) {
      this.db.close();
      throw new Error(
        `this database is not a reference-central database (it holds ${foreign.join(', ') || `schema version ${version}`}); ` +
          'give the central a file of its own',
      );
    }
  }

  /** One transaction per request. */
  record(batch: StoredBatch): void {
    this.recordTx(batch);
  }

  /** The stored ids in first-arrival order. */
  storedIds(): string[] {
    return this.events().map((row) => row.id);
  }

  /** Receipts beyond the first, per id received more than once. */
  extraReceipts(): Map<string, number> {
    const rows = this.db.prepare('SELECT id, extra FROM extra_receipts').raw().all() as Array<[string, number]>;
    return new Map(rows);
  }

  /**
   * Stored events in arrival order; `offset`/`limit` page through them. Read batch by batch in
   * JavaScript, not through the `events` view: json_each with ORDER BY is ten times slower.
   */
  events(offset = 0, limit = Infinity): StoredEventRow[] {
    const rows: StoredEventRow[] = [];
    let skip = offset;
    const batches = this.db
      .prepare('SELECT seq, received_at, format, idempotency_key, store_header, n, CAST(events AS BLOB) AS events FROM batches ORDER BY seq')
      .iterate() as IterableIterator<BatchRow>;
    for (const batch of batches) {
      if (rows.length >= limit) break;
      if (skip >= batch.n) {
        skip -= batch.n;
        continue;
      }
      const events = parseJsonBody(batch.events) as unknown[];
      for (let index = skip; index < events.length && rows.length < limit; index++) {
        const event = events[index];
        rows.push({
          id: batch.format === 'single' ? (batch.idempotency_key as string) : (event as { id: string }).id,
          batch: batch.seq,
          index,
          event,
          receivedAt: batch.received_at,
          format: batch.format,
          idempotencyKey: batch.idempotency_key,
          storeHeader: batch.store_header,
        });
      }
      skip = 0;
    }
    return rows;
  }

  clear(): void {
    this.db.exec('DELETE FROM batches; DELETE FROM extra_receipts;');
    this.summaries.clear();
  }

  /** Figures for the summary endpoint (see summary.ts); `till` null: the whole store. */
  summary(store: string, till: string | null, entity: string, from: number, to: number, list: boolean, maxRows: number): SummaryAnswer | 'tooMany' {
    return this.summaries.summary(store, till, entity, from, to, list, maxRows);
  }

  /** Removes stored events (null) or replaces them, behind the clients' back; returns the ids found. */
  rewrite(ids: readonly string[], change: (event: Record<string, unknown>) => Record<string, unknown> | null): string[] {
    return rewriteEvents(this.db, this.summaries, ids, change);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
