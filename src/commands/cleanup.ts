// `pos-sync cleanup`: retention (pos-sync(1) COMMANDS). Retry logs and run history older than
// Sync.DataRetentionDays go; with --synced-older-than (or Sync.SyncedRowRetentionDays) so do
// synced business rows older than that — never an unsynced, dead-lettered or not yet published
// one. Holds the pass lock so it never runs beside a sync. The whole command: its options and
// --help, its run, the deleting, its human output.

import type { Database } from 'better-sqlite3';
import { positiveInt } from '../cli/options.js';
import type { Config } from '../config/types.js';
import { formatLocalTime, machineTimeZone, plural } from '../domain/localtime.js';
import { formatDbTime, systemClock, type Clock } from '../domain/time.js';
import type { Logger } from '../log.js';
import { acquireLock } from '../store/db.js';
import { countExpired, databaseBytes, deleteExpired, type RetentionCounts } from '../store/retention.js';
import { COMMON_EXIT_CODES, defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync cleanup --dry-run
  pos-sync cleanup --synced-older-than 90 --vacuum

Exit codes:
  0   done
  75  a pass still held the lock after Database.CommandTimeoutSeconds: try later
${COMMON_EXIT_CODES}`;

export const cleanup = defineCommand<{ dryRun?: boolean; syncedOlderThan?: number; vacuum?: boolean }>({
  options: [
    { flags: '--dry-run', description: 'report what would be deleted' },
    { flags: '--synced-older-than <days>', description: 'also delete synced business rows older than this', parse: positiveInt('--synced-older-than', 36500) },
    { flags: '--vacuum', description: 'compact the database afterwards (blocks the POS while it runs)' },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config } = await ctx.loadConfig();
    const openDb = await ctx.databases();
    const result = runCleanup(
      { dryRun: opts.dryRun, syncedOlderThanDays: opts.syncedOlderThan, vacuum: opts.vacuum },
      { config, clock: systemClock, log: ctx.log, openDb: () => openDb(config, false) },
    );
    ctx.print(result, () => renderCleanup(result, config.timeZone ?? machineTimeZone()));
    return result.exitCode;
  },
});

export interface CleanupOptions {
  readonly dryRun?: boolean | undefined;
  readonly syncedOlderThanDays?: number | undefined;
  readonly vacuum?: boolean | undefined;
}

export interface CleanupDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  readonly openDb: () => Database;
  /** Rowids per delete transaction (default 5,000). */
  readonly batchRows?: number;
}

export interface CleanupResult {
  readonly command: 'cleanup';
  readonly exitCode: 0;
  readonly dryRun: boolean;
  readonly database: string;
  readonly dataRetentionDays: number;
  /** Days after which synced business rows go, or null when they are kept. */
  readonly syncedRowRetentionDays: number | null;
  readonly dataBefore: string;
  readonly syncedBefore: string | null;
  /** Deleted rows, or with --dry-run the rows that would be deleted. */
  readonly deleted: RetentionCounts;
  readonly vacuum: { readonly beforeBytes: number; readonly afterBytes: number } | null;
  readonly durationMs: number;
}

const DAY_MS = 86_400_000;
/** Rowids per transaction: a few milliseconds of writing, so the POS waits at most that long. */
export const CLEANUP_BATCH_ROWS = 5_000;
/** How often a long cleanup renews its lock (sync takes over a lock older than 60 s or more). */
const LOCK_REFRESH_MS = 10_000;

export function runCleanup(options: CleanupOptions, deps: CleanupDeps): CleanupResult {
  const { config, clock, log } = deps;
  const start = clock.now();
  const dataDays = config.retention.dataDays;
  const syncedDays = options.syncedOlderThanDays ?? config.retention.syncedRowDays;
  const dataBefore = start - dataDays * DAY_MS;
  const syncedBefore = syncedDays === null ? null : start - syncedDays * DAY_MS;
  const cutoffs = { dataBefore: formatDbTime(dataBefore), syncedBefore: syncedBefore === null ? null : formatDbTime(syncedBefore) };
  const dryRun = options.dryRun === true;

  const db = deps.openDb();
  try {
    const base = {
      command: 'cleanup' as const,
      exitCode: 0 as const,
      dryRun,
      database: config.db.path,
      dataRetentionDays: dataDays,
      syncedRowRetentionDays: syncedDays,
      dataBefore: new Date(dataBefore).toISOString(),
      syncedBefore: syncedBefore === null ? null : new Date(syncedBefore).toISOString(),
    };
    if (dryRun) {
      // Only counts: no lock needed, nothing is changed.
      return { ...base, deleted: countExpired(db, cutoffs), vacuum: null, durationMs: clock.now() - start };
    }
    // Long enough that a live cleanup is never taken over; it renews the lock while it works.
    // A pass in progress delays it (Database.CommandTimeoutSeconds) rather than turn it away.
    const lock = acquireLock(config.db.path, 'cleanup', start, config.db.busyTimeoutMs);
    try {
      let lastRefresh = start;
      const deleted = deleteExpired(db, cutoffs, {
        batchRows: deps.batchRows ?? CLEANUP_BATCH_ROWS,
        between: () => {
          const now = clock.now();
          if (now - lastRefresh < LOCK_REFRESH_MS) return;
          lastRefresh = now;
          lock.refresh(now);
        },
      });
      log.info('cleanup deleted expired rows', { ...deleted });
      let vacuum: CleanupResult['vacuum'] = null;
      if (options.vacuum) {
        // VACUUM rewrites the whole file and blocks every writer, the POS included, until done.
        const beforeBytes = databaseBytes(db);
        lock.refresh(clock.now());
        db.exec('VACUUM');
        db.pragma('wal_checkpoint(TRUNCATE)');
        vacuum = { beforeBytes, afterBytes: databaseBytes(db) };
      }
      return { ...base, deleted, vacuum, durationMs: clock.now() - start };
    } finally {
      lock.release();
    }
  } finally {
    db.close();
  }
}

/** Human output; the cut-off on the store's wall clock (`zone`), --json keeps the instant. */
export function renderCleanup(r: CleanupResult, zone: string): string {
  const d = r.deleted;
  const before = Date.parse(r.dataBefore);
  // The run's own time: the cut-off plus the retention.
  const cutOff = formatLocalTime(before, before + r.dataRetentionDays * 86_400_000, zone);
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `${verb} ${plural(d.retryLogs, 'retry log row')} and ${plural(d.runHistory, 'run history row')} older than ${plural(r.dataRetentionDays, 'day')} (before ${cutOff})`,
    r.syncedRowRetentionDays === null
      ? 'synced business rows are kept (no --synced-older-than or Sync.SyncedRowRetentionDays)'
      : `${verb} ${plural(d.transactions, 'synced transaction')} and ${plural(d.inventory, 'synced inventory update')} older than ${plural(r.syncedRowRetentionDays, 'day')} (never an unsynced, dead-lettered or unpublished row)`,
  ];
  if (r.vacuum) lines.push(`vacuumed: ${(r.vacuum.beforeBytes / 1e6).toFixed(1)} MB → ${(r.vacuum.afterBytes / 1e6).toFixed(1)} MB`);
  if (r.dryRun) lines.push('dry run: nothing was deleted');
  return lines.join('\n') + '\n';
}
