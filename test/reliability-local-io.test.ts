// Bad local input: a database that is garbage, corrupt, locked by another process, on a
// full disk, past a file-size limit or read-only. Each pass must end with exit 74 (75 for a lock
// another process holds past the busy timeout: nothing is wrong with the file) and one line
// saying what failed (pos-sync(1) EXIT STATUS), never an internal error or a hang, and no row may change state
// wrongly: a row only ever changes to Synced = 1, and only when the central has it. Afterwards,
// with the problem gone, the next pass delivers everything.
//
// Tests run as root here, so chmod does not stop a write: read-only uses an immutable file
// (chattr +i) and a read-only bind mount, the full disk a small tmpfs. Where the machine does not
// allow them (not root, no chattr) those cases are skipped with the reason.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, test, type TestContext } from 'node:test';
import Sqlite from 'better-sqlite3';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { BIN } from './helpers/cli.js';
import { prng } from './helpers/pos.js';
import { stateSource } from './helpers/db.js';
import { lockIsFree } from './helpers/lock.js';
import { tmpDirs } from './helpers/tmp.js';
import {
  changedRows,
  countPending,
  deliveryReport,
  integrityCheck,
  passArgs,
  Processes,
  syncSnapshot,
  testSeed,
  writeSettings,
  type PassRun,
  type SyncColumns,
} from './helpers/torture.js';

const SEED = testSeed(7_004);
const HOLDER = fileURLToPath(new URL('./helpers/db-holder.js', import.meta.url));
/** How long the other process holds its lock: far longer than the 1 s busy timeout, even on a busy machine. */
const HOLD_MS = 25_000;

const tmp = tmpDirs('local-io');
const procs = new Processes();
const mounts: string[] = [];
const immutable: string[] = [];
let central: RunningCentral;
let template: string;

before(async () => {
  central = await startCentral({ seed: SEED });
  const dir = tmp.make('local-io-template');
  template = path.join(dir, 'POS_Local.db');
  const run = await procs.startPass(['--config', writeSettings(dir, {}), '--db', template, 'seed', '--transactions', '300', '--inventory', '100', '--random-seed', String(SEED)], {
    cwd: dir,
    timeoutMs: 60_000,
  }).done;
  assert.equal(run.code, 0, run.stderr);
});

beforeEach(() => central.reset());

after(async () => {
  await procs.killAll();
  for (const file of immutable) spawnQuiet('chattr', ['-i', file]);
  for (const dir of mounts.reverse()) spawnQuiet('umount', ['-l', dir]);
  await central?.close();
  tmp.cleanup();
});

function spawnQuiet(command: string, args: readonly string[]): string | null {
  try {
    execFileSync(command, args, { stdio: 'pipe' });
    return null;
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return (e.stderr?.toString().trim() || e.message).split('\n')[0]!;
  }
}

interface Store {
  readonly dir: string;
  readonly db: string;
  readonly args: string[];
}

/** A copy of the template database in its own folder (or in `folder`), with a fast-failing config. */
function store(label: string, folder?: string): Store {
  const dir = tmp.make(`local-io-${label}`);
  const home = folder ?? dir;
  const db = path.join(home, 'POS_Local.db');
  fs.copyFileSync(template, db);
  // Generous network and pass budgets (the faults here are local), a short busy timeout.
  const config = writeSettings(dir, { Sync: { MaxRunSeconds: 30, HttpTimeoutSeconds: 10 }, Database: { CommandTimeoutSeconds: 1 } });
  return { dir, db, args: passArgs({ config, db, state: path.join(dir, 'pos-sync.state.json') }, central.url) };
}

function sync(s: Store, extra: readonly string[] = []): Promise<PassRun> {
  return procs.startPass([...s.args, 'sync', ...extra], { cwd: s.dir, timeoutMs: 30_000 }).done;
}

/**
 * Exit 74 (or `code`: 75 for a database another process keeps locked, which the next tick simply
 * retries) with one `pos-sync: …` line naming the database and matching `why`; no internal error,
 * no stack trace.
 */
