// The sync queue over the seed's tables: pending rows (Synced = 0, the POS's queue) in the order the
// POS wrote them, the seed's sync columns written back, and pos-sync's own per-row bookkeeping
// (refusals, backoff, dead letters, Kafka backlog) in its own table. Statements are prepared once per
// pass, on first use: an idle pass runs two of the ~25 a pass may need, and preparing the rest would
// cost it a millisecond (pos-sync-internals(7) PERFORMANCE).

import type { Database, Statement } from 'better-sqlite3';
import type { Entity, InventoryRow, TransactionRow } from '../domain/rows.js';
import { pendingIndex, schemaFactsOf, STATE_TABLE, type SchemaFacts } from './migrations.js';

export const TABLE: Readonly<Record<Entity, string>> = { transaction: 'PosTransactions', inventory: 'InventoryUpdates' };
/** The seed's EntityType values in SyncRetryLogs. */
export const RETRY_LOG_ENTITY: Readonly<Record<Entity, string>> = { transaction: 'PosTransaction', inventory: 'InventoryUpdate' };

const COLUMNS: Readonly<Record<Entity, string>> = {
  transaction:
    'rowid AS rowid, "Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount", "TransactionDate", "CreatedAt", "Metadata", "Reference", "Notes"',
  inventory:
    'rowid AS rowid, "Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt", "Reason", "TransactionId"',
};

/** The business columns of each entity, in the order the row image lists them. */
const BUSINESS: Readonly<Record<Entity, readonly string[]>> = {
  transaction: [...COLUMNS.transaction.matchAll(/"(\w+)"/g)].map((m) => m[1]!),
  inventory: [...COLUMNS.inventory.matchAll(/"(\w+)"/g)].map((m) => m[1]!),
};

/**
 * The row's business columns as read, as one text (JSON of the values in column order; a BLOB as
 * its bytes, a bigint as text): what marking compares to tell whether the POS changed the row
 * since it was read for a batch, and what the content hash sent beside its id (pass/batch-source.ts)
 * is a hash of. Made in JavaScript from the values read: SQLite's quote() of every column cost as
 * much as the read itself.
 */
export function imageOf(entity: Entity, row: object): string {
  // The values listed by hand, not mapped from BUSINESS with a closure: 84 → 61 ms CPU per 100,000
  // rows, and a drain makes one image per row. No replacer function either: it takes
  // JSON.stringify off its fast path (3× slower here). store.test.ts checks the order.
  try {
    return JSON.stringify(entity === 'transaction' ? transactionValues(row as TransactionRow) : inventoryValues(row as InventoryRow));
  } catch (err) {
    // Only a bigint (a caller reading with safeIntegers) cannot be JSON; written as text.
    if (!(err instanceof TypeError)) throw err;
    const r = row as Record<string, unknown>;
    return JSON.stringify(BUSINESS[entity].map((c) => (typeof r[c] === 'bigint' ? `${r[c] as bigint}n` : r[c])));
  }
}

const transactionValues = (r: TransactionRow): unknown[] => [
  r.Id, r.TransactionId, r.StoreId, r.ProductId, r.TransactionType, r.Quantity, r.UnitPrice, r.TotalAmount, r.TransactionDate, r.CreatedAt, r.Metadata, r.Reference, r.Notes,
];

const inventoryValues = (r: InventoryRow): unknown[] => [
  r.Id, r.StoreId, r.ProductId, r.PreviousStock, r.NewStock, r.UpdateType, r.UpdateDate, r.CreatedAt, r.Reason, r.TransactionId,
];

/**
 * The event's `contentHash` (man page, central API): 16 characters of the SHA-1 of the row's image,
 * so an edited row goes out with a new one and a repeat with the same. Not a security measure — it
 * tells an edit of one row from a repeat. node:crypto through getBuiltinModule: an idle tick never
 * makes one and must not load it (central/key.ts says why).
 */
export function contentHash(image: string): string {
  return process.getBuiltinModule('node:crypto').hash('sha1', image, 'base64url').slice(0, 16);
}

/** A row sent in a batch: where it is, and the content hash of its image when it was read. */
export interface SentRow {
  readonly id: string;
  readonly rowid: number;
  /**
   * contentHash(imageOf(row)) as read, what the event carried: marking compares it with the row's
   * hash then. The hash, not the image: a batch's images (~200 KB) kept until its marking
   * survived a young-generation collection or two and were promoted, all for nothing in a drain
   * where the POS writes nothing (measured: see pos-sync-internals(7) PERFORMANCE).
   */
  readonly hash: string;
  /** PRAGMA data_version taken before the row was read (Queue.dataVersion). */
  readonly readVersion?: number;
}

