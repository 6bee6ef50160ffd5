// A writing command started as root (a technician's `sudo pos-sync sync`) runs as the service
// user instead (man page, FILES): every file it creates or replaces — the state file, the lock,
// the records, SQLite's -wal/-shm — is then the service's, as if the timer had run the pass, and
// the service's next pass can read and replace all of it. The service user is the owner of the
// existing state file (the one the service writes), else the user `pos-sync` the package creates;
// its groups are the database's group (the POS group, which may write the database) and its own.
// With neither, root is refused with the command to type. A database owned by root (a lab, a test)
// needs no one else: root runs as itself.

import { lstatSync, readFileSync, type Stats } from 'node:fs';
import { ExitCode, PosSyncError } from '../errors.js';
import { realDatabase } from '../store/writable.js';

/** The package's service user (examples/debian). */
export const SERVICE_USER = 'pos-sync';

interface PasswdEntry {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** /etc/passwd's entries (the service user is a system user in it; no NSS lookup is needed). */
function passwd(): PasswdEntry[] {
  try {
    return readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
      .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
  } catch {
    return [];
  }
}

function statOrNull(file: string, follow: boolean): Stats | null {
  try {
    return follow ? lstatSync(realDatabase(file)) : lstatSync(file);
  } catch {
    return null;
  }
}

/** `pos-sync --db '/var/lib/pos/a b.db' sync` as a shell would need it typed. */
export function shellCommand(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export interface Identity {
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
  /** For the log line: whose files decided it. */
  readonly why: string;
}

/**
 * Whom a writing command run by `euid` should run as, or null to stay as it is (not root, no
 * database yet, a database owned by root). Throws 77 with the exact command when root finds no
 * service user. Pure apart from reading the files' owners and /etc/passwd.
 */
export function serviceIdentity(euid: number, dbPath: string, stateFile: string, argv: readonly string[], entries: readonly PasswdEntry[] = passwd()): Identity | null {
  if (euid !== 0) return null;
  const db = statOrNull(dbPath, true);
  if (db === null || db.uid === 0) return null;
  const state = statOrNull(stateFile, false);
  const byState = state !== null && state.isFile() && state.uid !== 0 ? state.uid : null;
  const named = entries.find((e) => e.name === SERVICE_USER);
  const uid = byState ?? named?.uid ?? null;
  if (uid === null) {
    throw new PosSyncError(`run as root on a POS database owned by uid ${db.uid}: pos-sync writes only as the service user, and found none (no state file of its own, no user ${SERVICE_USER})`, ExitCode.noPermission, {
      hint: `run it as the user the timer runs it as: runuser -u <service user> -- pos-sync ${shellCommand(argv)}`,
    });
  }
  const own = entries.find((e) => e.uid === uid)?.gid;
  const groups = [...new Set([db.gid, ...(own === undefined ? [] : [own])])];
  return { uid, gid: db.gid, groups, why: byState !== null ? `the owner of ${stateFile}` : `the user ${SERVICE_USER}` };
}

/**
 * Becomes the service user when root runs a writing command (see the top of this file). Called
 * after the configuration (and the API token, which may be readable by root only) is loaded, and
 * before any file beside the database is read for writing or created.
 */
export function becomeServiceUser(dbPath: string, stateFile: string, argv: readonly string[], log: { info(message: string, fields?: Readonly<Record<string, unknown>>): void }): void {
  const euid = process.geteuid?.();
  if (euid === undefined) return;
  const who = serviceIdentity(euid, dbPath, stateFile, argv);
  if (who === null) return;
  process.setgroups!([...who.groups]);
  process.setgid!(who.gid);
  process.setuid!(who.uid);
  log.info(`run as root: this pass runs as uid ${who.uid} (${who.why}), so the files it writes stay the service's`, { uid: who.uid, gid: who.gid });
}
