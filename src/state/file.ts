// The state file on disk (pos-sync-operations(7) BETWEEN INVOCATIONS): read at the start of a pass, replaced atomically at the end
// (own-file.ts: an exclusive temporary file of an unpredictable name, fsync, rename; mode 0640).
// A missing file means a closed breaker, and one whose content is corrupt is moved aside, reported
// once, and treated as closed. What is not a matter of content — a link, a FIFO, a file pos-sync
// may not read, a file written for another database — is never moved or replaced: the pass ends
// with one line naming it (man page, FILES), so a manual run cannot reset the service's breaker.

import { renameSync } from 'node:fs';
import { ConfigError, LocalIoError } from '../errors.js';
import { EMPTY_STATE, MAX_STATE_BYTES, parseState, serializeState, type SavedState } from './format.js';
import { databaseRealPath } from './lock.js';
import { readOwnFile, writeOwnFile } from './own-file.js';

/**
 * The state file's mode: the service user writes it, the POS group reads it (a shift lead's
 * `status`), nobody else (its errors may name hosts and paths).
 */
export const STATE_MODE = 0o640;

export interface StateWarnings {
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info?(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** The state file as a pass uses it: load once (or twice), save once. */
export interface StateStore {
  readonly path: string;
  /**
   * The saved state. A corrupt file is moved aside (one warning) and reads as closed; a link, FIFO,
   * unreadable or foreign file throws (74, 78) and is left alone.
   */
  load(): SavedState;
  /** Replaces the file atomically; never throws (one warning per invocation when it cannot). */
  save(state: SavedState): boolean;
}

export interface Peeked {
  readonly state: SavedState;
  readonly found: boolean;
  /** Why the file could not be used, or null. Read-only callers show it instead of moving the file. */
  readonly problem: string | null;
  /**
   * True when the problem is not the content's (permission denied, a link, a FIFO, another
   * database's file): a pass leaves the file alone and stops, so nothing is "moved aside".
   */
  readonly leftAlone?: true;
}

/** The database's real path: what a state file names as its own (a symlink reaches the same). */
export const databaseIdentity: (dbPath: string) => string = databaseRealPath;

/** A problem that is not the content's: a link, FIFO, permission, another database's file. */
interface Refusal {
  readonly code: string;
  readonly problem: string;
}

function peekFull(file: string, database: string | undefined): Peeked & { readonly refusal: Refusal | null } {
  const read = readOwnFile(file, MAX_STATE_BYTES);
  if (read.kind === 'missing') return { state: EMPTY_STATE, found: false, problem: null, refusal: null };
  if (read.kind === 'problem') {
    const refusal = read.code === 'ETOOBIG' ? null : { code: read.code, problem: read.problem };
    return { state: EMPTY_STATE, found: true, problem: read.problem, refusal };
  }
  const parsed = parseState(read.text);
  if (!parsed.ok) return { state: EMPTY_STATE, found: true, problem: parsed.reason, refusal: null };
  if (database !== undefined && parsed.database !== undefined && parsed.database !== database) {
    const problem = `${file} was written for the database ${parsed.database}, not ${database}`;
    return { state: EMPTY_STATE, found: true, problem, refusal: { code: 'EFOREIGN', problem } };
  }
  return { state: parsed.state, found: true, problem: null, refusal: null };
}

/**
 * Reads without changing anything: status and health must not move files about. `database`: the
 * database's real path (databaseIdentity); a file written for another one is a problem, not used.
 */
export function peekState(file: string, database?: string): Peeked {
  const { state, found, problem, refusal } = peekFull(file, database);
  return refusal === null ? { state, found, problem } : { state, found, problem, leftAlone: true };
}

/** `pos-sync.state.json.corrupt-20261125T145500123Z`: sortable, and unique enough per millisecond. */
export function asideName(file: string, now: number): string {
  return `${file}.corrupt-${new Date(now).toISOString().replace(/[-:.]/g, '')}`;
}

/**
 * The state file of the database `database` (its real path, databaseIdentity). `load` throws
 * LocalIoError (74) for a link, FIFO, device or a file it may not read, and ConfigError (78) for a
 * file written for another database: those are left exactly as they are.
 */
export function openStateFile(file: string, options: { readonly log: StateWarnings; readonly now: () => number; readonly database?: string }): StateStore {
  // One warning per invocation, whatever goes wrong with the file and however often it is touched.
  let reported = false;
  const warnOnce = (message: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (reported) return;
    reported = true;
    options.log.warn(message, fields);
  };

  // A file load() refused is never replaced by this invocation (a failed pass saves its state).
  let refused = false;
  return {
    path: file,
    load() {
      const peeked = peekFull(file, options.database);
      if (peeked.refusal !== null) {
        refused = true;
        throw refusalError(file, peeked.refusal);
      }
      if (peeked.problem === null) return peeked.state;
      const aside = asideName(file, options.now());
      try {
        renameSync(file, aside);
        warnOnce(`the state file ${file} ${peeked.problem}: moved aside to ${aside}; the circuit breaker starts closed`, { stateFile: file, movedTo: aside });
      } catch (err) {
        warnOnce(
          `the state file ${file} ${peeked.problem} and cannot be moved aside (${(err as NodeJS.ErrnoException).code ?? String(err)}): the circuit breaker starts closed and its state is not kept until this is fixed`,
          { stateFile: file },
        );
      }
      return EMPTY_STATE;
    },
    save(state) {
      if (refused) return false;
      try {
        writeOwnFile(file, serializeState(state, options.database), STATE_MODE, { durable: true });
        return true;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'EODD' ? e.message : `${e.code ?? 'error'}: ${e.message.replace(/^[A-Z]+: /, '')}`;
        warnOnce(`cannot write the state file ${file} (${why}): the circuit breaker's state of this pass is lost`, { stateFile: file });
        return false;
      }
    },
  };
}

function refusalError(file: string, refusal: Refusal): Error {
  if (refusal.code === 'EFOREIGN') {
    return new ConfigError(`the state file ${refusal.problem}`, {
      hint: `give each database its own state file (unset Sync.StateFile: the default is named from the database); if this database was moved from there, remove the old file (rm ${file})`,
    });
  }
  if (refusal.code === 'EACCES') {
    return new LocalIoError(refusal.problem.replace(/^permission denied: /, 'permission denied: the state file '), {
      hint: 'run pos-sync as the service user (runuser -u pos-sync -- pos-sync …), or give the file back to it (chown pos-sync FILE; chmod 0640 FILE)'.replaceAll('FILE', file),
    });
  }
  return new LocalIoError(`the state file ${refusal.problem}`, { hint: `pos-sync leaves it alone: remove it (rm ${file}) and the next pass writes a new one` });
}
