// Publishing delivered rows to Kafka, tracked per row in pos-sync's own bookkeeping table: a
// delivered row has KafkaPending = 1 there until the transaction carrying its event is committed
// (then its bookkeeping row goes); an event that can never be built is parked (KafkaPending = 2,
// with the reason) until `requeue`; an outage leaves it for the next pass, so it delays events
// and never loses one, and it never blocks or fails delivery to the central API.
//
// Each event is visible once to a `read_committed` consumer (man page, KAFKA): events go out in
// Kafka transactions under the till's transactional.id, rows are marked only after the commit,
// and a commit whose answer never came (the budget ended, the connection broke) is recorded
// here as "in doubt" before it is sent; the next pass settles it first, from the marker the
// transaction committed with its events, and marks the rows or publishes them again.
// kafkajs is loaded only when there is something to publish.

import type { Database, Statement } from 'better-sqlite3';
import type { Entity, InventoryRow, SqlValue, TransactionRow } from '../domain/rows.js';
import { ENTITIES } from '../domain/rows.js';
import type { Clock } from '../domain/time.js';
import { ConfigError } from '../errors.js';
import { describeKafkaTrouble, kafkaTrouble } from '../domain/kafka-trouble.js';
import type { Logger } from '../log.js';
import { META_TABLE, STATE_TABLE } from '../store/migrations.js';
import { TABLE } from '../store/queue.js';
import { buildKafkaMessage, type OutgoingMessage } from './message.js';
import { KafkaUnavailableError } from './errors.js';
import type { EventPublisher } from './publisher.js';
import type { KafkaSettings } from './settings.js';

export interface PublishReport {
  readonly published: number;
  /** Rows still waiting for Kafka after this pass. */
  readonly backlog: number;
  readonly error: string | null;
  /** Requests this pass sent to Kafka (absent when none): the cost `npm run bench` reports. */
  readonly requests?: number;
}

/** The options a publisher is made with (the deadline, the log, the clock, the till's transactional.id). */
export interface PublisherFactoryOptions {
  readonly deadline: number;
  readonly log: Logger;
  readonly now: () => number;
  readonly transactionalId: string;
}

export interface OutboxDeps {
  readonly db: Database;
  readonly settings: KafkaSettings;
  readonly clock: Clock;
  readonly log: Logger;
  /** Epoch ms by which publishing must be done (the pass's budget). */
  readonly deadline: number;
  /** This till's transactional.id (transactionalIdOf(StoreId, TillId)). */
  readonly transactionalId: string;
  /** Sync.TillId: carried in each event as TillId. */
  readonly tillId?: string | undefined;
  /** Injected in tests; by default the kafkajs publisher, imported on first need. */
  readonly createPublisher?: (settings: KafkaSettings, opts: PublisherFactoryOptions) => Promise<EventPublisher>;
}

/** Events in the first transaction of a pass; later ones are sized by how fast it went. */
const FIRST_TRANSACTION_ROWS = 500;
/** Never more per transaction: keeps one call's memory bounded on a long backlog. */
const MAX_TRANSACTION_ROWS = 2000;
const MIN_TRANSACTION_ROWS = 50;

/**
 * How many events the next transaction may carry: what the last one's pace fits into half of the
 * budget left (the other half is margin for a slower broker and the commit), so a transaction is
 * rarely cut off by the pass's end. Pure.
 */
export function nextTransactionRows(lastRows: number, lastMs: number, leftMs: number): number {
  if (lastRows <= 0) return FIRST_TRANSACTION_ROWS;
  const msPerRow = Math.max(lastMs, 1) / lastRows;
  return Math.max(MIN_TRANSACTION_ROWS, Math.min(MAX_TRANSACTION_ROWS, Math.floor(leftMs / 2 / msPerRow)));
}

/** Where a commit whose outcome is unknown is remembered (pos-sync's own key-value table). */
const IN_DOUBT_KEY = 'KafkaCommitInDoubt';

interface InDoubt {
  /** The marker the transaction committed with its events, if it committed. */
  readonly marker: number;
  /** The bookkeeping rows (Seq) whose events it carried. */
  readonly seqs: readonly number[];
}

