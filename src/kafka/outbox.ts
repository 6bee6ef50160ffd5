// Publishing delivered rows to Kafka, tracked per row (SPEC §6) in pos-sync's own bookkeeping
// table: a delivered row has KafkaPending = 1 there until the broker has its event (then its
// bookkeeping row goes); an event that can never be built is parked (KafkaPending = 2, with the
// reason) until `requeue`; an outage leaves it for the next pass, so it
// delays events and never loses one, and it never blocks or fails delivery to the central API.
// kafkajs is loaded only when there is something to publish.

import type { Database, Statement } from 'better-sqlite3';
import type { Entity, InventoryRow, SqlValue, TransactionRow } from '../domain/rows.js';
import { ENTITIES } from '../domain/rows.js';
import type { Clock } from '../domain/time.js';
import { ConfigError } from '../errors.js';
import { describeKafkaTrouble, kafkaTrouble } from '../domain/kafka-trouble.js';
import type { Logger } from '../log.js';
import { STATE_TABLE } from '../store/migrations.js';
import { TABLE } from '../store/queue.js';
import { buildKafkaMessage, type OutgoingMessage } from './message.js';
import type { EventPublisher } from './publisher.js';
import type { KafkaSettings } from './settings.js';

export interface PublishReport {
  readonly published: number;
  /** Rows still waiting for Kafka after this pass. */
  readonly backlog: number;
  readonly error: string | null;
}

export interface OutboxDeps {
  readonly db: Database;
  readonly settings: KafkaSettings;
  readonly clock: Clock;
  readonly log: Logger;
  /** Epoch ms by which publishing must be done (the pass's budget). */
  readonly deadline: number;
  /** Injected in tests; by default the kafkajs publisher, imported on first need. */
  readonly createPublisher?: (settings: KafkaSettings, opts: { deadline: number; log: Logger; now: () => number }) => Promise<EventPublisher>;
}

/** Events per publish call: keeps one call's memory bounded on a long backlog. */
const CHUNK_ROWS = 2000;

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
  let publisher: EventPublisher | undefined;
  let published = 0;
  let error: string | null = null;
  try {
    for (const entity of ENTITIES) {
      let cursor = 0;
      while (error === null && deps.deadline - clock.now() >= MIN_PUBLISH_MS) {
        const rows = stmts[entity].next.all(cursor, CHUNK_ROWS) as UnpublishedRow[];
        if (rows.length === 0) break;
        cursor = rows[rows.length - 1]!.rowid;
        const messages: OutgoingMessage[] = [];
        const rowids = new Map<string, number>();
        const now = new Date(clock.now());
        const parked: { seq: number; error: string }[] = [];
        for (const row of rows) {
          const built = buildKafkaMessage(entity === 'transaction' ? { entity, row: row as TransactionRow } : { entity, row: row as InventoryRow }, { now, syncedAt: row.SyncedAt });
          if (built.ok) {
            messages.push(built.message);
            rowids.set(built.message.rowId, row.rowid);
          } else {
            // It never will be: parked with the reason (status shows it, requeue retries it),
            // instead of a warning every pass and a backlog that never reaches 0.
            parked.push({ seq: row.rowid, error: built.error });
            log.warn('cannot build the Kafka event of a row; parked (see status, `pos-sync requeue --id` after fixing it)', { entity, id: built.rowId ?? null, error: built.error });
          }
        }
        if (parked.length > 0) db.transaction(() => parked.forEach((p) => stmts[entity].park.run(p.error.slice(0, 500), p.seq)))();
        if (messages.length === 0) continue;
        let acked = 0;
        // Marked as each sub-chunk is acknowledged: after a failure only the rest goes again.
        const markDone = (chunk: readonly OutgoingMessage[]): void => {
          db.transaction(() => {
            for (const m of chunk) stmts[entity].done.run(rowids.get(m.rowId));
          })();
          acked += chunk.length;
        };
        try {
          publisher ??= await (deps.createPublisher ?? defaultPublisher)(deps.settings, { deadline: deps.deadline, log, now: () => clock.now() });
          await publisher.publish(messages, markDone);
        } catch (err) {
          published += acked;
          // Never fails the pass (its rows are delivered already): a file ProducerConfig names
          // that cannot be read is named, like a refused password, as what waiting cannot heal.
          error = err instanceof Error ? err.message : String(err);
          const trouble = kafkaTrouble(error);
          if (err instanceof ConfigError && trouble.heals) error = `a Kafka setting cannot work: ${error}`;
          if (trouble.heals && !(err instanceof ConfigError)) log.warn('Kafka is unavailable; the events stay queued for the next pass', { error });
          else log.error(`${describeKafkaTrouble(error)}; the events stay queued, delivery to the central goes on`);
          break;
        }
        // A publisher that does not report sub-chunks acknowledged them all by resolving.
        if (acked < messages.length) markDone(messages); // rows already marked are simply not found again
        published += messages.length;
      }
    }
  } finally {
    await publisher?.close();
  }
  const backlog = ENTITIES.reduce((sum, e) => sum + (stmts[e].count.get() as number), 0);
  if (published > 0) log.info('published events to Kafka', { published, backlog });
  // Out of time is not an outage: no warning, no error in the report.
  if (error === null && backlog > 0 && deps.deadline - clock.now() < MIN_PUBLISH_MS) log.info('no time left in this pass to publish to Kafka; the events wait for the next pass', { backlog });
  return { published, backlog, error };
}

async function defaultPublisher(settings: KafkaSettings, opts: { deadline: number; log: Logger; now: () => number }): Promise<EventPublisher> {
  const { createKafkaPublisher } = await import('./publisher.js');
  return createKafkaPublisher(settings, opts);
}
