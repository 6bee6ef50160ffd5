// Opening the local database: the folder must exist (it is never created), the file is created
// only when allowed, WAL and a busy timeout let the POS keep writing while a pass runs (SPEC §4).

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite, { type Database } from 'better-sqlite3';
import { ConfigError, LocalIoError, TempFailError } from '../errors.js';
import { inspectSchema, migrate, SCHEMA_VERSION } from './migrations.js';
import { acquireLockWith, type PassLock } from '../state/lock.js';

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
 * every timer tick (SPEC §10).
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
export function acquireLock(dbPath: string, command: string, now: number): PassLock {
  return acquireLockWith((file) => new Sqlite(file, { ...(NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {}) }), dbPath, command, now);
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
    SQLITE_FULL: 'the disk is full: free some space',
    SQLITE_IOERR: 'the disk failed a read or write: check it (dmesg), its free space and any file-size limit',
    SQLITE_BUSY: 'another process (the POS?) holds the database locked longer than Database.CommandTimeoutSeconds; the next pass tries again',
    SQLITE_CANTOPEN: 'check that the path and its permissions are right',
    ENOSPC: 'the disk is full: free some space',
  };
  const hint = Object.entries(hints).find(([k]) => code.startsWith(k))?.[1];
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new TempFailError(`cannot ${doing} ${dbPath}: ${detail}`, { cause: err, ...(hint ? { hint } : {}) });
  }
  return new LocalIoError(`cannot ${doing} ${dbPath}: ${detail}`, { cause: err, ...(hint ? { hint } : {}) });
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
    // A read-only open changes nothing at all: no journal mode, no migration (SPEC §4).
    if (!options.readonly) {
      const mode = db.pragma('journal_mode', { simple: true }) as string;
      if (mode.toLowerCase() !== 'wal') db.pragma('journal_mode = WAL');
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
 * a rollback-journal database gets no -wal/-shm. Callers ask inspectSchema() whether pos-sync has
 * set it up and leave out what is not there.
 */
export function openReadOnly(file: string, busyTimeoutMs: number): Database {
  if (!existsSync(file)) {
    throw new LocalIoError(`database ${file} does not exist`, { hint: 'check --db / Database.ConnectionString' });
  }
  let db: Database;
  try {
    db = new Sqlite(file, { fileMustExist: true, readonly: true, timeout: busyTimeout(busyTimeoutMs), ...(NATIVE_BINDING ? { nativeBinding: NATIVE_BINDING } : {}) });
  } catch (err) {
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