function readInDoubt(db: Database): InDoubt | null {
  const text = db.prepare(`SELECT "Value" FROM "${META_TABLE}" WHERE "Key" = ?`).pluck().get(IN_DOUBT_KEY);
  if (typeof text !== 'string') return null;
  try {
    const parsed = JSON.parse(text) as { marker?: unknown; seqs?: unknown };
    if (typeof parsed.marker === 'number' && Array.isArray(parsed.seqs) && parsed.seqs.every((n) => Number.isInteger(n))) {
      return { marker: parsed.marker, seqs: parsed.seqs as number[] };
    }
  } catch {
    // Unreadable: treated as not committed below, which can only repeat events, never lose one.
  }
  return { marker: -1, seqs: [] };
}

/**
 * No publish call (the first one loads kafkajs, 0.1-0.6 s by itself) starts with less of the
 * pass's budget left: started later it would run the pass past its budget, or be cut off and
 * look like an outage. The rows wait for a pass with time to spare (after a long delivery).
 */
export const MIN_PUBLISH_MS = 1_000;

const COLUMNS: Readonly<Record<Entity, string>> = {
  transaction:
    'p."Id", p."TransactionId", p."StoreId", p."ProductId", p."TransactionType", p."Quantity", p."UnitPrice", p."TotalAmount", p."TransactionDate", p."CreatedAt", p."Metadata", p."Reference", p."Notes", p."SyncedAt"',
  inventory:
    'p."Id", p."StoreId", p."ProductId", p."PreviousStock", p."NewStock", p."UpdateType", p."UpdateDate", p."CreatedAt", p."Reason", p."TransactionId", p."SyncedAt"',
};

/** `rowid` here is the bookkeeping row's Seq: the backlog goes out in the order rows were delivered. */
type UnpublishedRow = (TransactionRow | InventoryRow) & { readonly SyncedAt: SqlValue };

interface Statements {
  readonly next: Statement;
  readonly done: Statement;
  readonly park: Statement;
  readonly count: Statement;
}

function statements(db: Database, entity: Entity): Statements {
  const t = TABLE[entity];
  const index = '';
  return {
    next: db.prepare(
      `SELECT s."Seq" AS rowid, ${COLUMNS[entity]} FROM "${STATE_TABLE}" AS s ${index} JOIN "${t}" AS p ON p."Id" = s."Id"
       WHERE s."Entity" = '${entity}' AND s."KafkaPending" = 1 AND s."Seq" > ? ORDER BY s."Seq" LIMIT ?`,
    ),
    // Published: nothing left to remember about the row (a refused row never reaches Kafka).
    done: db.prepare(`DELETE FROM "${STATE_TABLE}" WHERE "Seq" = ? AND "KafkaPending" = 1`),
    park: db.prepare(`UPDATE "${STATE_TABLE}" SET "KafkaPending" = 2, "KafkaError" = ? WHERE "Seq" = ?`),
    count: db
      .prepare(
        `SELECT count(*) FROM "${STATE_TABLE}" AS s ${index} WHERE s."Entity" = '${entity}' AND s."KafkaPending" = 1
           AND EXISTS (SELECT 1 FROM "${t}" AS p WHERE p."Id" = s."Id")`,
      )
      .pluck(),
  };
}

