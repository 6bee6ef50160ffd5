// The local side of `pos-sync reconcile`: summaries and listings of delivered rows (Synced = 1) per
// time range, read with one indexed range query each (the seed's indexes on TransactionDate and
// UpdateDate) and iterated row by row, so memory stays flat however large the window. Money is read
// as the stored decimal text and summed exactly (domain/reconcile.ts).

import type { Database, Statement } from 'better-sqlite3';
import type { Entity } from '../domain/rows.js';
import { parseDecimal, SCALE, SummaryBuilder, type ListedRow, type Range, type Summary } from '../domain/reconcile.js';
import { formatDbTime } from '../domain/time.js';

const SCALE_FACTOR = 10n ** BigInt(SCALE);

interface Shape {
  readonly table: string;
  readonly time: string;
}

const SHAPE: Record<Entity, Shape> = {
  transaction: { table: 'PosTransactions', time: 'TransactionDate' },
  inventory: { table: 'InventoryUpdates', time: 'UpdateDate' },
};

/** A row whose amount cannot be read (not decimal text, a float, NULL): listed, never skipped silently. */
export interface UnreadableRow {
  readonly entity: Entity;
  readonly id: string;
  readonly why: string;
}

/** Rows of the window that are not delivered: reported beside, never counted as missing. */
export interface NotDelivered {
  readonly pending: number;
  readonly deadLettered: number;
}

export type LocalRowState = 'synced' | 'pending' | 'deadLettered';

/**
 * Bounds as the seed's datetime text. The column holds 'yyyy-MM-dd HH:mm:ss[.FFFFFFF]' (fraction
 * zeros dropped), which sorts as time; formatDbTime writes a bound the same way, so `>= from` and
 * `< to` on the text are the half-open range on the time truncated to milliseconds, like the central's.
 */
function bounds(range: Range): [string, string] {
  return [formatDbTime(range.from), formatDbTime(range.to)];
}

type AmountRow = { id: unknown; a: unknown; b: unknown };

/** The row's amount, scaled; a string saying why when it cannot be read. */
function amountOf(entity: Entity, row: AmountRow): bigint | string {
  if (entity === 'transaction') {
    if (typeof row.a !== 'string') return `TotalAmount is ${row.a === null ? 'NULL' : typeof row.a === 'number' ? `the number ${row.a}` : 'not text'}, expected decimal text`;
    const v = parseDecimal(row.a);
    return v === undefined ? `TotalAmount ${JSON.stringify(row.a.slice(0, 40))} is not decimal text` : v;
  }
  if (typeof row.a !== 'number' || typeof row.b !== 'number' || !Number.isSafeInteger(row.a) || !Number.isSafeInteger(row.b)) {
    return 'PreviousStock or NewStock is not an integer';
  }
  return BigInt(row.b - row.a) * SCALE_FACTOR;
}

function amountText(entity: Entity, row: AmountRow): string | null {
  const v = amountOf(entity, row);
  if (typeof v === 'string') return null;
  return entity === 'transaction' ? (row.a as string) : String((row.b as number) - (row.a as number));
}

function idText(id: unknown): string {
  if (typeof id === 'string') return id;
  if (Buffer.isBuffer(id)) return `X'${id.toString('hex').toUpperCase()}'`;
  return String(id);
}

export interface LocalReconcileStore {
  summary(entity: Entity, range: Range, onUnreadable?: (row: UnreadableRow) => void): Summary;
  rows(entity: Entity, range: Range): ListedRow[];
  notDelivered(entity: Entity, range: Range): NotDelivered;
  /** Where each id stands here, for ids the central holds that this till did not deliver. */
  stateOf(entity: Entity, id: string): LocalRowState | null;
  /** Puts delivered rows back in the queue (Synced = 0); returns the ids actually changed. */
  requeue(entity: Entity, ids: readonly string[]): string[];
}

