// Overlap test: twenty `pos-sync sync` processes started at once on one database, round
// after round, while a separate POS process keeps inserting till transactions. One pass per
// database at a time: no id is ever sent twice without a fault, no two passes' requests
// interleave, the others exit 75 naming the holder, nobody crashes on SQLITE_BUSY, the POS never
// fails a write, and at the end everything drains.
//
// POS_SYNC_SOAK=1 runs 150 rounds instead of 10. POS_SYNC_TEST_SEED=<n> replays a run.

import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { tmpDirs } from './helpers/tmp.js';
import {
  countPending,
  deliveryReport,
  describeReport,
  integrityCheck,
  passArgs,
  Processes,
  SOAK,
  stateFileProblem,
  testSeed,
  writeSettings,
  type PassRun,
} from './helpers/torture.js';

const SEED = testSeed(7_002);
const ROUNDS = SOAK ? 150 : 10;
// pos-sync-operations(7) BETWEEN INVOCATIONS: 20 passes started at once, round after round, never two holders.
const PARALLEL = 20;
const WRITER = fileURLToPath(new URL('./helpers/pos-writer.js', import.meta.url));

const tmp = tmpDirs('overlap');
const procs = new Processes();
let central: RunningCentral;

before(async () => {
  // Slow answers keep the lock holder busy for a while, so the other four really overlap it; the
  // pass budget is far above what a round needs, so no request is ever cut short by it (that is
  // a fault of its own, tested with the others in reliability-faults).
  central = await startCentral({ seed: SEED, faults: { slowRate: 0.3, slowMs: 50 }, requestLogSize: 1_000_000 });
});

after(async () => {
  await procs.killAll();
  await central?.close();
  tmp.cleanup();
});

test(`${PARALLEL} passes at once, ${ROUNDS} rounds, beside a POS writing: one pass at a time, nothing twice on the wire (seed ${SEED})`, { timeout: SOAK ? 1_800_000 : 240_000 }, async (t) => {
  t.diagnostic(`seed ${SEED} (replay with POS_SYNC_TEST_SEED=${SEED})`);
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  const state = path.join(dir, 'POS_Local.db.pos-sync.state.json');
  const config = writeSettings(dir, {
    Sync: { MaxRunSeconds: 25, HttpTimeoutSeconds: 10, CircuitBreaker: { FailureThreshold: 3, BreakSeconds: 0.2, MaxBreakSeconds: 1 } },
    Database: { CommandTimeoutSeconds: 10 },
  });
  const args = passArgs({ config, db, state }, central.url);

  const seeded = await procs.startPass([...args, 'seed', '--transactions', '2000', '--inventory', '1000', '--random-seed', String(SEED)], { cwd: dir, timeoutMs: 60_000 }).done;
  assert.equal(seeded.code, 0, seeded.stderr);

  // Its own seed: `seed` drew its GUIDs from SEED.
  const writerSeed = String(SEED + 0x5bd1e995);
  const writer = procs.start(process.execPath, [WRITER, '--pos-writer', db, writerSeed, String(SOAK ? 1_800_000 : 200_000)], { cwd: dir, timeoutMs: SOAK ? 1_900_000 : 220_000 });

  const codes = { 0: 0, 75: 0 } as Record<number, number>;
  let passNo = 0;
  const roundMs: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const runs = Array.from({ length: PARALLEL }, () => {
      passNo++;
      return procs.startPass([...args, 'sync', '--batch-size', '10'], {
        cwd: dir,
        env: { 'Sync__ApiHeaders__X-Pass': String(passNo) },
        timeoutMs: 60_000,
      }).done;
    });
    const roundStarted = Date.now();
    const results: PassRun[] = await Promise.all(runs);
    roundMs.push(Date.now() - roundStarted);
    const describe = (r: PassRun): string => `exit ${r.code} ${r.signal ?? ''} after ${r.ms} ms: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`;
    for (const r of results) {
      assert.ok(r.code === 0 || r.code === 75, `round ${round}: a pass exited other than 0 or 75 (seed ${SEED}): ${describe(r)}`);
      assert.doesNotMatch(r.stderr, /SQLITE_BUSY|database is locked/i, `round ${round}: a pass hit SQLITE_BUSY: ${describe(r)}`);
      // A 75 is the lock's refusal, naming the holder (pos-sync-operations(7) BETWEEN INVOCATIONS); a 0 never says so.
      assert.equal(/another pos-sync .*pid \d+/.test(r.stderr), r.code === 75, `round ${round}: a 75 that is not the lock, or a 0 that says it is: ${describe(r)}`);
      codes[r.code!] = (codes[r.code!] ?? 0) + 1;
    }
    assert.ok(results.some((r) => r.code === 0), `round ${round}: no pass got the lock (seed ${SEED}): ${results.map(describe).join('\n')}`);
    assert.deepEqual(central.duplicateIds(), [], `round ${round}: ids sent twice without any fault (seed ${SEED})`);
    assert.equal(stateFileProblem(state), null);
  }
  t.diagnostic(`${passNo} passes: ${codes[0]} exited 0 (held the lock), ${codes[75]} exited 75 (another pass held it); rounds took ${roundMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`);
  assert.ok((codes[75] ?? 0) > 0, 'no pass was ever refused by the lock: the passes did not overlap, the test proved nothing');

  writer.child.kill('SIGTERM');
  const pos = await writer.done;
  const summary = JSON.parse(pos.stdout.trim().split('\n').at(-1) ?? '{}') as { inserted: number; writes: number; slowestMs: number; errors: string[] };
  t.diagnostic(`POS writer: ${summary.inserted} rows in ${summary.writes} transactions, slowest write ${summary.slowestMs} ms, ${summary.errors?.length ?? '?'} errors`);
  assert.equal(pos.code, 0, `the POS writer failed: ${pos.stdout} ${pos.stderr}`);
  assert.deepEqual(summary.errors, []);
  assert.ok(summary.inserted > 0);

  let finalPasses = 0;
  while (countPending(db) > 0) {
    finalPasses++;
    assert.ok(finalPasses <= 10, `still ${countPending(db)} rows pending after 10 passes`);
    const r = await procs.startPass([...args, 'sync', '--batch-size', '500'], { cwd: dir, timeoutMs: 30_000 }).done;
    assert.equal(r.code, 0, r.stderr);
  }

  // No two passes' requests ever interleaved: each pass's requests form a run of its own.
  const order = central.requests().map((r) => r.headers['x-pass']).filter((p): p is string => p !== undefined);
  const runs = order.filter((p, i) => p !== order[i - 1]);
  assert.ok(runs.length > 1, `requests of ${runs.length} pass(es) only`);
  assert.deepEqual(runs, [...new Set(runs)], `a pass sent requests again after another had started sending: two passes overlapped (${runs.join(' ')})`);

  const report = deliveryReport(central, db);
  t.diagnostic(describeReport(report));
  assert.equal(report.localRows, 3000 + summary.inserted, 'the database holds the seeded rows and every row the POS wrote');
  assert.equal(report.lost.length, 0, `rows lost (seed ${SEED})`);
  assert.equal(report.syncedNotDelivered.length, 0);
  assert.equal(report.unknownInCentral.length, 0);
  assert.equal(report.duplicateReceipts, 0, `duplicates on the wire without a fault (seed ${SEED})`);
  assert.equal(report.synced, report.localRows);
  assert.equal(integrityCheck(db), 'ok');
});
