// One pass per database at a time (pos-sync-operations(7) BETWEEN INVOCATIONS; pos-sync-operations(7) TIME), by an operating-system lock: an EXCLUSIVE
// transaction on a small SQLite file of pos-sync's own beside the database (`<db>.pos-sync.lock`).
// SQLite takes it with fcntl byte-range locks, which the kernel releases when the process dies,
// however it dies: no pid, age or host decides who holds it, nothing is ever "taken over". The
// file is never deleted (deleting a lock file races with a process opening it); a second file,
// `<lock>.holder`, says who holds it, for the message only.
//
// The lock is a lock for every file it may find (man page, FILES): pos-sync creates it 0660 (the
// service user and the POS group's technicians share it), refuses a link, FIFO or device at its
// name, and refuses a lock file it cannot write — SQLite would open it read-only, where BEGIN
// EXCLUSIVE is only a read transaction, and two passes would both "hold" it.

import { accessSync, closeSync, constants, fchmodSync, lstatSync, openSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { describeOwner, oddFile, readOwnFile, writeOwnFile } from './own-file.js';
import type { Database } from 'better-sqlite3';
import { LocalIoError, TempFailError } from '../errors.js';
import { hostName as hostname } from '../host.js';

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly command: string;
}

export interface PassLock {
  readonly path: string;
  release(): void;
  /** Kept for callers that ran long (cleanup): a kernel lock needs no renewal. Always true. */
  refresh(now: number): boolean;
}

/**
 * The lock of the database at `dbPath`, named from its resolved path: a symlink to the same
 * database, or a path spelled differently, is the same lock.
 */
export function lockPathFor(dbPath: string): string {
  return `${databaseRealPath(dbPath)}.pos-sync.lock`;
}

/**
 * The database's resolved path, which names the files beside it (lock, state file): a symlink to
 * it, or a path spelled differently, gives the same name.
 */
export function databaseRealPath(dbPath: string): string {
  try {
    return realpathSync(dbPath);
  } catch {
    // Not created yet (sync may create it): resolve its folder.
    try {
      return join(realpathSync(dirname(dbPath)), basename(dbPath));
    } catch {
      return resolve(dbPath);
    }
  }
}

function readHolder(file: string): LockInfo | null {
  try {
    const read = readOwnFile(`${file}.holder`, 4096);
    if (read.kind !== 'found') return null;
    const parsed = JSON.parse(read.text) as Partial<LockInfo>;
    if (typeof parsed.pid === 'number' && typeof parsed.startedAt === 'number') {
      return { pid: parsed.pid, host: String(parsed.host ?? ''), startedAt: parsed.startedAt, command: String(parsed.command ?? '') };
    }
  } catch {
    // being written, or gone: the message says less, the lock is unaffected
  }
  return null;
}

/**
 * What a pass turned away finds while it looks for the holder's name: the holder (alive), or the
 * lock itself, free again. The holder writes its name just after taking the lock, so a pass turned
 * away in that instant waits for it a little (at most 1.5 s); a holder that ended in that time
 * removed its name, so every 100 ms the lock is tried again (without waiting) rather than refusing
 * with no name while nobody holds it. A file left by a killed holder names a process that is gone
 * and is skipped. Nothing here is decided by the name: the kernel lock decides.
 */
function waitForHolder(file: string, tryAgain: () => boolean): LockInfo | 'taken' | null {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 20) {
    const info = readHolder(file);
    if (info && (info.host !== hostname() || alive(info.pid))) return info;
    if (waited % 100 === 80 && tryAgain()) return 'taken';
    // Twenty passes starting at once on a two-core machine were seen to take over 300 ms to write
    // their name. 1.5 s keeps the refusal prompt.
    if (waited >= 1_500) return null;
    Atomics.wait(pause, 0, 0, 20);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One more try at the lock, without waiting: true when this connection holds it now. */
function tryExclusive(db: Database): boolean {
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
    return true;
  } catch {
    // busy again, or any other refusal: this pass is turned away as before
    return false;
  }
}

