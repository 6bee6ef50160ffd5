// Rows the POS wrote with a value pos-sync cannot read (domain/events.ts says which and why): they
// cannot be sent faithfully, so they are not sent — and they are not the central's refusal, so they
// never count toward the dead letter. Kept in pos-sync's own table PosSync_Unreadable (keyed by
// entity and the Id exactly as stored), listed by `status`, held by NextAttemptAt in the bookkeeping
// table and read again after a growing wait: once the POS has fixed the value, the row goes out.

import type { Database } from 'better-sqlite3';
import { quarantineDelayMs, type QuarantineSettings } from '../domain/quarantine.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { formatDbTime, parseDbTime } from '../domain/time.js';
import { STATE_TABLE, UNREADABLE_TABLE } from './migrations.js';
import { TABLE } from './queue.js';

/** A row that could not be read, by rowid (its Id may be what is wrong). */
export interface UnreadableRow {
  readonly rowid: number;
  readonly id: string;
  readonly error: string;
}

/** Records rows found unreadable now; returns them with when each is looked at again. One transaction. */
export function recordUnreadable(db: Database, entity: Entity, rows: readonly UnreadableRow[], now: number, wait: Pick<QuarantineSettings, 'baseDelayMs' | 'maxDelayMs'>): { id: string; nextAt: number }[] {
  const t = TABLE[entity];
  const nowText = formatDbTime(now);
  const keyOf = db.prepare(`SELECT "Id" FROM "${t}" WHERE rowid = ?`).pluck();
  const seenOf = db.prepare(`SELECT "Seen" FROM "${UNREADABLE_TABLE}" WHERE "Entity" = ? AND "Id" = ?`).pluck();
  const upsert = db.prepare(
    `INSERT INTO "${UNREADABLE_TABLE}" ("Entity", "Id", "Reason", "Seen", "FirstSeenAt", "LastSeenAt", "NextAttemptAt") VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT ("Entity", "Id") DO UPDATE SET "Reason" = excluded."Reason", "Seen" = excluded."Seen", "LastSeenAt" = excluded."LastSeenAt", "NextAttemptAt" = excluded."NextAttemptAt"`,
  );
  const hold = db.prepare(
    `INSERT INTO "${STATE_TABLE}" ("Entity", "Id", "NextAttemptAt") VALUES (?, ?, ?) ON CONFLICT ("Entity", "Id") DO UPDATE SET "NextAttemptAt" = excluded."NextAttemptAt"`,
  );
  // The POS's own column says why, for whoever looks at the row there; not an attempt (nothing was sent).
  const note = db.prepare(`UPDATE "${t}" SET "LastSyncError" = ? WHERE rowid = ? AND "Synced" = 0`);
  const out: { id: string; nextAt: number }[] = [];
  db.transaction(() => {
    for (const r of rows) {
      const key = keyOf.get(r.rowid);
      if (key === undefined || key === null) continue;
      const seen = (Number(seenOf.get(entity, key)) || 0) + 1;
      const nextAt = now + quarantineDelayMs(seen, { afterPasses: 1, ...wait });
      upsert.run(entity, key, r.error.slice(0, 500), seen, nowText, nowText, formatDbTime(nextAt));
      hold.run(entity, key, formatDbTime(nextAt));
      note.run(`pos-sync cannot read this row: ${r.error}`.slice(0, 500), r.rowid);
      out.push({ id: r.id, nextAt });
    }
  }).immediate();
  return out;
}

/** One unreadable row as a technician needs it: which, why, since when, when it is looked at again. */
export interface ListedUnreadable {
  readonly id: string;
  readonly entity: Entity;
  readonly reason: string;
  /** ISO 8601 UTC. */
  readonly since: string;
  readonly nextLookAt: string | null;
}

const iso = (v: unknown): string | null => {
  const ms = typeof v === 'string' ? parseDbTime(v) : undefined;
  return ms === undefined ? null : new Date(ms).toISOString();
};

/** Unreadable rows still pending, oldest first, at most `limit`, and how many in all. */
export function listUnreadable(db: Database, limit: number): { readonly rows: ListedUnreadable[]; readonly total: number } {
  if (db.prepare(`SELECT 1 FROM sqlite_master WHERE name = ?`).get(UNREADABLE_TABLE) === undefined) return { rows: [], total: 0 };
  const rows: ListedUnreadable[] = [];
  let total = 0;
  for (const entity of ENTITIES) {
    const from = `"${UNREADABLE_TABLE}" AS u JOIN "${TABLE[entity]}" AS p ON p."Id" = u."Id" WHERE u."Entity" = '${entity}' AND p."Synced" = 0`;
    total += db.prepare(`SELECT count(*) FROM ${from}`).pluck().get() as number;
    const found = db.prepare(`SELECT u."Id" AS id, u."Reason" AS reason, u."FirstSeenAt" AS since, u."NextAttemptAt" AS next FROM ${from} ORDER BY u."FirstSeenAt" LIMIT ?`).all(limit) as Record<string, unknown>[];
    for (const r of found) {
      const id = Buffer.isBuffer(r['id']) ? `X'${r['id'].toString('hex').toUpperCase()}'` : String(r['id']);
      rows.push({ id, entity, reason: String(r['reason']), since: iso(r['since']) ?? String(r['since']), nextLookAt: iso(r['next']) });
    }
  }
  rows.sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : 0));
  return { rows: rows.slice(0, limit), total };
}
