// Who may write what beside the POS database (man page, FILES), checked before SQLite opens
// anything: SQLite creates the database's companions (-wal, -shm, -journal) as the user who
// opens it — even for a read-only open when the folder is writable — with the database's mode.
// A companion the POS's user cannot write stops the POS from writing its sales. Kept apart from
// db.ts so that asking never loads the SQLite module.
//
// The rule: a user other than the database's owner (the service user, a technician in the POS
// group) may open it for writing only when what it creates is the POS group's to write: the
// database readable and writable by its group, and new files in its folder getting that group
// (the folder setgid and of that group, or the user's own group being it). root's companions are
// given to the database's owner by SQLite itself. Readers never create a companion (readOnlyName).

import { accessSync, closeSync, constants, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { LocalIoError } from '../errors.js';

const COMPANIONS = ['-wal', '-shm', '-journal'] as const;

function mode(stat: Stats): string {
  return (stat.mode & 0o7777).toString(8).padStart(4, '0');
}

function who(stat: Stats): string {
  return `owner ${stat.uid} group ${stat.gid}, mode ${mode(stat)}`;
}

/** The database's real path, or the path as given when it cannot be resolved (missing). */
export function realDatabase(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** One line for an errno met on `target`: the cause as it is (read-only mount, full disk, permission). */
export function namedCause(code: string | undefined, what: string, target: string, stat: Stats | null): { message: string; hint: string } {
  switch (code) {
    case 'EROFS':
      return {
        message: `read-only file system: the ${what} ${target} is on a file system mounted read-only`,
        hint: 'remount it read-write (mount -o remount,rw <mount point>) or move the database to a writable disk',
      };
    case 'ENOSPC':
    case 'EDQUOT':
      return { message: `no space left on the device of the ${what} ${target}${code === 'EDQUOT' ? ' (disk quota)' : ''}`, hint: 'free some space (df -h; journalctl --vacuum-size=…), then the next pass goes on' };
    case 'EPERM':
      return {
        message: `operation not permitted: the ${what} ${target} is read-only for everyone, root too (an immutable or append-only flag?)`,
        hint: `lsattr -d ${target} shows the flag; chattr -i ${target} removes it`,
      };
    case 'EACCES':
      return {
        message: `permission denied: the ${what} ${target}${stat ? ` (${who(stat)})` : ''}`,
        hint: 'pos-sync writes as the service user in the POS group: the database and its folder must be writable by that group (man page, FILES)',
      };
    default:
      return { message: `cannot write the ${what} ${target} (${code ?? 'error'})`, hint: 'check its permissions and its disk' };
  }
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}

/**
 * Throws exit 74 unless the database file and its folder can be written, naming the cause (a
 * read-only mount, a permission, an immutable flag). SQLite silently opens a write-protected file
 * read-only and only the first write fails: a pass would send a batch it cannot mark synced.
 */
export function assertWritable(file: string): void {
  const real = realDatabase(file);
  for (const [what, target] of [['database', real], ['database folder', dirname(real)]] as const) {
    try {
      accessSync(target, constants.W_OK);
    } catch (err) {
      const cause = namedCause((err as NodeJS.ErrnoException).code, what, target, statOrNull(target));
      throw new LocalIoError(cause.message, { cause: err, hint: cause.hint });
    }
  }
}

/**
 * Before a writing command opens the database at `file` (when it exists): the database is a
 * regular file this user may write, and nothing this user's SQLite creates beside it can lock the
 * POS out. Throws 74 with one line naming the file, its owner and mode, and the fix.
 */
export function assertSafeToWrite(file: string, ids: { readonly uid: number; readonly gid: number } = currentIds()): void {
  const real = realDatabase(file);
  const stat = statOrNull(real);
  if (stat === null) return; // created by this command (seed, AutoCreateDatabase): its own rules
  if (!stat.isFile()) throw new LocalIoError(`the database ${real} is not a regular file`, { hint: 'point --db / Database.ConnectionString at the POS database' });
  assertWritable(real);
  const folder = dirname(real);
  const folderStat = statSync(folder);
  // Companions the POS's user (the database's owner, or its group) cannot read and write.
  for (const suffix of COMPANIONS) {
    const companion = statOrNull(real + suffix);
    if (companion === null || !companion.isFile()) continue;
    const posCanWrite = companion.uid === stat.uid || (companion.gid === stat.gid && (companion.mode & 0o060) === 0o060);
    if (!posCanWrite) {
      throw new LocalIoError(`the POS cannot write ${real}${suffix} (${who(companion)}; the database is ${who(stat)})`, {
        hint: `give it back to the POS: chown ${stat.uid}:${stat.gid} ${real}${suffix}; chmod 0660 ${real}${suffix}`,
      });
    }
  }
  if (ids.uid === 0 || ids.uid === stat.uid) return; // root's companions are chowned to the owner by SQLite
  const newGroup = (folderStat.mode & 0o2000) !== 0 ? folderStat.gid : ids.gid;
  if ((stat.mode & 0o060) !== 0o060 || newGroup !== stat.gid) {
    const why = (stat.mode & 0o060) !== 0o060 ? 'its group cannot write it' : `new files in ${folder} get group ${newGroup}, not the database's group ${stat.gid}`;
    throw new LocalIoError(`the database ${real} (${who(stat)}) is not shared with the POS group: ${why}, so the -wal/-shm files pos-sync would create could lock the POS out`, {
      hint: `chmod g+rw ${real}; chgrp ${stat.gid} ${folder}; chmod g+rwxs ${folder} (man page, FILES)`,
    });
  }
}

function currentIds(): { uid: number; gid: number } {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

/**
 * The name a reader opens the database by without creating anything beside it, for every user and
 * journal mode. A rollback-journal database: its path (a reader creates no journal). A WAL database
 * with its -wal and -shm: its path (they exist; SQLite reads them). A WAL database with neither —
 * no connection has it open, everything is in the file — an `immutable=1` URI: SQLite would
 * otherwise create both as this user. Only -wal or only -shm: refused, since SQLite would create
 * the other one and the content of a -wal cannot be read without its -shm being written.
 * A FIFO or device at the path is refused at once (opening it would wait for ever).
 */
export function readOnlyName(file: string): string {
  const stat = statOrNull(file);
  if (stat === null) throw new LocalIoError(`database ${file} does not exist`, { hint: 'check --db / Database.ConnectionString' });
  if (!stat.isFile()) throw new LocalIoError(`the database ${file} is not a regular file`, { hint: 'point --db / Database.ConnectionString at the POS database' });
  if (!isWal(file)) return file;
  const wal = statOrNull(`${file}-wal`) !== null;
  const shm = statOrNull(`${file}-shm`) !== null;
  if (wal && shm) return file;
  if (!wal && !shm) return `file:${file.replace(/[?#%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}?immutable=1`;
  throw new LocalIoError(`cannot read ${file} without creating its ${wal ? '-shm' : '-wal'} file (it has a ${wal ? '-wal' : '-shm'} but no ${wal ? '-shm' : '-wal'}: the POS stopped uncleanly?)`, {
    hint: 'reading commands create nothing beside the database: start the POS, or run one `pos-sync sync` as the service user, then ask again',
  });
}

/** Whether the database's -wal and -shm both exist (a connection has it open in WAL mode). */
export function hasWalCompanions(file: string): boolean {
  return statOrNull(`${file}-wal`) !== null && statOrNull(`${file}-shm`) !== null;
}

/** Bytes 18 and 19 of the header are 2 in WAL mode (1 with a rollback journal). */
function isWal(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const header = Buffer.alloc(20);
    return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
  } catch {
    return false; // SQLite reports what is wrong with the file
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
