// Monotonic time (pos-sync-operations(7) TIME): the wall clock of a real pos-sync process is stepped with
// libfaketime (Debian's faketime package, installed by .ci/run) while a pass runs and while
// --watch runs. A step in either direction never eats the pass's budget, never makes a negative
// duration or a corrupt state file, and never skips a watch interval or stretches one to hours.
// FAKETIME_DONT_FAKE_MONOTONIC keeps CLOCK_MONOTONIC real: only the wall clock is stepped, as NTP does.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { peekState } from '../src/state/file.js';
import { buildFixtureDb } from './helpers/db.js';
import { lines, startCli } from './helpers/cli.js';
import { centralForFile } from './helpers/central.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('clock-steps');
const central = centralForFile({});
after(tmp.cleanup);

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/faketime/libfaketime.so.1'].find((f) =>
  fs.existsSync(f),
);

/** libfaketime, or a skip (a failure under CI=true: nothing may silently skip there). */
function faketimeOrSkip(t: TestContext): string | undefined {
  if (LIBFAKETIME) return LIBFAKETIME;
  if (process.env['CI'] === 'true') assert.fail('libfaketime is missing: .ci/run installs the faketime package');
  t.skip('libfaketime not installed (apt-get install faketime)');
  return undefined;
}

/** A wall clock the test steps by rewriting a file (offsets like "+3h", read on every call). */
function steppableClock(lib: string, dir: string): { env: Record<string, string>; step(offset: string): void } {
  const file = path.join(dir, 'faketime.rc');
  fs.writeFileSync(file, '+0\n');
  return {
    env: { LD_PRELOAD: lib, FAKETIME_TIMESTAMP_FILE: file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' },
    step: (offset) => fs.writeFileSync(`${file}.tmp`, `${offset}\n`) === undefined && fs.renameSync(`${file}.tmp`, file),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function store(): { cwd: string; db: string; state: string } {
  const cwd = tmp.make();
  fs.mkdirSync(path.join(cwd, 'data'));
  const db = buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
  return { cwd, db, state: path.join(cwd, 'data', 'POS_Local.db.pos-sync.state.json') };
}

describe('the wall clock steps during a pass', () => {
  for (const steps of [['+3h'], ['-3h'], ['+3h', '-1d']]) {
    test(`steps ${steps.join(' then ')}: the budget holds, every row delivered, a true duration, a valid state file`, { timeout: 90_000 }, async (t) => {
      const lib = faketimeOrSkip(t);
      if (!lib) return;
      central.reset();
      // Five rows, one slow request each (1.2 s): about 6 s of pass in a 20 s budget.
      central.setFaults({ slowRate: 1, slowMs: 1_200 });
      const s = store();
      const clock = steppableClock(lib, s.cwd);
      const started = performance.now();
      const pass = startCli(['--db', 'data/POS_Local.db', '--central-url', central.url, '--json', 'sync', '--batch-size', '1', '--max-run-seconds', '20'], {
        cwd: s.cwd,
        env: clock.env,
        timeoutMs: 60_000,
      });
      for (const offset of steps) {
        await sleep(1_800);
        clock.step(offset);
      }
      const r = await pass.done;
      const realMs = performance.now() - started;
      central.setFaults({ slowRate: 0 });
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { delivered: { transaction: number; inventory: number }; stoppedBy: string; durationMs: number };
      assert.deepEqual(result.delivered, { transaction: 3, inventory: 2 }, 'a forward step did not eat the budget');
      assert.equal(result.stoppedBy, 'drained');
      assert.ok(result.durationMs > 4_000 && result.durationMs <= realMs, `duration ${result.durationMs} ms, real ${Math.round(realMs)} ms`);
      const peeked = peekState(s.state);
      assert.equal(peeked.problem, null, 'the state file is valid');
      assert.ok(peeked.state.lastPass!.durationMs > 4_000 && peeked.state.lastPass!.durationMs <= realMs);
      assert.deepEqual(fs.readdirSync(path.dirname(s.state)).filter((f) => f.includes('corrupt')), []);

      // The next pass (clock still stepped) reads that file as valid: nothing moved aside, no warning.
      const next = startCli(['--db', 'data/POS_Local.db', '--central-url', central.url, 'sync'], { cwd: s.cwd, env: clock.env });
      const n = await next.done;
      assert.equal(n.code, 0, n.stderr);
      assert.doesNotMatch(n.stderr, /corrupt|moved aside/i);
    });
  }

  test('a state file an older pos-sync wrote with a negative duration is not "corrupt": an open breaker stays open', async () => {
    central.reset();
    const s = store();
    const now = Date.now();
    const open = {
      version: 1,
      breaker: { state: 'open', consecutiveFailures: 5, openedAt: new Date(now).toISOString(), nextProbeAt: new Date(now + 3_600_000).toISOString(), consecutiveOpens: 1, lastFailure: 'HTTP 503' },
      lastPass: { at: new Date(now).toISOString(), exitCode: 75, outcome: 'unavailable', delivered: 0, refused: 0, durationMs: -3599000.5, error: 'HTTP 503' },
      lastSuccessAt: null,
    };
    fs.writeFileSync(s.state, JSON.stringify(open), { mode: 0o600 });
    const peeked = peekState(s.state);
    assert.equal(peeked.problem, null);
    assert.equal(peeked.state.breaker.state, 'open');
    assert.equal(peeked.state.lastPass!.durationMs, 0);
    const r = startCli(['--db', 'data/POS_Local.db', '--central-url', central.url, 'sync'], { cwd: s.cwd });
    const done = await r.done;
    assert.equal(done.code, 75, done.stderr);
    assert.match(done.stderr, /circuit breaker is open/);
    assert.equal(central.stats().posts, 0);
  });
});

describe('the wall clock steps during --watch', () => {
  test('forward an hour, then back three: a pass every interval all along, none skipped, no hour-long wait', { timeout: 90_000 }, async (t) => {
    const lib = faketimeOrSkip(t);
    if (!lib) return;
    central.reset();
    const s = store();
    fs.writeFileSync(path.join(s.cwd, 'appsettings.json'), JSON.stringify({ Sync: { StoreId: 'STORE001', SyncIntervalSeconds: 2 }, Database: { ConnectionString: 'Data Source=data/POS_Local.db' } }));
    const clock = steppableClock(lib, s.cwd);
    const watch = startCli(['--config', 'appsettings.json', '--central-url', central.url, '--verbose', 'sync', '--watch'], { cwd: s.cwd, env: clock.env, timeoutMs: 60_000 });
    await sleep(4_500);
    clock.step('+1h');
    await sleep(4_000);
    clock.step('-2h');
    await sleep(7_500);
    watch.child.kill('SIGTERM');
    const r = await watch.done;
    assert.equal(r.code, 0, r.stderr);
    // About 16 s at one pass every 2 s: 8 or 9 (a wait stretched by the backward step would stop them at ~5).
    const passes = lines(r.stderr).filter((l) => l.includes('"pass finished"'));
    assert.ok(passes.length >= 7 && passes.length <= 10, `${passes.length} passes in 16 s at a 2 s interval:\n${passes.join('\n')}`);
    const durations = passes.map((l) => (JSON.parse(l) as { durationMs: number }).durationMs);
    assert.ok(durations.every((d) => d >= 0 && d < 10_000), `durations ${durations.join(', ')}`);
    assert.equal(peekState(s.state).problem, null);
  });
});
