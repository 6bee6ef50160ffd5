// The trace every pass leaves, idle ones included, for `status` and `health` to tell "nothing
// runs" (a stopped timer, a package removed and reinstalled) from "quietly syncing": the state
// file's modification time. A quiet pass rewrites the state file only now and then (saveRefreshMs),
// and an idle tick must not pay for a write of it (README → Performance): setting the time of the
// file is one system call and loads nothing. A pass that saved the state has set it anyway.
// The state file's path is the files' rule (src/state/); only its mtime is read here.

import { lstatSync, lutimesSync } from 'node:fs';

/**
 * Marks that a pass ran at `now`. Never follows a symbolic link (lutimes), never creates the file
 * (the pass that has something to record does), and never fails the pass: a file it may not touch
 * (another user's, read-only) only leaves the trace older.
 */
export function touchPassTrace(stateFile: string, now: number): void {
  try {
    const at = new Date(now);
    lutimesSync(stateFile, at, at);
  } catch {
    // Missing, not ours, read-only: the trace is a hint for status and health, not the pass's result.
  }
}

/** When the last pass left its trace: the state file's mtime (ms), or null without a state file. */
export function lastPassTrace(stateFile: string): number | null {
  try {
    const st = lstatSync(stateFile);
    return st.isFile() ? st.mtimeMs : null;
  } catch {
    return null;
  }
}
