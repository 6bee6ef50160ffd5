// The state file on disk (SPEC §7): read at the start of a pass, replaced atomically at the end
// (temporary file in the same folder, fsync, rename; mode 0600). It must never stop the tool: a
// missing file means a closed breaker, and an unreadable or corrupt one is moved aside, reported
// once, and treated as closed.

import { closeSync, fchmodSync, fstatSync, fsyncSync, linkSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EMPTY_STATE, MAX_STATE_BYTES, parseState, serializeState, type SavedState } from './format.js';

export interface StateWarnings {
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info?(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** The state file as a pass uses it: load once (or twice), save once. */
export interface StateStore {
  readonly path: string;
  /** The saved state; never throws. A bad file is moved aside (one warning) and reads as closed. */
  load(): SavedState;
  /** Replaces the file atomically; never throws (one warning per invocation when it cannot). */
  save(state: SavedState): boolean;
}

export interface Peeked {
  readonly state: SavedState;
  readonly found: boolean;
  /** Why the file could not be used, or null. Read-only callers show it instead of moving the file. */
  readonly problem: string | null;
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String((e as Error)?.message ?? err);
}

/** Reads without changing anything: status and health must not move files about. */
export function peekState(file: string): Peeked {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: EMPTY_STATE, found: false, problem: null };
    return { state: EMPTY_STATE, found: true, problem: `cannot be opened (${errnoText(err)})` };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return { state: EMPTY_STATE, found: true, problem: 'is a directory' };
    if (!stat.isFile()) return { state: EMPTY_STATE, found: true, problem: 'is not a regular file' };
    if (stat.size > MAX_STATE_BYTES) return { state: EMPTY_STATE, found: true, problem: `is too large (${stat.size} bytes) to be a state file` };
    const buffer = Buffer.alloc(MAX_STATE_BYTES + 1);
    let length = 0;
    // A loop, because one read may return less than asked even from a small regular file.
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    const parsed = parseState(buffer.subarray(0, length).toString('utf8'));
    return parsed.ok ? { state: parsed.state, found: true, problem: null } : { state: EMPTY_STATE, found: true, problem: parsed.reason };
  } catch (err) {
    return { state: EMPTY_STATE, found: true, problem: `cannot be read (${errnoText(err)})` };
  } finally {
    closeSync(fd);
  }
}

/** `pos-sync.state.json.corrupt-20261125T145500123Z`: sortable, and unique enough per millisecond. */
export function asideName(file: string, now: number): string {
  return `${file}.corrupt-${new Date(now).toISOString().replace(/[-:.]/g, '')}`;
}

/**
 * `legacy`: pos-sync 0.x's state file (config.legacyStateFile), taken over by the first load that
 * finds no file at `file`, so an open breaker and the last pass survive the upgrade.
 */
export function openStateFile(file: string, options: { readonly log: StateWarnings; readonly now: () => number; readonly legacy?: string | null | undefined }): StateStore {
  // One warning per invocation, whatever goes wrong with the file and however often it is touched.
  let reported = false;
  const warnOnce = (message: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (reported) return;
    reported = true;
    options.log.warn(message, fields);
  };

  return {
    path: file,
    load() {
      let peeked = peekState(file);
      if (!peeked.found && options.legacy && takeOver(options.legacy, file)) {
        options.log.info?.(`took over the state file of pos-sync 0.x: moved ${options.legacy} to ${file}`, { stateFile: file, movedFrom: options.legacy });
        peeked = peekState(file);
      }
      if (peeked.problem === null) return peeked.state;
      const aside = asideName(file, options.now());
      try {
        renameSync(file, aside);
        warnOnce(`the state file ${file} ${peeked.problem}: moved aside to ${aside}; the circuit breaker starts closed`, { stateFile: file, movedTo: aside });
      } catch (err) {
        warnOnce(
          `the state file ${file} ${peeked.problem} and cannot be moved aside (${errnoText(err)}): the circuit breaker starts closed and its state is not kept until this is fixed`,
          { stateFile: file },
        );
      }
      return EMPTY_STATE;
    },
    save(state) {
      const temporary = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
      let fd: number | undefined;
      try {
        fd = openSync(temporary, 'w', 0o600);
        fchmodSync(fd, 0o600); // a leftover temporary file keeps its old mode otherwise
        writeFileSync(fd, serializeState(state));
        // Data on disk before the rename makes it visible: a crash leaves the old file or the new, never half.
        fsyncSync(fd);
        closeSync(fd);
        fd = undefined;
        renameSync(temporary, file);
      } catch (err) {
        try {
          if (fd !== undefined) closeSync(fd);
          rmSync(temporary, { force: true });
        } catch {
          // nothing more to clean up where nothing could be written
        }
        warnOnce(`cannot write the state file ${file} (${errnoText(err)}): the circuit breaker's state of this pass is lost`, { stateFile: file });
        return false;
      }
      syncFolder(dirname(file));
      return true;
    },
  };
}

/**
 * Moves `from` to `to` when `from` is there and `to` is not: a hard link and an unlink, or a copy
 * and an unlink across file systems. False when there is nothing to take over (or another pass
 * took it first).
 */
function takeOver(from: string, to: string): boolean {
  try {
    // A link, not a rename: it fails rather than replace a state file another pass wrote meanwhile.
    linkSync(from, to);
    rmSync(from, { force: true });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') return false;
  }
  try {
    // 'wx': never over a state file another pass wrote meanwhile.
    writeFileSync(to, readFileSync(from), { mode: 0o600, flag: 'wx' });
    rmSync(from, { force: true });
    return true;
  } catch {
    return false;
  }
}

/** Makes the rename itself durable. Best effort: some file systems refuse to fsync a folder. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // the rename is done; only its durability across a power cut is less certain
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
