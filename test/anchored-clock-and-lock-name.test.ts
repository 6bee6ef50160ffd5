// Small parts on their own: the anchored clock (wall time read once, carried
// forward by the monotonic clock), and the kernel lock's naming (resolved path, symlinks).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { anchoredClock } from '../src/domain/time.js';
import { TempFailError } from '../src/errors.js';
import { lockPathFor } from '../src/state/lock.js';
import { acquireLock } from '../src/store/db.js';
import { holdLock, lockIsFree } from './helpers/lock.js';
import { REPO_ROOT, tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('anchored-clock');
after(() => tmp.cleanup());

describe('anchoredClock', () => {
  test('a wall-clock step after the anchor changes nothing: durations follow the monotonic clock', () => {
    let wall = Date.UTC(2026, 0, 1);
    let mono = 1_000;
    const clock = anchoredClock(() => wall, () => mono);
    const start = clock.now();
    assert.equal(start, Date.UTC(2026, 0, 1));
    mono += 500;
    wall -= 3_600_000; // NTP steps back an hour
    assert.equal(clock.now() - start, 500);
    mono += 500;
    wall += 7_200_000; // and forward two
    assert.equal(clock.now() - start, 1_000);
  });

  test('reanchor reads the wall clock again (each --watch pass)', () => {
    let wall = 10_000;
    let mono = 0;
    const clock = anchoredClock(() => wall, () => mono);
    wall = 50_000;
    mono = 10;
    assert.equal(clock.now(), 10_010);
    clock.reanchor();
    assert.equal(clock.now(), 50_000);
  });
});

describe('the pass lock', () => {
  test('a symlink to the database, or the path spelt differently, is the same lock', () => {
    const dir = tmp.make();
    const db = path.join(dir, 'pos.db');
    fs.writeFileSync(db, '');
    const link = path.join(tmp.make(), 'link.db');
    fs.symlinkSync(db, link);
    assert.equal(lockPathFor(link), lockPathFor(db));
    assert.equal(lockPathFor(path.join(dir, '.', 'pos.db')), lockPathFor(db));
    const held = holdLock(link);
    try {
      assert.throws(() => acquireLock(db, 'sync', Date.now()), (e: unknown) => e instanceof TempFailError && /another pos-sync sync \(pid \d+/.test(e.message));
    } finally {
      held.release();
    }
    assert.ok(lockIsFree(db));
  });

  test('a holder that ends, unnamed, while a pass looks for its name: the pass takes the lock instead of refusing', async () => {
    const db = path.join(tmp.make(), 'pos.db');
    fs.writeFileSync(db, '');
    holdLock(db).release(); // creates the lock file as a pass does
    // Another process holds the kernel lock without a holder file (as one does between taking the
    // lock and writing its name, or after removing it at its end) and lets go 400 ms later.
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(process.argv[1]);
      db.pragma('journal_mode = MEMORY'); db.exec('BEGIN EXCLUSIVE'); process.stdout.write('held\\n');
      setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 400);`, lockPathFor(db)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await once(holder.stdout, 'data');
    const started = Date.now();
    const lock = acquireLock(db, 'sync', Date.now());
    const waited = Date.now() - started;
    lock.release();
    await once(holder, 'exit');
    // Taken only once the other process let go (it held the lock 400 ms after saying so).
    assert.ok(waited >= 300 && waited < 1_500, `took the lock after ${waited} ms, once the holder let go`);
  });

  test('a holder that stays and never names itself: refused after the wait for its name, as "another pos-sync pass"', async () => {
    const db = path.join(tmp.make(), 'pos.db');
    fs.writeFileSync(db, '');
    holdLock(db).release();
    const holder = spawn(process.execPath, ['-e', `
      const db = new (require('better-sqlite3'))(process.argv[1]);
      db.pragma('journal_mode = MEMORY'); db.exec('BEGIN EXCLUSIVE'); process.stdout.write('held\\n');
      process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`, lockPathFor(db)], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    await once(holder.stdout, 'data');
    try {
      assert.throws(() => acquireLock(db, 'sync', Date.now()), (e: unknown) => e instanceof TempFailError && /^another pos-sync pass holds /.test(e.message));
    } finally {
      holder.stdin.end();
      await once(holder, 'exit');
    }
    assert.ok(lockIsFree(db));
  });

  test('the holder is named; a second acquire in the same process is refused too (one pass per database)', () => {
    const db = path.join(tmp.make(), 'pos.db');
    fs.writeFileSync(db, '');
    const held = holdLock(db, 'cleanup');
    try {
      assert.throws(() => acquireLock(db, 'sync', Date.now()), (e: unknown) => e instanceof TempFailError && e.exitCode === 75 && new RegExp(`another pos-sync cleanup \\(pid ${process.pid}`).test(e.message));
    } finally {
      held.release();
    }
  });
});
