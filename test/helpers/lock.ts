// The pass lock as tests see it: a kernel lock on <db>.pos-sync.lock (src/state/lock.ts), so
// "released" means another process (or this one) can take it, not that a file is gone.

import '../../src/store/db.js'; // sets the SQLite opener the lock uses
import type { PassLock } from '../../src/state/lock.js';
import { acquireLock } from '../../src/store/db.js';
import { TempFailError } from '../../src/errors.js';

/** Takes the pass lock of `db` in this process, as a pass with `command` would. */
export function holdLock(db: string, command = 'sync'): PassLock {
  return acquireLock(db, command, Date.now());
}

/** Whether the pass lock of `db` is free right now (taken and given back at once). */
export function lockIsFree(db: string): boolean {
  try {
    acquireLock(db, 'test', Date.now()).release();
    return true;
  } catch (err) {
    if (err instanceof TempFailError) return false;
    throw err;
  }
}
