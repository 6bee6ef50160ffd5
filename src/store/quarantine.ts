// The quarantine in pos-sync's own tables (man page, "QUARANTINE"): rows that failed alone while the
// central answered the rest, keyed by entity and row Id (PosSync_Quarantine survives the POS's
// table rebuilds like the rest of pos-sync's bookkeeping). A quarantined row's hold is its
// NextAttemptAt in PosSync_RowState, which the pending-row query already leaves out until due, so
// holding a row costs the read path nothing. Every query about the quarantine lives here.

import type { Database } from 'better-sqlite3';
import type { Suspect } from '../domain/quarantine.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { formatDbTime, parseDbTime } from '../domain/time.js';
import { QUARANTINE_TABLE, STATE_TABLE } from './migrations.js';
import { TABLE } from './queue.js';

/** What is kept per row: the decision's inputs, and the answers it got for a technician. */
export interface SuspectRecord extends Suspect {
  readonly entity: Entity;
  readonly id: string;
  /** The last answers, newest first (e.g. "HTTP 500: internal error"). */
  readonly answers: string;
}

/** Answers kept per row: enough to see whether the central always says the same. */
const ANSWERS_KEPT = 3;
const ANSWER_CHARS = 200;

const ms = (text: unknown): number | null => (typeof text === 'string' ? (parseDbTime(text) ?? null) : null);

/**
 * The suspects and quarantined rows of both entities (a handful at most), read once per pass when
 * it first has a batch to send: an idle pass never reads it. Empty on a database set up before the
 * quarantine existed (read-only callers).
 */
export function loadSuspects(db: Database): Map<string, SuspectRecord> {
  const present = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).get(QUARANTINE_TABLE) !== undefined;
  const out = new Map<string, SuspectRecord>();
  if (!present) return out;
  const rows = db.prepare(`SELECT "Entity", "Id", "Strikes", "Tries", "QuarantinedAt", "NextAttemptAt", "Answers" FROM "${QUARANTINE_TABLE}"`).all() as Record<string, unknown>[];
  for (const r of rows) {
    const entity = r['Entity'] as Entity;
    if (!ENTITIES.includes(entity)) continue;
    const id = String(r['Id']);
    out.set(suspectKey(entity, id), {
      entity,
      id,
      strikes: Number(r['Strikes']) || 0,
      tries: Number(r['Tries']) || 0,
      quarantinedAt: ms(r['QuarantinedAt']),
      nextAttemptAt: ms(r['NextAttemptAt']),
      answers: String(r['Answers'] ?? ''),
    });
  }
  return out;
}

export const suspectKey = (entity: Entity, id: string): string => `${entity}\u0000${id}`;

/** The answers text after one more: newest first, a few kept, each cut short. */
export function withAnswer(previous: string, answer: string): string {
  const one = answer.replace(/\s+/g, ' ').trim().slice(0, ANSWER_CHARS);
  return [one, ...previous.split('\n').filter((a) => a !== '')].slice(0, ANSWERS_KEPT).join('\n');
}

/**
 * Records a strike (domain/quarantine.ts decided `next`); a quarantined row's hold goes into the
 * bookkeeping table, where the pending-row query honours it. One transaction.
 */
export function recordStrike(db: Database, entity: Entity, id: string, next: Suspect, answers: string, now: number): void {
  const nowText = formatDbTime(now);
  const at = (t: number | null): string | null => (t === null ? null : formatDbTime(t));
  db.transaction(() => {
    db.prepare(
      `INSERT INTO "${QUARANTINE_TABLE}" ("Entity", "Id", "Strikes", "Tries", "FirstFailedAt", "LastFailedAt", "Answers", "QuarantinedAt", "NextAttemptAt")
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT ("Entity", "Id") DO UPDATE SET "Strikes" = excluded."Strikes", "Tries" = excluded."Tries", "LastFailedAt" = excluded."LastFailedAt",
         "Answers" = excluded."Answers", "QuarantinedAt" = excluded."QuarantinedAt", "NextAttemptAt" = excluded."NextAttemptAt"`,
    ).run(entity, id, next.strikes, next.tries, nowText, nowText, answers, at(next.quarantinedAt), at(next.nextAttemptAt));
    if (next.nextAttemptAt !== null) {
      db.prepare(
        `INSERT INTO "${STATE_TABLE}" ("Entity", "Id", "NextAttemptAt") VALUES (?, ?, ?)
         ON CONFLICT ("Entity", "Id") DO UPDATE SET "NextAttemptAt" = excluded."NextAttemptAt"`,
      ).run(entity, id, at(next.nextAttemptAt));
    }
  }).immediate();
}

/** Rows that went through (or were answered about: a refusal is the row's own story) leave the quarantine. */
export function clearSuspects(db: Database, entity: Entity, ids: readonly string[]): void {
  if (ids.length === 0) return;
  const del = db.prepare(`DELETE FROM "${QUARANTINE_TABLE}" WHERE "Entity" = ? AND "Id" = ?`);
  db.transaction(() => {
    for (const id of ids) del.run(entity, id);
  })();
}

