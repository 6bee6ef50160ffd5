// Publishing delivered rows to Kafka, tracked per row (SPEC §6). A delivered row carries
// KafkaPending = 1 until the broker has its event; an outage leaves it for the next pass, so it
// delays events and never loses one, and it never blocks or fails delivery to the central API.
// kafkajs is loaded only when there is something to publish.

import type { Database, Statement } from 'better-sqlite3';
import type { Entity, InventoryRow, SqlValue, TransactionRow } from '../domain/rows.js';
import { ENTITIES } from '../domain/rows.js';
import type { Clock } from '../domain/time.js';
import { ConfigError } from '../errors.js';
import { describeKafkaTrouble, kafkaTrouble } from '../domain/kafka-trouble.js';
import type { Logger } from '../log.js';
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
    'rowid AS rowid, "Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount", "TransactionDate", "CreatedAt", "Metadata", "Reference", "Notes", "SyncedAt"',
  inventory:
    'rowid AS rowid, "Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt", "Reason", "TransactionId", "SyncedAt"',
};

type UnpublishedRow = (TransactionRow | InventoryRow) & { readonly SyncedAt: SqlValue };

interface Statements {
  readonly next: Statement;
  readonly done: Statement;
  readonly count: Statement;
}

function statements(db: Database, entity: Entity): Statements {
  const t = TABLE[entity];
  const index = `INDEXED BY "IX_${t}_PosSync_KafkaPending"`;
  return {
    next: db.prepare(`SELECT ${COLUMNS[entity]} FROM "${t}" ${index} WHERE "KafkaPending" = 1 AND rowid > ? ORDER BY rowid LIMIT ?`),
    done: db.prepare(`UPDATE "${t}" SET "KafkaPending" = 0 WHERE rowid = ? AND "Id" = ?`),
    count: db.prepare(`SELECT count(*) FROM "${t}" ${index} WHERE "KafkaPending" = 1`).pluck(),
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
        for (const row of rows) {
          const built = buildKafkaMessage(entity === 'transaction' ? { entity, row: row as TransactionRow } : { entity, row: row as InventoryRow }, { now, syncedAt: row.SyncedAt });
          if (built.ok) {
            messages.push(built.message);
            rowids.set(built.message.rowId, row.rowid);
          } else {
            // Delivered rows passed validation, so this is rare; the row stays pending and visible.
            log.warn('cannot build the Kafka event of a row; it stays unpublished', { entity, id: built.rowId ?? null, error: built.error });
          }
        }
        if (messages.length === 0) continue;
        try {
          publisher ??= await (deps.createPublisher ?? defaultPublisher)(deps.settings, { deadline: deps.deadline, log, now: () => clock.now() });
          await publisher.publish(messages);
        } catch (err) {
          // Never fails the pass (its rows are delivered already): a file ProducerConfig names
          // that cannot be read is named, like a refused password, as what waiting cannot heal.
          error = err instanceof Error ? err.message : String(err);
          const trouble = kafkaTrouble(error);
          if (err instanceof ConfigError && trouble.heals) error = `a Kafka setting cannot work: ${error}`;
          if (trouble.heals && !(err instanceof ConfigError)) log.warn('Kafka is unavailable; the events stay queued for the next pass', { error });
          else log.error(`${describeKafkaTrouble(error)}; the events stay queued, delivery to the central goes on`);
          break;
        }
        db.transaction(() => {
          for (const m of messages) stmts[entity].done.run(rowids.get(m.rowId), m.rowId);
        })();
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
