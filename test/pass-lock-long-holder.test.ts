// One pass per database by a kernel lock (pos-sync-operations(7) BETWEEN INVOCATIONS; pos-sync-operations(7) TIME): a technician's long
// `sync --max-run-seconds 600` against a slow central is never joined by the timer's ticks, for
// more than two minutes (the old pid-file lock was taken over after 60 s); a symlink to the
// database is the same lock; cleanup and requeue share it; a SIGKILLed holder's lock is free for
// the very next pass. (Twenty passes at once, round after round: reliability-overlap.test.ts.)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { buildFixtureDb, exec } from './helpers/db.js';
import { runCli, startCli } from './helpers/cli.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('pass-lock');
let central: RunningCentral;
before(async () => {
  central = await startCentral({ requestLogSize: 100_000 });
});
after(async () => {
  await central?.close();
  tmp.cleanup();
});

/** How long the timer-like ticks run beside the holder (the issue: more than 2 minutes). */
const TICKS_FOR_MS = Number(process.env['POS_SYNC_LOCK_TEST_MS'] ?? 125_000);
const TICK_EVERY_MS = 5_000;

test(`a live sync --max-run-seconds 600 against a slow central: every tick for ${Math.round(TICKS_FOR_MS / 1000)} s exits 75 at once and sends nothing; a SIGKILLed holder's lock is free at once`, { timeout: TICKS_FOR_MS + 120_000 }, async (t) => {
  const cwd = tmp.make();
  fs.mkdirSync(path.join(cwd, 'data'));
  const db = buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
  // Enough pending rows that the holder, one slow request per row, is busy far longer than the test.
  for (let n = 0; n < 200; n++) {
    exec(
      db,
      `INSERT INTO "PosTransactions" ("Id","TransactionId","StoreId","ProductId","TransactionType","Quantity","UnitPrice","TotalAmount","TransactionDate","CreatedAt","Synced","SyncAttempts")
       VALUES (?, ?, 'STORE001', 'PROD001', 'Sale', 1, '1.00', '1.00', '2025-10-23 10:00:00', '2025-10-23 10:00:00', 0, 0)`,
      `10C40000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      `TX-LOCK-${n}`,
    );
  }
  const link = path.join(cwd, 'pos-link.db');
  fs.symlinkSync(db, link);
  central.setFaults({ slowRate: 1, slowMs: 2_000 });

  const holderArgs = ['--db', 'data/POS_Local.db', '--central-url', central.url, 'sync', '--max-run-seconds', '600', '--batch-size', '1'];
  const holder = startCli(holderArgs, { cwd, env: { 'Sync__ApiHeaders__X-Pass': 'holder' }, timeoutMs: TICKS_FOR_MS + 60_000 });
  for (let waited = 0; !fs.existsSync(`${db}.pos-sync.lock.holder`) || central.stats().posts === 0; waited += 50) {
    if (waited > 20_000) assert.fail('the holder never took the lock and sent');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const started = Date.now();
  let ticks = 0;
  const slowest: number[] = [];
  while (Date.now() - started < TICKS_FOR_MS) {
    ticks++;
    // Alternate: the database by its path, through a symlink, and the other commands sharing the lock.
    const variants = [
      ['--db', 'data/POS_Local.db', 'sync'],
      ['--db', link, 'sync'],
      ['--db', 'data/POS_Local.db', 'cleanup'],
      ['--db', 'data/POS_Local.db', 'requeue', '--all'],
    ];
    const args = variants[ticks % variants.length]!;
    const at = Date.now();
    // CommandTimeoutSeconds 0: cleanup and requeue, which would wait that long for the holder
    // (requeue.test.ts), answer at once like a tick.
    const tick = await runCli(['--central-url', central.url, ...args], { cwd, env: { 'Sync__ApiHeaders__X-Pass': `tick-${ticks}`, Database__CommandTimeoutSeconds: '0' } });
    slowest.push(Date.now() - at);
    assert.equal(tick.code, 75, `tick ${ticks} (${args.join(' ')}) after ${Math.round((at - started) / 1000)} s: ${tick.stderr}`);
    assert.match(tick.stderr, new RegExp(`another pos-sync sync \\(pid ${holder.child.pid}, since .*\\) holds`), tick.stderr);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, TICK_EVERY_MS - (Date.now() - at))));
  }
  t.diagnostic(`${ticks} ticks over ${Math.round((Date.now() - started) / 1000)} s, slowest ${Math.max(...slowest)} ms; holder still running: ${holder.child.exitCode === null}`);
  assert.equal(holder.child.exitCode, null, 'the holder ran all along (else the ticks proved nothing)');
  const passes = new Set(central.requests().map((r) => r.headers['x-pass']));
  assert.deepEqual([...passes], ['holder'], 'only the holder ever sent');

  // SIGKILL: no cleanup code runs; the kernel releases the lock, the very next pass takes it.
  holder.child.kill('SIGKILL');
  const killed = await holder.done;
  assert.equal(killed.signal, 'SIGKILL');
  central.setFaults({ slowRate: 0 });
  const next = await runCli(['--db', 'data/POS_Local.db', '--central-url', central.url, 'sync', '--max-run-seconds', '60'], { cwd, env: { 'Sync__ApiHeaders__X-Pass': 'next' }, timeoutMs: 90_000 });
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stdout, /^delivered /);
});