function assertLocalIo(t: TestContext, run: PassRun, why: RegExp, code = 74): string {
  const line = run.stderr.split('\n').find((l) => l.startsWith('pos-sync: '));
  assert.equal(run.code, code, `expected exit ${code}, got ${run.code} ${run.signal ?? ''}: ${run.stderr.slice(-800)}`);
  assert.ok(line, `no "pos-sync: …" error line on stderr: ${run.stderr.slice(-800)}`);
  assert.match(line, why);
  assert.match(line, /POS_Local\.db/, 'the message does not say which database');
  assert.doesNotMatch(run.stderr, /internal error|\n\s+at /, 'an internal error or a stack trace');
  t.diagnostic(`exit ${code}: ${line}`);
  return line;
}

/** Only ever Synced 0 → 1, and only for rows the central has: nothing else changed. */
function assertNoWrongChange(before: ReadonlyMap<string, SyncColumns>, after: ReadonlyMap<string, SyncColumns>): number {
  const receipts = central.receipts();
  const changed = changedRows(before, after);
  for (const key of changed) {
    const was = before.get(key);
    const now = after.get(key);
    assert.ok(was && now, `${key} appeared or vanished`);
    assert.equal(was.Synced, 0, `${key} was already synced and still changed`);
    assert.equal(now.Synced, 1, `${key} changed without being marked synced: ${JSON.stringify(now)}`);
    assert.ok(receipts.has(now.Id as string), `${key} is marked synced but the central does not have it`);
  }
  return changed.length;
}

