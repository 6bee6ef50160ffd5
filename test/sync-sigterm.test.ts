// `systemctl stop` during a timer's pass: SIGTERM ends a single `pos-sync sync` after the batch in
// flight, within a few seconds. That batch is committed after its answer; the rest stay pending;
// the state file is saved; no row is marked that the central lacks. The real binary against the
// reference central answering every batch slowly, so the signal lands mid-pass.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { centralForFile } from './helpers/central.js';
import { lines, runCli, startCli } from './helpers/cli.js';
import { allIds, pendingIds } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sigterm');
const central = centralForFile({ seed: 12 });
after(tmp.cleanup);

test('SIGTERM mid-pass: stops after the batch in flight, exit 0, state saved, nothing marked the central lacks', async () => {
  const dir = tmp.make();
  const db = path.join(dir, 'pos.db');
  const state = path.join(dir, 'state.json');
  const global = ['--db', db, '--state-file', state, '--central-url', central.url];
  const seeded = await runCli([...global, 'seed', '--transactions', '200'], { cwd: dir });
  assert.equal(seeded.code, 0, seeded.stderr);
  const all = allIds(db);
  // Every answer takes 800 ms: a 20-row batch at a time, the pass would need many seconds.
  central.setFaults({ slowRate: 1, slowMs: 800 });
  const run = startCli([...global, 'sync', '--batch-size', '20', '--max-run-seconds', '60'], { cwd: dir, timeoutMs: 30_000 });
  // Wait for the second request to be on its way, then stop as systemd does.
  const deadline = Date.now() + 15_000;
  while (central.requests().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(central.requests().length >= 2, 'the pass is sending');
  const signalled = Date.now();
  run.child.kill('SIGTERM');
  const result = await run.done;
  const tookMs = Date.now() - signalled;

  assert.equal(result.signal, null, 'not killed by the signal: it stopped by itself');
  assert.equal(result.code, 0, result.stderr);
  assert.ok(tookMs < 3000, `stopped ${tookMs} ms after SIGTERM`);
  assert.ok(lines(result.stderr).some((l) => l.includes('SIGTERM received: stopping after the current batch')), result.stderr);

  const pending = new Set(pendingIds(db));
  const marked = all.filter((id) => !pending.has(id));
  const received = new Set(central.receivedIds());
  assert.ok(marked.length > 0, 'the batches answered before the signal are committed');
  assert.ok(pending.size > 0, 'the rest wait for the next pass');
  assert.deepEqual(marked.filter((id) => !received.has(id)), [], 'no row marked that the central lacks');
  // The batch in flight when the signal came was answered and committed, not abandoned.
  assert.equal(received.size, marked.length, 'every row the central stored is marked');

  const saved = JSON.parse(fs.readFileSync(state, 'utf8')) as { lastPass?: { exitCode?: number } };
  assert.equal(saved.lastPass?.exitCode, 0, 'the state file records the stopped pass');

  // The next pass picks up where this one stopped.
  central.setFaults({ slowRate: 0 });
  const next = await runCli([...global, 'sync', '--max-run-seconds', '30'], { cwd: dir });
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(pendingIds(db), []);
  assert.deepEqual(central.duplicateIds(), []);
});