export function localReconcileStore(db: Database): LocalReconcileStore {
  /**
   * SQL that is 1 for a dead-lettered row `t`: pos-sync's bookkeeping table when the database has it
   * (PosSync_RowState, keyed by entity and Id), else the older DeadLetteredAt column on the POS
   * table, else 0 (a database pos-sync has not set up has no dead letters).
   */
  const deadExpr = (entity: Entity): string => {
    const has = (table: string, column: string): boolean => (db.pragma(`table_info("${table}")`) as { name: string }[]).some((c) => c.name === column);
    if (has('PosSync_RowState', 'DeadLetteredAt')) {
      return `EXISTS (SELECT 1 FROM "PosSync_RowState" AS s WHERE s."Entity" = '${entity}' AND s."Id" = t."Id" AND s."DeadLetteredAt" IS NOT NULL)`;
    }
    return has(SHAPE[entity].table, 'DeadLetteredAt') ? 't."DeadLetteredAt" IS NOT NULL' : '0';
  };
  const cache = new Map<string, Statement>();
  const stmt = (key: string, sql: () => string): Statement => {
    let s = cache.get(key);
    if (!s) {
      s = db.prepare(sql());
      cache.set(key, s);
    }
    return s;
  };
  const amountColumns = (entity: Entity): string => (entity === 'transaction' ? '"TotalAmount" AS a, NULL AS b' : '"PreviousStock" AS a, "NewStock" AS b');
  const delivered = (entity: Entity): Statement => {
    const { table, time } = SHAPE[entity];
    return stmt(`rows:${entity}`, () => `SELECT "Id" AS id, ${amountColumns(entity)} FROM "${table}" WHERE "${time}" >= ? AND "${time}" < ? AND "Synced" = 1`);
  };

  return {
    summary(entity, range, onUnreadable) {
      const builder = new SummaryBuilder();
      for (const row of delivered(entity).iterate(...bounds(range)) as IterableIterator<AmountRow>) {
        const id = idText(row.id);
        const amount = amountOf(entity, row);
        if (typeof amount === 'string') {
          builder.addWithoutAmount(id);
          onUnreadable?.({ entity, id, why: amount });
        } else {
          builder.add(id, amount);
        }
      }
      return builder.result();
    },
    rows(entity, range) {
      const out: ListedRow[] = [];
      for (const row of delivered(entity).iterate(...bounds(range)) as IterableIterator<AmountRow>) out.push({ id: idText(row.id), amount: amountText(entity, row) });
      return out;
    },
    notDelivered(entity, range) {
      const { table, time } = SHAPE[entity];
      const row = stmt(`nd:${entity}`, () => `SELECT COUNT(*) AS n, COALESCE(SUM(${deadExpr(entity)}), 0) AS dead FROM "${table}" AS t WHERE t."${time}" >= ? AND t."${time}" < ? AND t."Synced" = 0`).get(...bounds(range)) as { n: number; dead: number };
      return { pending: row.n - row.dead, deadLettered: row.dead };
    },
    stateOf(entity, id) {
      const { table } = SHAPE[entity];
      const row = stmt(`state:${entity}`, () => `SELECT t."Synced" AS synced, ${deadExpr(entity)} AS dead FROM "${table}" AS t WHERE t."Id" = ?`).get(id.toUpperCase()) as { synced: number; dead: number } | undefined;
      const found = row ?? (stmt(`state:${entity}`, () => '').get(id) as { synced: number; dead: number } | undefined);
      if (!found) return null;
      if (found.synced === 1) return 'synced';
      return found.dead ? 'deadLettered' : 'pending';
    },
    requeue(entity, ids) {
      const { table } = SHAPE[entity];
      const update = db.prepare(`UPDATE "${table}" SET "Synced" = 0, "SyncedAt" = NULL WHERE "Id" = ? AND "Synced" = 1`);
      return db.transaction(() => ids.filter((id) => update.run(id).changes > 0)).immediate();
    },
  };
}