/** With the problem gone, the next passes deliver everything, each id exactly once after dedup. */
async function assertRecovers(s: Store): Promise<void> {
  for (let i = 0; i < 5 && countPending(s.db) > 0; i++) {
    const run = await sync(s);
    assert.equal(run.code, 0, `after the fault: ${run.stderr.slice(-800)}`);
  }
  const report = deliveryReport(central, s.db);
  assert.equal(report.pending, 0);
  assert.equal(report.lost.length, 0);
  assert.equal(report.deadLettered, 0);
  assert.deepEqual(report.penalised, []);
  assert.equal(integrityCheck(s.db), 'ok');
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Mounts a tmpfs (root only); skips the test with the reason when it cannot. */
function mountTmpfs(t: TestContext, dir: string, options: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const problem = spawnQuiet('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  if (problem !== null) {
    t.skip(`cannot mount a tmpfs here (needs root): ${problem}`);
    return false;
  }
  mounts.push(dir);
  return true;
}

test('garbage bytes instead of a database: exit 74 "not a database", the file untouched, nothing sent', async (t) => {
  const s = store('garbage');
  const random = prng(SEED);
  fs.writeFileSync(s.db, Buffer.from(Array.from({ length: 64 * 1024 }, () => Math.floor(random() * 256))));
  const before = sha256(s.db);
  const line = assertLocalIo(t, await sync(s), /not a database/i);
  assert.match(line, new RegExp(s.db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the message names the file');
  assert.equal(sha256(s.db), before, 'pos-sync changed a file that is not a database');
  assert.equal(central.stats().posts, 0);
  assert.ok(lockIsFree(s.db), 'the lock is left behind');
});

test('a valid header with corrupted table pages: exit 74 "malformed", the other table untouched', async (t) => {
  const s = store('corrupt');
  const before = syncSnapshot(s.db);
  const conn = new Sqlite(s.db);
  const pages = conn.prepare(`SELECT pageno FROM dbstat WHERE name = 'PosTransactions' AND pageno > 1`).pluck().all() as number[];
  const pageSize = conn.pragma('page_size', { simple: true }) as number;
  conn.close(); // a clean close checkpoints the WAL into the file and removes it
  assert.ok(pages.length > 3, 'the template has too few PosTransactions pages to corrupt');
  const fd = fs.openSync(s.db, 'r+');
  const random = prng(SEED + 1);
  for (const page of pages) {
    fs.writeSync(fd, Buffer.from(Array.from({ length: pageSize }, () => Math.floor(random() * 256))), 0, pageSize, (page - 1) * pageSize);
  }
  fs.closeSync(fd);
  assert.throws(() => assert.equal(integrityCheck(s.db), 'ok'), 'the corruption did not take');

  assertLocalIo(t, await sync(s), /malformed|corrupt/i);
  // The inventory rows live on pages the corruption did not touch: their sync columns are as before.
  const inventoryBefore = [...before].filter(([k]) => k.startsWith('InventoryUpdates:'));
  const db = new Sqlite(s.db, { readonly: true });
  const inventoryAfter = db.prepare(`SELECT rowid AS r, "Synced", "SyncAttempts", "SyncRejections", "DeadLetteredAt" FROM ${stateSource(db, 'InventoryUpdates')}`).all() as Record<string, unknown>[];
  db.close();
  assert.equal(inventoryAfter.length, inventoryBefore.length);
  for (const row of inventoryAfter) {
    const was = before.get(`InventoryUpdates:${String(row['r'])}`)!;
    assert.deepEqual([row['Synced'], row['SyncAttempts'], row['SyncRejections'], row['DeadLetteredAt']], [was.Synced, was.SyncAttempts, was.SyncRejections, was.DeadLetteredAt]);
  }
  assert.ok(lockIsFree(s.db), 'the lock is left behind');
});

/** Starts the holder process and waits until its BEGIN EXCLUSIVE took. */
async function holdExclusive(db: string, holdMs: number): Promise<ReturnType<Processes['start']>> {
  const holder = procs.start(process.execPath, [HOLDER, '--hold-db', db, String(holdMs)], { cwd: path.dirname(db), timeoutMs: holdMs + 20_000 });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    holder.child.stdout!.on('data', (s: string) => {
      out += s;
      if (out.includes('locked')) resolve();
    });
    holder.child.once('close', (code) => reject(new Error(`the lock holder exited ${code} before locking`)));
  });
  return holder;
}

test('locked by another process (BEGIN EXCLUSIVE, rollback journal) past the busy timeout: exit 75 (try later) within the timeout, nothing changed', async (t) => {
  const s = store('locked-journal');
  const conn = new Sqlite(s.db);
  conn.pragma('journal_mode = DELETE'); // a POS that never switched to WAL: the lock blocks readers too
  conn.close();
  const before = syncSnapshot(s.db);
  const holder = await holdExclusive(s.db, HOLD_MS);
  const run = await sync(s);
  assertLocalIo(t, run, /locked|busy/i, 75);
  assert.ok(run.ms < HOLD_MS - 5_000, `the pass took ${run.ms} ms: it waited for the holder instead of the busy timeout (Database.CommandTimeoutSeconds = 1)`);
  holder.child.kill('SIGTERM');
  assert.equal((await holder.done).code, 0);
  assert.deepEqual(changedRows(before, syncSnapshot(s.db)), []);
  assert.equal(central.stats().posts, 0);
  await assertRecovers(s);
});

test('locked by another process (BEGIN EXCLUSIVE, WAL): the batch is sent but cannot be marked — exit 75, nothing marked, re-sent later', async (t) => {
  const s = store('locked-wal');
  const before = syncSnapshot(s.db);
  const holder = await holdExclusive(s.db, HOLD_MS);
  const run = await sync(s);
  assertLocalIo(t, run, /locked|busy/i, 75);
  assert.ok(run.ms < HOLD_MS - 5_000, `the pass took ${run.ms} ms: it waited for the holder instead of the busy timeout`);
  holder.child.kill('SIGTERM');
  assert.equal((await holder.done).code, 0);
  assert.deepEqual(changedRows(before, syncSnapshot(s.db)), [], 'a row changed although nothing could be written');
  const sent = central.receipts().size;
  await assertRecovers(s);
  t.diagnostic(`${sent} rows reached the central before the commit failed; re-sent after the lock was gone: ${central.stats().duplicateReceipts} duplicates on the wire`);
});

test('a full disk (a small tmpfs): exit 74 "disk is full", no row changed wrongly; with space again everything drains', async (t) => {
  const base = tmp.make('local-io-disk');
  const disk = path.join(base, 'disk');
  if (!mountTmpfs(t, disk, 'size=1m')) return;
  const s = store('disk', disk);
  // The POS keeps its connection open, so the -wal and -shm files exist as they would in a store.
  const pos = new Sqlite(s.db);
  try {
    pos.pragma('journal_mode = WAL');
    pos.prepare('SELECT count(*) FROM "PosTransactions"').get();
    const before = syncSnapshot(s.db);
    // Fill the disk, then free a little: enough for the lock file, not for the WAL to grow.
    const filler = path.join(disk, 'filler');
    const chunk = Buffer.alloc(4096, 1);
    const fd = fs.openSync(filler, 'w');
    let filled = 0;
    for (let i = 0; i < 1024; i++) {
      try {
        fs.writeSync(fd, chunk);
        filled += chunk.length;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
    }
    fs.ftruncateSync(fd, Math.max(0, filled - 8192));
    fs.closeSync(fd);

    const run = await sync(s);
    assertLocalIo(t, run, /disk is full|database or disk is full|ENOSPC|no space/i);
    const changed = assertNoWrongChange(before, syncSnapshot(s.db));
    t.diagnostic(`disk full: ${changed} rows were marked before the disk filled up (all in the central)`);
    assert.equal(integrityCheck(s.db), 'ok');

    // Completely full: not even the lock file fits.
    const fd2 = fs.openSync(filler, 'a');
    for (let i = 0; i < 16; i++) {
      try {
        fs.writeSync(fd2, chunk);
      } catch {
        break;
      }
    }
    fs.closeSync(fd2);
    assertLocalIo(t, await sync(s), /ENOSPC|disk is full|no space/i);

    fs.rmSync(filler);
    await assertRecovers(s);
  } finally {
    pos.close();
  }
});

test('a file-size limit (ulimit -f, SIGXFSZ ignored so writes fail with EFBIG): exit 74, no row changed wrongly', async (t) => {
  const s = store('ulimit');
  const before = syncSnapshot(s.db);
  // 40 KiB: room for the 32 KiB -shm index and the first commits, not for the WAL to keep growing.
  const run = await procs.start('bash', ['-c', 'trap "" XFSZ; ulimit -f 40; exec "$0" "$@"', process.execPath, BIN, ...s.args, 'sync'], {
    cwd: s.dir,
    timeoutMs: 30_000,
  }).done;
  assert.notEqual(run.signal, 'SIGXFSZ', 'the process was killed by SIGXFSZ instead of getting EFBIG');
  assertLocalIo(t, run, /disk I\/O error|EFBIG|too large|full/i);
  const changed = assertNoWrongChange(before, syncSnapshot(s.db));
  t.diagnostic(`file-size limit: ${changed} rows marked before the limit was hit (all in the central)`);
  assert.equal(integrityCheck(s.db), 'ok');
  await assertRecovers(s);
});

test('a read-only database file (chattr +i, which stops root too): exit 74 "read-only" before anything is sent', async (t) => {
  const s = store('immutable');
  const problem = spawnQuiet('chattr', ['+i', s.db]);
  if (problem !== null) return t.skip(`chattr +i does not work here: ${problem}`);
  immutable.push(s.db);
  const before = syncSnapshot(s.db);
  assertLocalIo(t, await sync(s), /read-only/i);
  assert.equal(central.stats().posts, 0, 'a batch was sent that could not be marked synced (and would be re-sent every pass)');
  assert.deepEqual(changedRows(before, syncSnapshot(s.db)), []);
  spawnQuiet('chattr', ['-i', s.db]);
  await assertRecovers(s);
});

test('a read-only folder (a read-only bind mount): exit 74 "read-only", nothing sent, nothing changed', async (t) => {
  const base = tmp.make('local-io-ro');
  const rw = path.join(base, 'rw');
  const ro = path.join(base, 'ro');
  fs.mkdirSync(rw);
  fs.mkdirSync(ro);
  const s = store('ro', rw);
  const before = syncSnapshot(s.db);
  const problem = spawnQuiet('mount', ['--bind', rw, ro]);
  if (problem !== null) return t.skip(`cannot bind-mount here (needs root): ${problem}`);
  mounts.push(ro);
  const remount = spawnQuiet('mount', ['-o', 'remount,bind,ro', ro]);
  if (remount !== null) return t.skip(`cannot remount read-only here: ${remount}`);
  const readOnly: Store = { ...s, db: path.join(ro, 'POS_Local.db'), args: s.args.map((a) => (a === s.db ? path.join(ro, 'POS_Local.db') : a)) };
  assertLocalIo(t, await sync(readOnly), /read-only/i);
  assert.equal(central.stats().posts, 0);
  assert.deepEqual(changedRows(before, syncSnapshot(s.db)), []);
});
