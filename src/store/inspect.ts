// The database check of `pos-sync health`: opens the file read-only (never creating it), runs
// PRAGMA quick_check, reads the schema version and the backlog. quick_check reads the whole
// file (about a second per 500 MB) and better-sqlite3 cannot be interrupted, so it runs in a
// worker thread that the caller can terminate: health must end within its time limit whatever
// the size of the database or a lock held by the POS.

import { existsSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DatabaseFacts } from '../domain/health.js';
import { hasWalCompanions, readOnlyName } from './writable.js';

interface Job {
  readonly kind: 'pos-sync-inspect';
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly now: number;
}

/** Runs the check in this thread (tests, and the body of the worker). */
export async function inspectDatabase(dbPath: string, busyTimeoutMs: number, now: number, name?: string): Promise<DatabaseFacts> {
  if (!existsSync(dbPath)) return { kind: 'error', error: `database ${dbPath} does not exist` };
  if (isMainThread) process.env['SQLITE_USE_URI'] = '1'; // before the addon loads (store/db.ts)
  const [{ default: Sqlite }, { entityBacklog }, { SCHEMA_VERSION, inspectSchema }, { ENTITIES }] = await Promise.all([
    import('better-sqlite3'),
    import('./history.js'),
    import('./migrations.js'),
    import('../domain/rows.js'),
  ]);
  let db: import('better-sqlite3').Database | undefined;
  let opened = name;
  // An immutable read (a WAL database nothing had open) that the POS began writing meanwhile may
  // see a page mid-checkpoint: checked again the ordinary way, now that its -wal and -shm exist.
  const again = (): Promise<DatabaseFacts> | null => (opened !== undefined && opened !== dbPath && hasWalCompanions(dbPath) ? inspectDatabase(dbPath, busyTimeoutMs, now, dbPath) : null);
  try {
    // Never creates a -wal or -shm beside the database (writable.ts, readOnlyName).
    opened = name ?? readOnlyName(dbPath);
    db = new Sqlite(opened, { readonly: true, fileMustExist: true, timeout: Math.max(0, Math.round(busyTimeoutMs)) });
    const problems = (db.pragma('quick_check(5)') as Record<string, unknown>[]).map((r) => String(Object.values(r)[0]));
    const quickCheck = problems.length === 1 && problems[0] === 'ok' ? 'ok' : problems.join('; ').slice(0, 500);
    if (quickCheck !== 'ok') {
      const second = again();
      if (second !== null) return await second;
    }
    // pos-sync's own version (its own table; 0 when it has not set the database up yet).
    const facts = inspectSchema(db);
    const schemaVersion = facts.version;
    let pending = 0;
    let deadLettered = 0;
    let quarantined = 0;
    let kafkaBacklog = 0;
    let oldest: number | null = null;
    let oldestSale: number | null = null;
    if (schemaVersion <= SCHEMA_VERSION && !facts.missing.includes('PosTransactions') && !facts.missing.includes('InventoryUpdates')) {
      for (const entity of ENTITIES) {
        const b = entityBacklog(db, entity, now, facts);
        pending += b.pending;
        deadLettered += b.deadLettered;
        quarantined += b.quarantined;
        kafkaBacklog += b.kafkaBacklog;
        const at = b.oldestPendingAt === null ? null : Date.parse(b.oldestPendingAt);
        if (at !== null && (oldest === null || at < oldest)) oldest = at;
        if (entity === 'transaction') oldestSale = at;
      }
    }
    // One indexed lookup per table: a file with no sale and no inventory update ever is likely
    // not the POS's database (a typo'd path someone created).
    let kafkaOldestAt: number | null = null;
    if (kafkaBacklog > 0) {
      const { parseDbTime } = await import('../domain/time.js');
      for (const [entity, t] of [['transaction', 'PosTransactions'], ['inventory', 'InventoryUpdates']] as const) {
        // The Kafka backlog is pos-sync's own bookkeeping (PosSync_RowState), joined to the row's SyncedAt.
        const at = db
          .prepare(`SELECT min(p."SyncedAt") FROM "PosSync_RowState" AS s JOIN "${t}" AS p ON p."Id" = s."Id" WHERE s."Entity" = ? AND s."KafkaPending" = 1`)
          .pluck()
          .get(entity);
        const ms = typeof at === 'string' ? parseDbTime(at) : undefined;
        if (ms !== undefined && (kafkaOldestAt === null || ms < kafkaOldestAt)) kafkaOldestAt = ms;
      }
    }
    const empty = ['PosTransactions', 'InventoryUpdates'].every((t) => db!.prepare(`SELECT NOT EXISTS (SELECT 1 FROM "${t}")`).pluck().get() === 1);
    // The quarantine is named (a handful of rows at most): the health line says which sale is held and why.
    const quarantinedRows =
      quarantined === 0
        ? []
        : (await import('./quarantine.js')).listQuarantined(db, 3).rows.map((r) => ({ id: r.id, entity: r.entity, amount: r.amount, answer: r.answers[0] ?? null, nextTryAt: r.nextTryAt }));
    return { kind: 'ok', schemaVersion, quickCheck, pending, oldestPendingAt: oldest, oldestPendingSaleAt: oldestSale, deadLettered, quarantined, quarantinedRows, kafkaBacklog, kafkaOldestAt, empty };
  } catch (err) {
    const second = again();
    if (second !== null) return await second;
    const code = (err as { code?: unknown }).code;
    const hint = code === 'SQLITE_NOTADB' ? ' (not a SQLite database: restore it from a backup)' : code === 'SQLITE_BUSY' ? ' (locked by another process)' : '';
    return { kind: 'error', error: `cannot check ${dbPath}: ${err instanceof Error ? err.message : String(err)}${hint}` };
  } finally {
    db?.close();
  }
}

/** Runs the check in a worker; past `timeoutMs` the worker is terminated and the check times out. */
export function inspectDatabaseInWorker(dbPath: string, busyTimeoutMs: number, now: number, timeoutMs: number): Promise<DatabaseFacts> {
  // In this thread: a worker's process.env is its own copy, and the addon reads the real one once.
  process.env['SQLITE_USE_URI'] = '1';
  return new Promise((resolve) => {
    const job: Job = { kind: 'pos-sync-inspect', path: dbPath, busyTimeoutMs, now };
    let settled = false;
    const finish = (facts: DatabaseFacts): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(facts);
      void worker.terminate();
    };
    // This very file, named from where it lies in dist/: in the bundled CLI (dist/src/cli/pos-sync.cjs)
    // import.meta.url is the bundle's, and the worker must run this module, not the whole CLI.
    const worker = new Worker(new URL('../store/inspect.js', import.meta.url), { workerData: job });
    const timer = setTimeout(() => finish({ kind: 'timeout', afterMs: timeoutMs }), timeoutMs);
    worker.once('message', (facts: DatabaseFacts) => finish(facts));
    worker.once('error', (err) => finish({ kind: 'error', error: `the database check failed: ${err.message}` }));
    worker.once('exit', (code) => finish({ kind: 'error', error: `the database check stopped (exit ${code})` }));
  });
}

if (!isMainThread && (workerData as Partial<Job> | null)?.kind === 'pos-sync-inspect') {
  const job = workerData as Job;
  void inspectDatabase(job.path, job.busyTimeoutMs, job.now).then((facts) => parentPort?.postMessage(facts));
}