/** One row the central refused: why, and the HTTP status of the refusal. */
export interface RefusedRow {
  readonly id: string;
  readonly error: string;
  /** The answer's status: only the central refuses a row (200: listed as rejected in an acknowledgement); a row pos-sync cannot read is no refusal (store/unreadable.ts). */
  readonly httpStatus: number;
  /** Addresses the row instead of `id` when given: a BLOB Id a buggy POS wrote matches no text. */
  readonly rowid?: number | undefined;
}

/** A refused row with what recording it decided: its count of refusals, its next try or its dead letter. */
export interface RefusedRowDecision extends RefusedRow {
  /** Refusals so far including this one. */
  readonly rejections: number;
  /** When the row may be tried again (db time text), or null when dead-lettered. */
  readonly nextAttemptAt: string | null;
  readonly deadLettered: boolean;
}

interface EntityStatements {
  readonly nextPending: Statement;
  /** The same without the bookkeeping lookup, while the entity has no bookkeeping row at all. */
  readonly nextPendingBare: Statement;
  /** Marks the pending rows of a JSON array of rowids; returns their Ids. */
  readonly markSynced: Statement;
  readonly markSyncedCount: Statement;
  /** The rows of a JSON array of rowids, as nextPending reads them. */
  readonly currentByRowid: Statement;
  /** The same by a JSON array of Ids, for rows a VACUUM renumbered. */
  readonly currentById: Statement;
  readonly markAttempt: Statement;
  readonly attempt: Statement;
  readonly attemptByRowid: Statement;
  readonly idOfRowid: Statement;
  readonly rejectionsOf: Statement;
  readonly setState: Statement;
  readonly clearState: Statement;
  readonly kafkaPending: Statement;
}

/** `makers`' statements, each prepared the first time it is read, then kept. */
function preparedOnUse<T extends object>(makers: { readonly [K in keyof T]: () => T[K] }): T {
  const statements = {} as T;
  for (const key of Object.keys(makers) as (keyof T)[]) {
    let made: T[typeof key] | undefined;
    Object.defineProperty(statements, key, { enumerable: true, get: () => (made ??= makers[key]()) });
  }
  return statements;
}

export class Queue {
  private readonly statements: Record<Entity, EntityStatements>;
  private readonly retryLogs: { readonly insert: Statement };
  #dataVersion: Statement | undefined;
  private readonly hasState: boolean;
  /**
   * Whether the entity has any bookkeeping row. A pass holds the lock, so only this pass adds any
   * (a refusal): while there is none, reading skips the per-row lookup and marking synced skips the
   * per-row delete — most of what the own table would cost a 100,000-row drain (pos-sync-internals(7) PERFORMANCE).
   */
  private readonly stateRows: Record<Entity, boolean>;
  /** What pos-sync found set up when the queue was made. */
  readonly facts: SchemaFacts;