/**
 * `requeue`: the rows leave the quarantine and are due at once (their hold in the bookkeeping
 * table is lifted; a row with nothing else to remember loses its bookkeeping row). Returns the
 * ids released; `ids` null releases every quarantined row.
 */
export function releaseQuarantined(db: Database, ids: readonly { entity: Entity; id: string }[] | null): { entity: Entity; id: string }[] {
  if (db.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).get(QUARANTINE_TABLE) === undefined) return [];
  const which = ids ?? (db.prepare(`SELECT "Entity" AS entity, "Id" AS id FROM "${QUARANTINE_TABLE}" WHERE "QuarantinedAt" IS NOT NULL`).all() as { entity: Entity; id: string }[]);
  const released: { entity: Entity; id: string }[] = [];
  const del = db.prepare(`DELETE FROM "${QUARANTINE_TABLE}" WHERE "Entity" = ? AND "Id" = ? AND "QuarantinedAt" IS NOT NULL`);
  const lift = db.prepare(`UPDATE "${STATE_TABLE}" SET "NextAttemptAt" = NULL WHERE "Entity" = ? AND "Id" = ? AND "Rejections" = 0`);
  const drop = db.prepare(
    `DELETE FROM "${STATE_TABLE}" WHERE "Entity" = ? AND "Id" = ? AND "Rejections" = 0 AND "DeadLetteredAt" IS NULL AND "KafkaPending" = 0 AND "NextAttemptAt" IS NULL`,
  );
  db.transaction(() => {
    for (const { entity, id } of which) {
      if (del.run(entity, id).changes === 0) continue;
      lift.run(entity, id);
      drop.run(entity, id);
      released.push({ entity, id });
    }
  }).immediate();
  return released;
}

/** One quarantined row as a technician needs it (and to run `requeue --id`). */
export interface QuarantinedRow {
  readonly id: string;
  readonly entity: Entity;
  /** A sale's TotalAmount as the POS wrote it; an inventory update's "PreviousStock → NewStock". */
  readonly amount: string | null;
  readonly strikes: number;
  readonly tries: number;
  /** The last answers, newest first. */
  readonly answers: readonly string[];
  /** ISO 8601 UTC. */
  readonly quarantinedAt: string;
  readonly nextTryAt: string | null;
}

const iso = (text: unknown): string | null => {
  const t = ms(text);
  return t === null ? null : new Date(t).toISOString();
};

/** Quarantined rows still pending, oldest first, at most `limit`, and how many there are in all. */
export function listQuarantined(db: Database, limit: number): { readonly rows: QuarantinedRow[]; readonly total: number } {
  if (db.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).get(QUARANTINE_TABLE) === undefined) return { rows: [], total: 0 };
  const rows: QuarantinedRow[] = [];
  let total = 0;
  for (const entity of ENTITIES) {
    const from = `"${QUARANTINE_TABLE}" AS q JOIN "${TABLE[entity]}" AS p ON p."Id" = q."Id" WHERE q."Entity" = '${entity}' AND q."QuarantinedAt" IS NOT NULL AND p."Synced" = 0`;
    total += db.prepare(`SELECT count(*) FROM ${from}`).pluck().get() as number;
    const amount = entity === 'transaction' ? `p."TotalAmount"` : `p."PreviousStock" || ' → ' || p."NewStock"`;
    const found = db
      .prepare(`SELECT q."Id" AS id, ${amount} AS amount, q."Strikes" AS strikes, q."Tries" AS tries, q."Answers" AS answers, q."QuarantinedAt" AS at, q."NextAttemptAt" AS next FROM ${from} ORDER BY q."QuarantinedAt" LIMIT ?`)
      .all(limit) as Record<string, unknown>[];
    for (const r of found) {
      rows.push({
        id: String(r['id']),
        entity,
        amount: r['amount'] === null || r['amount'] === undefined ? null : String(r['amount']),
        strikes: Number(r['strikes']) || 0,
        tries: Number(r['tries']) || 0,
        answers: String(r['answers'] ?? '').split('\n').filter((a) => a !== ''),
        quarantinedAt: iso(r['at']) ?? String(r['at']),
        nextTryAt: iso(r['next']),
      });
    }
  }
  rows.sort((a, b) => (a.quarantinedAt < b.quarantinedAt ? -1 : a.quarantinedAt > b.quarantinedAt ? 1 : 0));
  return { rows: rows.slice(0, limit), total };
}

/**
 * The idle tick's cheap check: is a quarantined row due now (its next try has come)? One indexed
 * lookup in a table of a few rows; false on a database without the quarantine table.
 */
export const QUARANTINE_DUE_SQL = `SELECT EXISTS (SELECT 1 FROM "${QUARANTINE_TABLE}" WHERE "QuarantinedAt" IS NOT NULL AND "NextAttemptAt" <= ?)`;

export function quarantinedRowDue(db: Database, now: number): boolean {
  try {
    return db.prepare(QUARANTINE_DUE_SQL).pluck().get(formatDbTime(now)) === 1;
  } catch {
    return false; // no such table yet: nothing quarantined
  }
}
