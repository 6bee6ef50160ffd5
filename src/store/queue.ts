// The sync queue over the seed's tables: pending rows in the order the POS wrote them, and the
// sync columns pos-sync writes back. Statements are prepared once per pass.

import type { Database, Statement } from 'better-sqlite3';
import type { Entity, InventoryRow, TransactionRow } from '../domain/rows.js';

export const TABLE: Readonly<Record<Entity, string>> = { transaction: 'PosTransactions', inventory: 'InventoryUpdates' };
/** The seed's EntityType values in SyncRetryLogs. */
export const RETRY_LOG_ENTITY: Readonly<Record<Entity, string>> = { transaction: 'PosTransaction', inventory: 'InventoryUpdate' };

const COLUMNS: Readonly<Record<Entity, string>> = {
  transaction:
    'rowid AS rowid, "Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount", "TransactionDate", "CreatedAt", "Metadata", "Reference", "Notes"',
  inventory:
    'rowid AS rowid, "Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt", "Reason", "TransactionId"',
};

export interface RowFate {
  readonly id: string;
  readonly error: string;
  readonly httpStatus: number | null;
  /** Addresses the row instead of `id` when given: a BLOB Id a buggy POS wrote matches no text. */
  readonly rowid?: number | undefined;
}

export interface Rejection extends RowFate {
  /** Refusals so far including this one. */
  readonly rejections: number;
  /** When the row may be tried again (db time text), or null when dead-lettered. */
  readonly nextAttemptAt: string | null;
  readonly deadLettered: boolean;
}

interface EntityStatements {
  readonly nextPending: Statement;
  readonly markSynced: Statement;
  readonly markSyncedRow: Statement;
  readonly markAttempt: Statement;
  readonly reject: Statement;
  readonly rejectByRowid: Statement;
  readonly rejectionsOf: Statement;
  readonly rejectionsOfRowid: Statement;
}

export class Queue {
  private readonly statements: Record<Entity, EntityStatements>;
  private readonly retryLog: Statement;

