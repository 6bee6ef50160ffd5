// One pass per database at a time (SPEC §7): an exclusive lock file beside the database holding
// the holder's pid. A lock whose process is gone (killed pass) is taken over, never waited on.

import fs from 'node:fs';
import os from 'node:os';
import { LocalIoError, TempFailError } from '../errors.js';

export interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly command: string;
}

export interface PassLock {
  readonly path: string;
  release(): void;
  /**
   * Renews the lock's time for a holder that runs longer than a pass (cleanup), so it is not
   * taken over as stale by age while it still works. False when the lock is no longer ours.
   */
  refresh(now: number): boolean;
}

export function lockPathFor(dbPath: string): string {
  return `${dbPath}.pos-sync.lock`;
}

function readLock(file: string): LockInfo | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockInfo>;
    if (typeof parsed.pid === 'number' && typeof parsed.startedAt === 'number') {
      return { pid: parsed.pid, host: String(parsed.host ?? ''), startedAt: parsed.startedAt, command: String(parsed.command ?? '') };
    }
  } catch {
    // unreadable or half-written: treated as stale below
  }
  return null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stale when the holder's process is gone, or the lock is far older than any pass may run
 * (a pid reused by an unrelated process must not block the store forever).
 */
export function isStale(info: LockInfo | null, now: number, maxAgeMs: number, alive: (pid: number) => boolean): boolean {
  if (info === null) return true;
  if (info.host !== '' && info.host !== os.hostname()) return now - info.startedAt > maxAgeMs;
  return !alive(info.pid) || now - info.startedAt > maxAgeMs;
}

function tryCreate(file: string, info: LockInfo): boolean {
  try {
    fs.writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o644 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new LocalIoError(`cannot create the lock file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function acquireLock(dbPath: string, command: string, now: number, maxAgeMs: number): PassLock {
  const file = lockPathFor(dbPath);
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: now, command };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, mine)) return { path: file, release: () => releaseLock(file), refresh: (at) => refreshLock(file, { ...mine, startedAt: at }) };
    const holder = readLock(file);
    if (!isStale(holder, now, maxAgeMs, processAlive)) {
      const since = new Date(holder!.startedAt).toISOString();
      throw new TempFailError(`another pos-sync ${holder!.command || 'pass'} (pid ${holder!.pid}, since ${since}) holds ${file}`, {
        hint: 'it ends within Sync.MaxRunSeconds; this pass exits and the next timer tick tries again',
      });
    }
    // Take the stale lock away atomically: of two processes doing this, one rename succeeds.
    const aside = `${file}.stale-${process.pid}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      continue; // someone else took it over first; look again
    }
    const moved = readLock(aside);
    if (holder && moved && moved.pid !== holder.pid) {
      // We moved a fresh lock another process had just taken: give it back and yield.
      try {
        fs.linkSync(aside, file);
      } catch {
        // the holder's lock is gone either way; the next pass sorts it out
      }
      fs.rmSync(aside, { force: true });
      throw new TempFailError(`another pos-sync pass (pid ${moved.pid}) just took ${file}`);
    }
    fs.rmSync(aside, { force: true });
  }
  throw new TempFailError(`could not take the lock ${file}: other processes keep taking it`);
}

function refreshLock(file: string, info: LockInfo): boolean {
  if (readLock(file)?.pid !== process.pid) return false;
  // Written aside and renamed in, so a reader never sees a half-written (and so "stale") lock.
  const fresh = `${file}.refresh-${process.pid}`;
  try {
    fs.writeFileSync(fresh, JSON.stringify(info), { mode: 0o644 });
    fs.renameSync(fresh, file);
    return true;
  } catch {
    fs.rmSync(fresh, { force: true });
    return false;
  }
}

function releaseLock(file: string): void {
  // Only remove our own lock: if it was taken over (we were presumed dead), leave theirs alone.
  const info = readLock(file);
  if (info && info.pid === process.pid) fs.rmSync(file, { force: true });
}
