// Opening the local database: the folder must exist (it is never created), the file is created
// only when allowed, WAL and a busy timeout let the POS keep writing while a pass runs (pos-sync-operations(7) THE LOCAL DATABASE).

import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite, { type Database } from 'better-sqlite3';
import { ConfigError, LocalIoError, TempFailError } from '../errors.js';
import { inspectSchema, migrate, SCHEMA_VERSION } from './migrations.js';
import { acquireLockWith, type PassLock } from '../state/lock.js';
import { assertSafeToWrite, namedCause, readOnlyName } from './writable.js';

// URI file names (`file:…?immutable=1`), which readers need to open a WAL database without
// creating its -wal and -shm (writable.ts, readOnlyName). The addon reads this once, when it is
// first loaded (by the first database opened in this process); plain paths are unaffected.
process.env['SQLITE_USE_URI'] = '1';

/**
 * better-sqlite3's native addon, named directly: a local compile (build/Release) if someone made
 * one, else the N-API prebuild the package ships for this platform (better-sqlite3 13+; one
 * binary serves Node 22 and 24). The bundled CLI (dist/src/cli/pos-sync.cjs) does not live in the
 * package, so better-sqlite3's own search, relative to its own files, cannot find it from there.
 * Undefined (better-sqlite3's own search) if neither file exists.
 *
 * A pin on better-sqlite3's layout (prebuilds/<platform>-<arch>.node, as 13.x ships it): a
 * release that moves the file falls back to its own search, which the bundle cannot follow, and
 * the CLI then fails to open any database — every end-to-end test through bin/pos-sync shows it.
 * musl is not detected here: on Alpine the name is linux-x64, the glibc build, which does not load
 * there (better-sqlite3 ships linuxmusl-<arch>.node beside it). Telling musl apart costs a process
 * report on every start; pos-sync's packages target Debian (glibc), so it is left as a known limit.
 *
 * The package is looked for first where this project's layouts put it — dist/src/<dir>/ (the
 * bundle in dist/src/cli/, this module in dist/src/store/) is three folders below the root that
 * holds node_modules/, in a checkout and in the Debian package alike — and only then through
 * Node's resolver: resolving a bare name reads package.json "exports" maps, about a millisecond of
 * every timer tick (pos-sync-internals(7) PERFORMANCE).
 */
const NATIVE_BINDING = ((): string | undefined => {
  const addon = (dir: string): string | undefined =>
    [join(dir, 'build', 'Release', 'better_sqlite3.node'), join(dir, 'prebuilds', `${process.platform}-${process.arch}.node`)].find((file) => existsSync(file));
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = addon(resolve(here, '..', '..', '..', 'node_modules', 'better-sqlite3'));
  if (beside !== undefined) return beside;
  try {
    // node:module only here, off the usual path.
    return addon(dirname(process.getBuiltinModule('node:module').createRequire(import.meta.url).resolve('better-sqlite3/package.json')));
  } catch {
    return undefined;
  }
})();

/**
 * Takes the pass lock beside the database at `dbPath` (state/lock.ts), or throws 75 naming the
 * holder. The lock is a SQLite file too, opened through the same addon as the database.
 */
export function acquireLock(dbPath: string, command: string, now: number, waitMs = 0): PassLock {
  return acquireLockWith((file) => new Sqlite(file, { ...(NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {}) }), dbPath, command, now, waitMs);
}

export interface OpenOptions {
  readonly path: string;
  /** Create the file when missing (Sync.AutoCreateDatabase, and only for commands that write). */
  readonly create: boolean;
  readonly autoMigrate: boolean;
  readonly busyTimeoutMs: number;
  readonly readonly?: boolean;
}

/**
 * Wraps SQLite and file-system failures as exit-74 errors with a message a technician can act on.
 * A database the POS keeps locked past the busy timeout is the exception: nothing is wrong with
 * the file, the next tick simply tries again, so it is a temporary failure (75), which the
 * systemd unit does not count as a failure.
 */
export function asLocalIoError(err: unknown, dbPath: string, doing: string): LocalIoError | TempFailError {
  const code = String((err as { code?: unknown }).code ?? '');
  const detail = err instanceof Error ? err.message : String(err);
  const hints: Record<string, string> = {
    SQLITE_NOTADB: 'the file is not a SQLite database (corrupt?): restore it from a backup',
    SQLITE_CORRUPT: 'the database is corrupt: restore it from a backup',
    SQLITE_READONLY: 'the database is read-only: check its permissions and those of its folder',
    SQLITE_FULL: 'no space left on the device: free some space (df -h), then the next pass goes on',
    SQLITE_IOERR: 'the disk failed a read or write: check it (dmesg), its free space and any file-size limit',
    SQLITE_BUSY: 'another process (the POS?) held the database locked for the rest of the pass (its time is bounded by Sync.MaxRunSeconds and Database.CommandTimeoutSeconds); the next pass tries again',
    SQLITE_CANTOPEN: 'check that the path and its permissions are right',
    ENOSPC: 'no space left on the device: free some space (df -h), then the next pass goes on',
  };
  const hint = Object.entries(hints).find(([k]) => code.startsWith(k))?.[1];
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new TempFailError(`database locked by another process: cannot ${doing} ${dbPath} (${detail})`, { cause: err, ...(hint ? { hint } : {}) });
  }
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC') {
    return new LocalIoError(`no space left on the device: cannot ${doing} ${dbPath} (${detail})`, { cause: err, ...(hint ? { hint } : {}) });
  }
  // SQLite says "unable to open" or "disk I/O error" where the system said why: ask the system.
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY')) {
    const named = systemCause(dbPath);
    if (named !== null) return new LocalIoError(`${named.message}: cannot ${doing} (${detail})`, { cause: err, hint: named.hint });
  }
  return new LocalIoError(`cannot ${doing} ${dbPath}: ${detail}`, { cause: err, ...(hint ? { hint } : {}) });
}