  constructor(private readonly db: Database) {
    const make = (entity: Entity): EntityStatements => {
      const t = TABLE[entity];
      return {
        // The partial index on Synced = 0 keeps this fast when most of the table is synced;
        // the rowid cursor means rows waiting out a backoff are not read again and again.
        nextPending: db.prepare(
          `SELECT ${COLUMNS[entity]} FROM "${t}" INDEXED BY "IX_${t}_PosSync_Pending"
           WHERE "Synced" = 0 AND rowid > ? AND "DeadLetteredAt" IS NULL AND ("NextAttemptAt" IS NULL OR "NextAttemptAt" <= ?)
           ORDER BY rowid LIMIT ?`,
        ),
        markSynced: db.prepare(
          `UPDATE "${t}" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?,
             "LastSyncError" = NULL, "NextAttemptAt" = NULL, "KafkaPending" = ? WHERE "Id" = ? AND "Synced" = 0`,
        ),
        // The same by rowid (the read gave it) and Id together: rowids of one batch are neighbours
        // in the table, where random GUID Ids land on random index pages (a third less CPU for
        // marking 100,000 rows); the Id must match too, should a VACUUM have renumbered rowids.
        markSyncedRow: db.prepare(
          `UPDATE "${t}" SET "Synced" = 1, "SyncedAt" = ?, "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?,
             "LastSyncError" = NULL, "NextAttemptAt" = NULL, "KafkaPending" = ? WHERE rowid = ? AND "Id" = ? AND "Synced" = 0`,
        ),
        markAttempt: db.prepare(
          `UPDATE "${t}" SET "SyncAttempts" = "SyncAttempts" + 1, "LastSyncAttempt" = ?, "LastSyncError" = ? WHERE "Id" = ? AND "Synced" = 0`,
        ),
        reject: db.prepare(
          `UPDATE "${t}" SET "SyncAttempts" = "SyncAttempts" + 1, "SyncRejections" = ?, "LastSyncAttempt" = ?, "LastSyncError" = ?,
             "NextAttemptAt" = ?, "DeadLetteredAt" = ? WHERE "Id" = ? AND "Synced" = 0`,
        ),
        rejectByRowid: db.prepare(
          `UPDATE "${t}" SET "SyncAttempts" = "SyncAttempts" + 1, "SyncRejections" = ?, "LastSyncAttempt" = ?, "LastSyncError" = ?,
             "NextAttemptAt" = ?, "DeadLetteredAt" = ? WHERE rowid = ? AND "Synced" = 0`,
        ),
        rejectionsOf: db.prepare(`SELECT "SyncRejections" FROM "${t}" WHERE "Id" = ?`).pluck(),
        rejectionsOfRowid: db.prepare(`SELECT "SyncRejections" FROM "${t}" WHERE rowid = ?`).pluck(),
      };
    };
    this.statements = { transaction: make('transaction'), inventory: make('inventory') };
    this.retryLog = db.prepare(
      `INSERT INTO "SyncRetryLogs" ("Id", "EntityType", "EntityId", "StoreId", "AttemptNumber", "AttemptTime", "ErrorMessage",
         "ErrorDetails", "HttpStatusCode", "ShouldRetry", "NextRetryTime") VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
    );
  }

  /** Up to `limit` rows due now, after `afterRowid`, oldest first. */
  nextPending(entity: 'transaction', afterRowid: number, nowText: string, limit: number): TransactionRow[];
  nextPending(entity: 'inventory', afterRowid: number, nowText: string, limit: number): InventoryRow[];
  nextPending(entity: Entity, afterRowid: number, nowText: string, limit: number): (TransactionRow | InventoryRow)[];
  nextPending(entity: Entity, afterRowid: number, nowText: string, limit: number): (TransactionRow | InventoryRow)[] {
    return this.statements[entity].nextPending.all(afterRowid, nowText, limit) as (TransactionRow | InventoryRow)[];
  }

  /**
   * Marks delivered rows synced in one transaction; returns how many changed. `rowids` (id → rowid
   * from nextPending) makes each update a rowid lookup; a row not found that way is looked up by Id.
   */
  markSynced(entity: Entity, ids: readonly string[], nowText: string, kafkaPending: boolean, rowids?: ReadonlyMap<string, number>): number {
    const { markSynced: byId, markSyncedRow: byRowid } = this.statements[entity];
    const flag = kafkaPending ? 1 : 0;
    return this.db.transaction(() => {
      let changed = 0;
      for (const id of ids) {
        const rowid = rowids?.get(id);
        const n = rowid === undefined ? 0 : byRowid.run(nowText, nowText, flag, rowid, id).changes;
        changed += n > 0 ? n : byId.run(nowText, nowText, flag, id).changes;
      }
      return changed;
    })();
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
    const n = rowid === undefined ? s.rejectionsOf.get(id) : s.rejectionsOfRowid.get(rowid);
    return typeof n === 'number' ? n : 0;
  }

  /** Records refusals (and dead letters) with one SyncRetryLogs row each, in one transaction. */
  recordRejections(entity: Entity, rejections: readonly Rejection[], nowText: string, storeId: string, newId: () => string): void {
    const s = this.statements[entity];
    this.db.transaction(() => {
      for (const r of rejections) {
        const [stmt, key] = r.rowid === undefined ? [s.reject, r.id] : [s.rejectByRowid, r.rowid];
        stmt.run(r.rejections, nowText, r.error, r.nextAttemptAt, r.deadLettered ? nowText : null, key);
        this.retryLog.run(newId(), RETRY_LOG_ENTITY[entity], r.id, storeId, r.rejections, nowText, r.error, r.httpStatus, r.deadLettered ? 0 : 1, r.nextAttemptAt);
      }
    })();
  }
}
