// pos-sync's own small files beside the database (state file, reconcile record, lock holder,
// metrics file) live in a folder that others may write: the POS group must write the database's
// folder, so any member of it can plant a symbolic link, a FIFO or a file of its own at a name
// pos-sync uses (see the man page, FILES). So: a path is read only when it is a regular file
// (never through a link, never blocking on a FIFO), and written only through a temporary file of
// an unpredictable name created exclusively, then renamed over the path, which replaces a link
// instead of following it. A link, FIFO, device or folder at the path is refused with its name.

import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, readlinkSync, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** An error with the errno-style code a caller words its message from. */
export class OwnFileError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function kindOf(stat: Stats): string {
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** "owner 0 group 1001, mode 0600": what a technician compares with the man page's FILES table. */
export function describeOwner(stat: Stats): string {
  return `owner ${stat.uid} group ${stat.gid}, mode ${(stat.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/**
 * Why `file` cannot be one of pos-sync's own files (a link, FIFO, device, folder), or null when it
 * is a regular file or missing.
 */
export function oddFile(file: string): string | null {
  let stat: Stats;
  try {
    stat = lstatSync(file);
  } catch {
    return null;
  }
  if (stat.isFile()) return null;
  if (stat.isSymbolicLink()) {
    let target = '?';
    try {
      target = readlinkSync(file);
    } catch {
      // the link went away meanwhile: still refused by name
    }
    return `${file} is a symbolic link (to ${target}); pos-sync never reads or writes through one`;
  }
  return `${file} is ${kindOf(stat)}, not a regular file`;
}

export type OwnRead =
  | { readonly kind: 'missing' }
  | { readonly kind: 'found'; readonly text: string; readonly stat: Stats }
  /** `code`: EACCES (permission denied), ELOOP (a link), EODD (FIFO, device, folder), ETOOBIG or another errno. */
  | { readonly kind: 'problem'; readonly code: string; readonly problem: string };

/**
 * Reads a regular file of at most `maxBytes`, never through a link and never waiting: O_NONBLOCK
 * makes opening a FIFO return at once, and fstat then refuses it.
 */
export function readOwnFile(file: string, maxBytes: number): OwnRead {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP') return { kind: 'problem', code, problem: oddFile(file) ?? `${file} is a symbolic link` };
    if (code === 'EACCES' || code === 'EPERM') {
      let who = '';
      try {
        who = ` (${describeOwner(lstatSync(file))})`;
      } catch {
        // the stat only adds detail
      }
      return { kind: 'problem', code: 'EACCES', problem: `permission denied: ${file}${who}` };
    }
    return { kind: 'problem', code, problem: `cannot open ${file} (${code})` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { kind: 'problem', code: 'EODD', problem: `${file} is ${kindOf(stat)}, not a regular file` };
    if (stat.size > maxBytes) return { kind: 'problem', code: 'ETOOBIG', problem: `${file} is too large (${stat.size} bytes) to be pos-sync's` };
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    // A loop: one read may return less than asked even from a small regular file.
    for (let n = -1; n !== 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > maxBytes) return { kind: 'problem', code: 'ETOOBIG', problem: `${file} is too large to be pos-sync's` };
    return { kind: 'found', text: buffer.subarray(0, length).toString('utf8'), stat };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return { kind: 'problem', code, problem: `cannot read ${file} (${code})` };
  } finally {
    closeSync(fd);
  }
}

/**
 * 16 hex digits from the kernel's random source: one small read, where the Web Crypto global or
 * node:crypto would load a module on the timer's every tick (and take long under load, while a
 * second pass waits to name the lock's holder).
 */
function unpredictable(): string {
  const bytes = Buffer.alloc(8);
  try {
    const fd = openSync('/dev/urandom', constants.O_RDONLY);
    try {
      readSync(fd, bytes, 0, 8, null);
    } finally {
      closeSync(fd);
    }
  } catch {
    crypto.getRandomValues(bytes); // no /dev/urandom (a bare container): the Web Crypto global
  }
  return bytes.toString('hex');
}

/**
 * Replaces `file` with `data`, mode `mode` whatever the umask: a temporary file of an
 * unpredictable name beside it, created with O_EXCL|O_NOFOLLOW (never an existing file, never
 * through a link), written, optionally fsynced, then renamed over `file`. A link, FIFO, device or
 * folder at `file` is refused (OwnFileError EODD) and left alone. Throws the errno error otherwise.
 */
export function writeOwnFile(file: string, data: string, mode: number, options: { readonly durable?: boolean } = {}): void {
  const odd = oddFile(file);
  if (odd !== null) throw new OwnFileError(odd, 'EODD');
  const temporary = join(dirname(file), `.${basename(file)}.${unpredictable()}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NOCTTY, mode);
    fchmodSync(fd, mode); // the umask (the unit's UMask=0027) would take the group's read away
    const bytes = Buffer.from(data, 'utf8');
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    // Data on disk before the rename makes it visible: a crash leaves the old file or the new, never half.
    if (options.durable) fsyncSync(fd);
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
    throw err;
  }
  if (options.durable) syncFolder(dirname(file));
}

/** Makes a rename durable. Best effort: some file systems refuse to fsync a folder. */
function syncFolder(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // the rename is done; only its durability across a power cut is less certain
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
