// Whether pos-sync may write the database at all, asked before a pass sends anything. Kept apart
// from db.ts so that asking never loads the SQLite module.

import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { LocalIoError } from '../errors.js';

/**
 * Throws exit 74 unless the database file and its folder can be written. SQLite silently opens a
 * write-protected file read-only and only the first write fails: a pass would send a batch it
 * cannot mark synced, and send it again every pass.
 */
export function assertWritable(file: string): void {
  for (const [what, target] of [['database', file], ['database folder', dirname(file)]] as const) {
    try {
      accessSync(target, constants.W_OK);
    } catch (err) {
      throw new LocalIoError(`${what} ${target} is read-only (${(err as NodeJS.ErrnoException).code ?? 'not writable'})`, {
        cause: err,
        hint: 'pos-sync writes the sync columns, the WAL and its lock there: check permissions, a read-only mount or an immutable flag (lsattr)',
      });
    }
  }
}