/**
 * A SQLite failure met in the middle of a pass. The POS's own migration rebuilding a table (EF
 * Core: CREATE "ef_temp_…", copy, DROP, RENAME) drops pos-sync's index and changes the schema
 * under the pass's statements: "no such index" then means "try again", not a broken file — the
 * next pass recreates the index at open. Everything else is as asLocalIoError says.
 */
export function asMidPassError(err: unknown, dbPath: string): LocalIoError | TempFailError {
  const code = String((err as { code?: unknown }).code ?? '');
  const detail = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_SCHEMA') || (code === 'SQLITE_ERROR' && /^no such (index|table|column)\b/.test(detail))) {
    return new TempFailError(`the schema of ${dbPath} changed during the pass (${detail})`, {
      cause: err,
      hint: 'the POS application migrated its tables meanwhile: the next pass sets the database up again and goes on',
    });
  }
  return asLocalIoError(err, dbPath, 'use the database');
}

/** A pause that blocks: the pass's SQLite calls are synchronous, there is nothing else to run. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
}

function isBusy(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Switches a rollback-journal database to WAL. SQLite does not call the busy handler for this
 * change (it fails with SQLITE_BUSY at once while the POS holds any lock), so the waiting is done
 * here: retried every 20 ms for at most `waitMs`, like a busy timeout would.
 */
export function switchToWal(db: Database, waitMs: number, now: () => number = Date.now): void {
  const until = now() + waitMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const left = until - now();
      if (!isBusy(err) || left <= 0) throw err;
      pause(Math.min(20, left));
    }
  }
}

/**
 * Makes every wait of `db` for a lock end by `deadline` (on `now`'s clock): the busy timeout is
 * reset to the time left (at most `longestMs`, Database.CommandTimeoutSeconds) before each
 * transaction and each statement run, instead of being the
 * whole budget whenever it is met (a pass could otherwise run nearly twice Sync.MaxRunSeconds
 * while the POS holds a write transaction). Reset at most every 50 ms, so a drain's statements
 * cost no extra pragma each; a wait overruns the deadline by at most that.
 */
export function boundWaits(db: Database, deadline: number, now: () => number, longestMs: number): void {
  let setAt = Number.NEGATIVE_INFINITY;
  const refresh = (): void => {
    const t = now();
    if (t - setAt < 50) return;
    setAt = t;
    db.pragma(`busy_timeout = ${busyTimeout(Math.min(longestMs, deadline - t))}`);
  };
  refresh();
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: never[]) => unknown) => {
    const tx = transaction(fn);
    const bounded = (...args: never[]): unknown => (refresh(), tx(...args));
    return Object.assign(bounded, {
      deferred: (...args: never[]): unknown => (refresh(), tx.deferred(...args)),
      immediate: (...args: never[]): unknown => (refresh(), tx.immediate(...args)),
      exclusive: (...args: never[]): unknown => (refresh(), tx.exclusive(...args)),
      default: tx.default,
      database: db,
    });
  }) as unknown as Database['transaction'];
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    const run = statement.run.bind(statement);
    statement.run = (...args: unknown[]) => (refresh(), run(...args));
    return statement;
  }) as Database['prepare'];
  const exec = db.exec.bind(db);
  db.exec = (source: string) => (refresh(), exec(source));
}

/**
 * The cause the system gives for the database's folder or file, when SQLite hides it behind
 * "unable to open" or "disk I/O error": a read-only mount (EROFS), a full disk (ENOSPC from
 * statfs: no free block), a permission (EACCES). Null when none of these explains it.
 */