/** Publishes every delivered row not yet on Kafka, oldest first, until done, out of time, or Kafka fails. */
export async function publishPending(deps: OutboxDeps): Promise<PublishReport> {
  const { db, clock, log } = deps;
  const stmts = { transaction: statements(db, 'transaction'), inventory: statements(db, 'inventory') };
  const setInDoubt = db.prepare(`INSERT OR REPLACE INTO "${META_TABLE}" ("Key", "Value") VALUES ('${IN_DOUBT_KEY}', ?)`);
  const clearInDoubt = db.prepare(`DELETE FROM "${META_TABLE}" WHERE "Key" = '${IN_DOUBT_KEY}'`);
  const markDone = db.prepare(`DELETE FROM "${STATE_TABLE}" WHERE "Seq" = ? AND "KafkaPending" = 1`);
  let publisher: EventPublisher | undefined;
  let published = 0;
  let error: string | null = null;
  const open = async (): Promise<EventPublisher> =>
    (publisher ??= await (deps.createPublisher ?? defaultPublisher)(deps.settings, {
      deadline: deps.deadline,
      log,
      now: () => clock.now(),
      transactionalId: deps.transactionalId,
    }));
  const fail = (err: unknown): void => {
    // Never fails the pass (its rows are delivered already): a file ProducerConfig names
    // that cannot be read is named, like a refused password, as what waiting cannot heal.
    error = err instanceof Error ? err.message : String(err);
    const trouble = kafkaTrouble(error);
    if (err instanceof ConfigError && trouble.heals) error = `a Kafka setting cannot work: ${error}`;
    if (err instanceof KafkaUnavailableError && err.commitUnknown) log.warn('the outcome of a Kafka commit is unknown; the next pass settles it before publishing again', { error });
    else if (trouble.heals && !(err instanceof ConfigError)) log.warn('Kafka is unavailable; the events stay queued for the next pass', { error });
    else log.error(`${describeKafkaTrouble(error)}; the events stay queued, delivery to the central goes on`);
  };
  let markerCount = 0;
  try {
    const inDoubt = readInDoubt(db);
    if (inDoubt !== null && deps.deadline - clock.now() >= MIN_PUBLISH_MS) {
      try {
        // After InitProducerId (inside lastCommittedMarker) the earlier transaction is settled
        // for good: committed, with its marker in the group's offset, or aborted.
        const committed = (await (await open()).lastCommittedMarker()) === inDoubt.marker;
        db.transaction(() => {
          if (committed) for (const seq of inDoubt.seqs) published += markDone.run(seq).changes;
          clearInDoubt.run();
        })();
        log.info('settled a Kafka commit whose outcome was unknown', { committed, events: inDoubt.seqs.length });
      } catch (err) {
        fail(err);
      }
    }
    let rowsPerTransaction = FIRST_TRANSACTION_ROWS;
    for (const entity of ENTITIES) {
      let cursor = 0;
      // Nothing new goes out while a commit stays in doubt: settling it failed (error) or had no time.
      while (error === null && deps.deadline - clock.now() >= MIN_PUBLISH_MS) {
        const rows = stmts[entity].next.all(cursor, rowsPerTransaction) as UnpublishedRow[];
        if (rows.length === 0) break;
        cursor = rows[rows.length - 1]!.rowid;
        const messages: OutgoingMessage[] = [];
        const seqs: number[] = [];
        const now = new Date(clock.now());
        const parked: { seq: number; error: string }[] = [];
        for (const row of rows) {
          const built = buildKafkaMessage(entity === 'transaction' ? { entity, row: row as TransactionRow } : { entity, row: row as InventoryRow }, { now, syncedAt: row.SyncedAt, tillId: deps.tillId });
          if (built.ok) {
            messages.push(built.message);
            seqs.push(row.rowid);
          } else {
            // It never will be: parked with the reason (status shows it, requeue retries it),
            // instead of a warning every pass and a backlog that never reaches 0.
            parked.push({ seq: row.rowid, error: built.error });
            log.warn('cannot build the Kafka event of a row; parked (see status, `pos-sync requeue --id` after fixing it)', { entity, id: built.rowId ?? null, error: built.error });
          }
        }
        if (parked.length > 0) db.transaction(() => parked.forEach((p) => stmts[entity].park.run(p.error.slice(0, 500), p.seq)))();
        if (messages.length === 0) continue;
        const started = clock.now();
        // Unique among this till's transactions: the epoch ms, and a counter within the pass.
        const marker = Math.floor(started) * 1000 + (markerCount++ % 1000);
        try {
          await (await open()).publish(messages, {
            marker,
            beforeCommit: () => setInDoubt.run(JSON.stringify({ marker, seqs } satisfies InDoubt)),
          });
        } catch (err) {
          fail(err);
          break;
        }
        db.transaction(() => {
          for (const seq of seqs) markDone.run(seq);
          clearInDoubt.run();
        })();
        published += messages.length;
        rowsPerTransaction = nextTransactionRows(messages.length, clock.now() - started, deps.deadline - clock.now());
      }
    }
  } finally {
    await publisher?.close();
  }
  const backlog = ENTITIES.reduce((sum, e) => sum + (stmts[e].count.get() as number), 0);
  if (published > 0) log.info('published events to Kafka', { published, backlog });
  // Out of time is not an outage: no warning, no error in the report.
  if (error === null && backlog > 0 && deps.deadline - clock.now() < MIN_PUBLISH_MS) log.info('no time left in this pass to publish to Kafka; the events wait for the next pass', { backlog });
  return { published, backlog, error, ...(publisher !== undefined && publisher.requests > 0 ? { requests: publisher.requests } : {}) };
}

async function defaultPublisher(settings: KafkaSettings, opts: PublisherFactoryOptions): Promise<EventPublisher> {
  const { createKafkaPublisher } = await import('./publisher.js');
  return createKafkaPublisher(settings, opts);
}