function isBusy(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

const LOCK_MODE = 0o660;

/**
 * Makes sure the lock file is one this user can lock: created here exclusively (0660 whatever the
 * umask) when missing; a link, FIFO, device or a file this user cannot write throws 74 naming it.
 */
function prepareLockFile(file: string): void {
  for (const [what, name] of [['lock file', file], ["lock's holder file", `${file}.holder`]] as const) {
    const odd = oddFile(name);
    if (odd !== null) throw new LocalIoError(`the ${what} ${odd}`, { hint: `pos-sync leaves it alone: remove it (rm ${name}); the next pass creates its own` });
  }
  try {
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NOCTTY, LOCK_MODE);
    try {
      fchmodSync(fd, LOCK_MODE);
    } finally {
      closeSync(fd);
    }
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') throw new LocalIoError(`cannot create the lock file ${file} (${code ?? String(err)})`, { cause: err, hint: 'pos-sync needs to write the database folder (man page, FILES)' });
  }
  try {
    accessSync(file, constants.W_OK);
  } catch (err) {
    throw unwritableLock(file, err);
  }
}

function unwritableLock(file: string, cause: unknown): LocalIoError {
  let who = '';
  try {
    who = ` (${describeOwner(lstatSync(file))})`;
  } catch {
    // the stat only adds detail
  }
  return new LocalIoError(`permission denied: the lock file ${file}${who} cannot be written, so it would not keep a second pass out`, {
    cause,
    hint: `give it to the service user (chown pos-sync ${file}; chmod 0660 ${file}), or remove it while no pos-sync runs`,
  });
}

/**
 * Takes the lock, or throws TempFailError (75) naming the holder. A pass takes it at once (one pass
 * per database: a tick turned away exits, the next one tries); a command a technician types
 * (requeue, cleanup) gives `waitMs`, SQLite's busy timeout, so a pass in progress delays it
 * instead of turning it away. The lock file is opened with `openSqlite` (store/db.ts's acquireLock
 * passes it), so this module never loads the native addon itself. `now` (wall clock) is only
 * written into the holder file for display; nothing is decided by time.
 */
export function acquireLockWith(openSqlite: (file: string) => Database, dbPath: string, command: string, now: number, waitMs = 0): PassLock {
  const file = lockPathFor(dbPath);
  prepareLockFile(file);
  let db: Database;
  try {
    db = openSqlite(file);
  } catch (err) {
    throw new LocalIoError(`cannot open the lock file ${file}: ${(err as Error).message}`, { cause: err, hint: 'pos-sync needs to write the database folder' });
  }
  if (db.readonly) {
    db.close();
    throw unwritableLock(file, null);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(waitMs))}`);
    // BEGIN EXCLUSIVE takes the file's exclusive lock at once. Nothing is ever written under
    // it, and with the journal in memory SQLite does not create, write and delete a -journal
    // file beside it on every pass (a rollback journal would be opened at BEGIN EXCLUSIVE).
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    if (!isBusy(err)) {
      db.close();
      throw new LocalIoError(`cannot take the lock ${file}: ${(err as Error).message}`, { cause: err, hint: 'remove the file if it is not a pos-sync lock' });
    }
    const holder = waitForHolder(file, () => tryExclusive(db));
    if (holder !== 'taken') {
      db.close();
      const who = holder
        ? `another pos-sync ${holder.command || 'pass'} (pid ${holder.pid}${holder.host && holder.host !== hostname() ? ` on ${holder.host}` : ''}, since ${new Date(holder.startedAt).toISOString()})`
        : 'another pos-sync pass';
      const hint =
        waitMs > 0
          ? `one pass per database at a time: ${command} waited ${Math.round(waitMs / 1000)} s (Database.CommandTimeoutSeconds) for it; run it again when that pass has ended`
          : 'one pass per database at a time: this pass exits and the next timer tick tries again';
      throw new TempFailError(`${who} holds ${file}`, { hint });
    }
    // The holder ended while this pass looked for its name: the lock is this pass's now.
  }
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: now, command };
  try {
    // For the message a second pass shows; written aside and renamed in, so never half-read.
    writeOwnFile(`${file}.holder`, JSON.stringify(info), 0o640);
  } catch {
    // display only
  }
  let released = false;
  return {
    path: file,
    refresh: () => true,
    release: () => {
      if (released) return;
      released = true;
      try {
        if (readHolder(file)?.pid === process.pid && oddFile(`${file}.holder`) === null) rmSync(`${file}.holder`, { force: true });
      } catch {
        // display only
      }
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}