function systemCause(dbPath: string): { message: string; hint: string } | null {
  const folder = dirname(dbPath);
  for (const [what, target, mode] of [['database folder', folder, constants.W_OK | constants.X_OK], ['database', dbPath, constants.R_OK | constants.W_OK]] as const) {
    try {
      accessSync(target, mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      let stat = null;
      try {
        stat = statSync(target);
      } catch {
        // the stat only adds detail
      }
      return namedCause(code, what, target, stat);
    }
  }
  try {
    const fs = statfsSync(folder);
    if (fs.bavail === 0 || fs.ffree === 0) return namedCause('ENOSPC', 'database', dbPath, null);
  } catch {
    // no file-system figures: nothing more to name
  }
  return null;
}

/** The addon's `timeout` option: whole milliseconds, 0 to 2^31 − 1 (it refuses anything else). */
function busyTimeout(ms: number): number {
  return Math.min(0x7fffffff, Math.max(0, Math.round(ms)));
}

export function openDatabase(options: OpenOptions): Database {
  const file = options.path;
  if (options.readonly) return openReadOnly(file, options.busyTimeoutMs);
  const folder = dirname(file);
  if (!existsSync(folder)) {
    throw new LocalIoError(`database folder ${folder} does not exist`, { hint: 'create it, or point --db / Database.ConnectionString at the right place' });
  }
  const exists = existsSync(file);
  if (!exists && !options.create) {
    throw new LocalIoError(`database ${file} does not exist`, {
      hint: 'check --db / Database.ConnectionString (a typo? a moved database?); to start an empty one set Sync.AutoCreateDatabase=true (or run pos-sync seed for a test database)',
    });
  }
  // Before SQLite creates anything beside the database (man page, FILES).
  if (exists) assertSafeToWrite(file);
  let db: Database;
  try {
    // The busy timeout as an option: set by the addon at open, not by one more statement.
    db = new Sqlite(file, {
      fileMustExist: !options.create,
      readonly: options.readonly ?? false,
      timeout: busyTimeout(options.busyTimeoutMs),
      ...(NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {}),
    });
  } catch (err) {
    throw asLocalIoError(err, file, 'open the database');
  }
  try {
    // Reading the schema fails at once on a file that is not a database.
    const facts = inspectSchema(db);
    if (facts.version > SCHEMA_VERSION) {
      throw new LocalIoError(`database ${file} has pos-sync schema version ${facts.version}, newer than this pos-sync knows (${SCHEMA_VERSION})`, {
        hint: 'upgrade pos-sync',
      });
    }
    // A read-only open changes nothing at all: no journal mode, no migration (pos-sync-operations(7) THE LOCAL DATABASE).
    if (!options.readonly) {
      const mode = db.pragma('journal_mode', { simple: true }) as string;
      if (mode.toLowerCase() !== 'wal') switchToWal(db, options.busyTimeoutMs);
      // NORMAL is durable in WAL mode except for the very last transactions on power loss;
      // a lost "mark synced" only means a re-send, deduplicated by the central.
      db.pragma('synchronous = NORMAL');
      if (facts.version < SCHEMA_VERSION && !options.autoMigrate) {
        throw new ConfigError(`database ${file} has pos-sync schema version ${facts.version}, this pos-sync needs ${SCHEMA_VERSION}`, {
          hint: 'set Database.AutoMigrate to true, or migrate it once with a pos-sync that may',
        });
      }
      // Also when only an index is missing (the POS rebuilt a table): recreated by name.
      if (facts.missing.length > 0 || facts.version < SCHEMA_VERSION) migrate(db);
    }
  } catch (err) {
    db.close();
    if (err instanceof ConfigError || err instanceof LocalIoError) throw err;
    throw asLocalIoError(err, file, 'use the database');
  }
  return db;
}

/**
 * Opens for reading only (status, health, config, sync --dry-run): SQLITE_OPEN_READONLY, never
 * created, never migrated, journal mode left alone, so the file stays byte-for-byte the same and
 * nothing is created beside it, for any user and journal mode (writable.ts, readOnlyName). Callers ask inspectSchema() whether pos-sync has
 * set it up and leave out what is not there.
 */
export function openReadOnly(file: string, busyTimeoutMs: number): Database {
  const name = readOnlyName(file);
  let db: Database;
  try {
    db = new Sqlite(name, { fileMustExist: true, readonly: true, timeout: busyTimeout(busyTimeoutMs), ...(NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {}) });
  } catch (err) {
    if (name !== file) {
      throw new LocalIoError(`cannot read ${file} without creating its -wal and -shm files (${err instanceof Error ? err.message : String(err)})`, {
        cause: err,
        hint: 'reading commands create nothing beside the database: ask again while the POS runs, or after one `pos-sync sync` as the service user',
      });
    }
    throw asLocalIoError(err, file, 'open the database');
  }
  try {
    const facts = inspectSchema(db);
    if (facts.version > SCHEMA_VERSION) {
      throw new LocalIoError(`database ${file} has pos-sync schema version ${facts.version}, newer than this pos-sync knows (${SCHEMA_VERSION})`, { hint: 'upgrade pos-sync' });
    }
    if (facts.missing.includes('PosTransactions') || facts.missing.includes('InventoryUpdates')) {
      throw new LocalIoError(`database ${file} has no POS tables (PosTransactions, InventoryUpdates)`, { hint: 'check --db / Database.ConnectionString' });
    }
  } catch (err) {
    db.close();
    if (err instanceof LocalIoError) throw err;
    throw asLocalIoError(err, file, 'read the database');
  }
  return db;
}