  /**
   * `facts` (inspectSchema) tells what pos-sync has set up; a read-only caller (sync --dry-run) on
   * a database pos-sync never touched has no bookkeeping table and no pending index yet.
   */
  constructor(private readonly db: Database, facts: SchemaFacts = schemaFactsOf(db)) {
    const hasState = facts.hasState;
    this.hasState = hasState;
    this.facts = facts;
    const make = (entity: Entity): EntityStatements => {
      const t = TABLE[entity];
      const indexed = facts.hasPendingIndex[t] ? `INDEXED BY "${pendingIndex(t)}"` : '';
      // Rows dead-lettered or waiting out a refusal backoff are not due (pos-sync's own table).
      const due = hasState
        ? `AND NOT EXISTS (SELECT 1 FROM "${STATE_TABLE}" AS s WHERE s."Entity" = '${entity}' AND s."Id" = p."Id"
             AND (s."DeadLetteredAt" IS NOT NULL OR s."NextAttemptAt" > ?))`
        : `AND ? IS NOT NULL`;
      const noop = (): Statement => db.prepare('SELECT 0');
      const columns = COLUMNS[entity].replace(/"(\w+)"/g, 'p."$1"').replace('rowid AS rowid', 'p.rowid AS rowid');
      return preparedOnUse<EntityStatements>({
        nextPendingBare: () => db.prepare(`SELECT ${columns} FROM "${t}" AS p ${indexed} WHERE p."Synced" = 0 AND p.rowid > ? AND ? IS NOT NULL ORDER BY p.rowid LIMIT ?`),
        // The partial index on Synced = 0 keeps this fast when most of the table is synced;
        // the rowid cursor means rows waiting out a backoff are not read again and again.
        nextPending: () => db.prepare(
          `SELECT ${columns} FROM "${t}" AS p ${indexed}
           WHERE p."Synced" = 0 AND p.rowid > ? ${due}
           ORDER BY p.rowid LIMIT ?`,
        ),
        // One statement per batch (a statement per row cost ~20 % of a drain), by rowid — rowids of
        // one batch are neighbours in the table, where random GUID Ids land on random index pages;
        // `+"Synced"` keeps SQLite from going through the partial index on Synced instead.
        markSynced: () => db.prepare(
          `UPDATE "${t}" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?, "LastSyncError" = NULL
           WHERE +"Synced" = 0 AND rowid IN (SELECT value FROM json_each(?))
           RETURNING "Id"`,
        ).pluck(),
        // The same without handing the Ids back, when no bookkeeping row needs them (a tenth of marking's cost).
        markSyncedCount: () => db.prepare(
          `UPDATE "${t}" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?, "LastSyncError" = NULL
           WHERE +"Synced" = 0 AND rowid IN (SELECT value FROM json_each(?))`,
        ),
        currentByRowid: () => db.prepare(`SELECT ${columns} FROM "${t}" AS p WHERE p.rowid IN (SELECT value FROM json_each(?))`),
        currentById: () => db.prepare(`SELECT ${columns} FROM "${t}" AS p WHERE p."Id" IN (SELECT value FROM json_each(?))`),
        markAttempt: () => db.prepare(
          `UPDATE "${t}" SET "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?, "LastSyncError" = ? WHERE "Id" = ? AND "Synced" = 0`,
        ),
        attempt: () => db.prepare(`UPDATE "${t}" SET "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?, "LastSyncError" = ? WHERE "Id" = ? AND "Synced" = 0`),
        attemptByRowid: () => db.prepare(`UPDATE "${t}" SET "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?, "LastSyncError" = ? WHERE rowid = ? AND "Synced" = 0`),
        idOfRowid: () => db.prepare(`SELECT "Id" FROM "${t}" WHERE rowid = ?`).pluck(),
        rejectionsOf: () => hasState ? db.prepare(`SELECT "Rejections" FROM "${STATE_TABLE}" WHERE "Entity" = '${entity}' AND "Id" = ?`).pluck() : noop().pluck(),
        setState: () => hasState
          ? db.prepare(
              `INSERT INTO "${STATE_TABLE}" ("Entity", "Id", "Rejections", "NextAttemptAt", "DeadLetteredAt") VALUES ('${entity}', ?, ?, ?, ?)
               ON CONFLICT ("Entity", "Id") DO UPDATE SET "Rejections" = excluded."Rejections", "NextAttemptAt" = excluded."NextAttemptAt",
                 "DeadLetteredAt" = excluded."DeadLetteredAt"`,
            )
          : noop(),
        // A delivered row needs no bookkeeping but its Kafka backlog (when Kafka is on).
        clearState: () => hasState ? db.prepare(`DELETE FROM "${STATE_TABLE}" WHERE "Entity" = '${entity}' AND "Id" = ?`) : noop(),
        kafkaPending: () => hasState
          ? db.prepare(
              `INSERT INTO "${STATE_TABLE}" ("Entity", "Id", "KafkaPending") VALUES ('${entity}', ?, 1)
               ON CONFLICT ("Entity", "Id") DO UPDATE SET "Rejections" = 0, "NextAttemptAt" = NULL, "DeadLetteredAt" = NULL, "KafkaPending" = 1, "KafkaError" = NULL`,
            )
          : noop(),
      });
    };
    this.statements = { transaction: make('transaction'), inventory: make('inventory') };
    const any = hasState ? db.prepare(`SELECT EXISTS (SELECT 1 FROM "${STATE_TABLE}" WHERE "Entity" = ?)`).pluck() : null;
    this.stateRows = { transaction: any?.get('transaction') === 1, inventory: any?.get('inventory') === 1 };
    this.retryLogs = preparedOnUse<{ insert: Statement }>({
      insert: () =>
        db.prepare(
          `INSERT INTO "SyncRetryLogs" ("Id", "EntityType", "EntityId", "StoreId", "AttemptNumber", "AttemptTime", "ErrorMessage",
             "ErrorDetails", "HttpStatusCode", "ShouldRetry", "NextRetryTime") VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
        ),
    });
  }

  /**
   * Whether pos-sync's own table holds any row of `entity` (a refusal, backoff, dead letter or
   * Kafka backlog): without one, no row can be waiting out a backoff.
   */
  hasBookkeeping(entity: Entity): boolean {
    return this.hasState && this.stateRows[entity];
  }

  /** Up to `limit` rows due now, after `afterRowid`, oldest first. */
  nextPending(entity: 'transaction', afterRowid: number, nowText: string, limit: number): TransactionRow[];
  nextPending(entity: 'inventory', afterRowid: number, nowText: string, limit: number): InventoryRow[];
  nextPending(entity: Entity, afterRowid: number, nowText: string, limit: number): (TransactionRow | InventoryRow)[];
  nextPending(entity: Entity, afterRowid: number, nowText: string, limit: number): (TransactionRow | InventoryRow)[] {
    const s = this.statements[entity];
    return (this.stateRows[entity] ? s.nextPending : s.nextPendingBare).all(afterRowid, nowText, limit) as (TransactionRow | InventoryRow)[];
  }

  /**
   * SQLite's count of commits by other connections (PRAGMA data_version): taken before a batch is
   * read, the same number at marking time proves no other connection — the POS — wrote in between.
   */
  dataVersion(): number {
    return (this.#dataVersion ??= this.db.prepare('PRAGMA data_version').pluck()).get() as number;
  }

  /**
   * Marks delivered rows synced in one transaction, each only if its content is still what was
   * read for the batch (SentRow.hash); returns how many were marked. A row changed meanwhile
   * stays pending, and its new content goes out with a later batch. The transaction is IMMEDIATE:
   * nobody writes between the comparison and the update. When no other connection wrote since
   * the rows were read (the same data_version), no row can have changed and nothing is compared:
   * a drain with the POS quiet marks at the cost of a bare UPDATE by rowid.
   */
  markSynced(entity: Entity, sent: readonly SentRow[], nowText: string, kafkaPending: boolean): number {
    if (sent.length === 0) return 0;
    const { markSynced: mark, currentByRowid, currentById, clearState, kafkaPending: queueForKafka } = this.statements[entity];
    const after = kafkaPending ? queueForKafka : clearState;
    const bookkeeping = this.hasState && (kafkaPending || this.stateRows[entity]);
    if (kafkaPending && this.hasState) this.stateRows[entity] = true;
    return this.db
      .transaction(() => {
        const version = this.dataVersion();
        let rowids = sent.map((r) => r.rowid);
        if (!sent.every((r) => r.readVersion === version)) {
          // Only rows whose content is unchanged; looked up by Id too, should a VACUUM have renumbered rowids.
          const same = (current: readonly object[]): Map<string, number> => {
            const found = new Map<string, number>();
            for (const row of current) {
              const r = row as { rowid: number; Id: unknown };
              if (typeof r.Id === 'string' && hashes.get(r.Id) === contentHash(imageOf(entity, row))) found.set(r.Id, r.rowid);
            }
            return found;
          };
          const hashes = new Map(sent.map((r) => [r.id, r.hash]));
          const unchanged = same(currentByRowid.all(JSON.stringify(rowids)) as object[]);
          const missing = sent.filter((r) => !unchanged.has(r.id)).map((r) => r.id);
          if (missing.length > 0) for (const [id, rowid] of same(currentById.all(JSON.stringify(missing)) as object[])) unchanged.set(id, rowid);
          rowids = [...unchanged.values()];
        }
        if (!bookkeeping) return this.statements[entity].markSyncedCount.run(nowText, nowText, JSON.stringify(rowids)).changes;
        const marked = mark.all(nowText, nowText, JSON.stringify(rowids)) as string[];
        for (const id of marked) after.run(id);
        return marked.length;
      })
      .immediate();
  }

  /** A temporary failure: counts the attempt (the seed's meaning) without penalising the rows. */
  markAttempt(entity: Entity, ids: readonly string[], nowText: string, error: string): void {
    const stmt = this.statements[entity].markAttempt;
    this.db.transaction(() => {
      for (const id of ids) stmt.run(nowText, error, id);
    })();
  }

  rejectionsOf(entity: Entity, id: string, rowid?: number): number {
    const s = this.statements[entity];
    const key = rowid === undefined ? id : s.idOfRowid.get(rowid);
    const n = key === undefined ? undefined : s.rejectionsOf.get(key);
    return typeof n === 'number' ? n : 0;
  }

  /** Records refusals (and dead letters) with one SyncRetryLogs row each, in one transaction. */
  recordRejections(entity: Entity, rejections: readonly RefusedRowDecision[], nowText: string, storeId: string, newId: () => string): void {
    const s = this.statements[entity];
    if (rejections.length > 0 && this.hasState) this.stateRows[entity] = true;
    this.db.transaction(() => {
      for (const r of rejections) {
        // By rowid when given: the Id may be what is wrong (a BLOB matches no text id), and the
        // bookkeeping is keyed by the Id value exactly as the POS stored it.
        const key = r.rowid === undefined ? r.id : s.idOfRowid.get(r.rowid);
        if (r.rowid === undefined) s.attempt.run(nowText, r.error, r.id);
        else s.attemptByRowid.run(nowText, r.error, r.rowid);
        if (key !== undefined && key !== null) s.setState.run(key, r.rejections, r.nextAttemptAt, r.deadLettered ? nowText : null);
        this.retryLogs.insert.run(newId(), RETRY_LOG_ENTITY[entity], r.id, storeId, r.rejections, nowText, r.error, r.httpStatus, r.deadLettered ? 0 : 1, r.nextAttemptAt);
      }
    })();
  }
}
