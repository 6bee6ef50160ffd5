// status and health know when nothing runs the passes: every pass, idle and refused ones too,
// leaves a trace (the state file's mtime, src/pass/trace.ts); no trace for longer than
// Sync.Health.NoPassSeconds (default 120 s) is NOT SYNCING / CRITICAL with the timer to enable —
// whatever the last pass said, even "OK, 16 rows pending". Tables for the pure parts, then the
// real bin/pos-sync against the reference central.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { judgeHealth, type HealthFacts } from '../src/domain/health.js';
import { judgeStatus, latestTrace, noPassSince, timerFor, type VerdictFacts } from '../src/domain/verdict.js';
import { centralForFile } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('no-pass');
const central = centralForFile({ seed: 19 });
after(() => tmp.cleanup());

const NOW = Date.parse('2026-12-07T04:00:00.000Z');
const CLOSED = { state: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null, consecutiveOpens: 0, lastFailure: null } as const;

describe('the pure parts', () => {
  test('noPassSince: too old a trace, else null; 0 switches it off; no trace at all is not this problem', () => {
    const table: [number | null, number, number | null][] = [
      [NOW - 119_000, 120, null],
      [NOW - 121_000, 120, NOW - 121_000],
      [NOW - 3_600_000, 0, null],
      [null, 120, null],
      // The clock set back: a trace "in the future" is recent, not stale.
      [NOW + 600_000, 120, null],
    ];
    for (const [trace, limit, expected] of table) assert.equal(noPassSince(trace, NOW, limit), expected, `${trace} ${limit}`);
  });

  test('latestTrace: the later of the last recorded pass and the mtime', () => {
    assert.equal(latestTrace(null, null), null);
    assert.equal(latestTrace(5, null), 5);
    assert.equal(latestTrace(null, 7), 7);
    assert.equal(latestTrace(9, 7), 9);
  });

  test('timerFor: the timer install.sh enabled for the config file', () => {
    assert.equal(timerFor('/etc/pos-sync/appsettings.json'), 'pos-sync.timer');
    assert.equal(timerFor('/etc/pos-sync/till2.json'), 'pos-sync@till2.timer');
    assert.equal(timerFor('/home/tech/appsettings.json'), 'pos-sync.timer');
    assert.equal(timerFor(null), 'pos-sync.timer');
  });

  const facts = (lastTraceAt: number | null): VerdictFacts => ({
    now: NOW,
    timeZone: 'Europe/Berlin',
    lastPass: { at: NOW - 600_000, exitCode: 0, outcome: 'drained', delivered: 16, refused: 0, durationMs: 40, error: null, since: NOW - 7_200_000 },
    lastSuccessAt: NOW - 600_000,
    lastTraceAt,
    timer: 'pos-sync@till2.timer',
    stateProblem: null,
    breaker: CLOSED,
    breakerSettings: { failureThreshold: 3, breakMs: 30_000, maxBreakMs: 600_000 },
    pending: 16,
    waiting: 0,
    deadLettered: 0,
    oldestPendingAt: NOW - 60_000,
    kafkaBacklog: null,
    kafkaError: null,
    thresholds: { backlogWarning: 1000, oldestPendingWarningSeconds: 1e9, lastSuccessWarningSeconds: 1e9, lastSuccessCriticalSeconds: 1e9, deadLetteredWarning: 0, noPassSeconds: 120 },
  });

  test('judgeStatus: 16 rows pending, the last pass fine but 10 min old: NOT SYNCING, the timer named', () => {
    const v = judgeStatus(facts(NOW - 600_000));
    assert.equal(v.verdict, 'NOT SYNCING');
    assert.equal(v.exitCode, 2);
    assert.match(v.headline, /^no pass since \d\d:\d\d CET, 10 min ago$/);
    assert.match(v.problems[0]!.hint, /systemctl enable --now pos-sync@till2\.timer/);
  });

  test('judgeStatus: an idle pass 10 s ago (the mtime) keeps it OK', () => {
    const v = judgeStatus(facts(NOW - 10_000));
    assert.equal(v.verdict, 'OK', JSON.stringify(v.problems));
  });

  test('judgeHealth: the lastPass check is CRITICAL with the hint; fresh, OK', () => {
    const base: HealthFacts = {
      now: NOW,
      expectedSchemaVersion: 1,
      database: { kind: 'ok', schemaVersion: 1, quickCheck: 'ok', pending: 16, oldestPendingAt: NOW - 60_000, deadLettered: 0, kafkaBacklog: 0, empty: false },
      central: { kind: 'answered', status: 200, ms: 12, url: 'http://127.0.0.1:1/health' },
      kafka: { kind: 'disabled' },
      timeZone: 'Europe/Berlin',
      state: { breaker: CLOSED, lastSuccessAt: NOW - 600_000, found: true, problem: null, path: '/x/pos-sync.state.json', lastPass: facts(null).lastPass, lastTraceAt: NOW - 600_000, timer: 'pos-sync.timer' },
      breakerSettings: { failureThreshold: 3, breakMs: 30_000, maxBreakMs: 600_000 },
      thresholds: {
        backlogWarning: 1000, backlogCritical: 10000, oldestPendingWarningSeconds: 1e9, oldestPendingCriticalSeconds: 1e9, lastSuccessWarningSeconds: 1e9, lastSuccessCriticalSeconds: 1e9,
        deadLetteredWarning: 0, noPassSeconds: 120, kafkaBacklogWarning: 100, kafkaBacklogCritical: 1000, kafkaOldestWarningSeconds: 600, kafkaOldestCriticalSeconds: 3600,
      },
    };
    const stale = judgeHealth(base);
    assert.equal(stale.status, 'CRITICAL');
    const check = stale.checks.find((c) => c.name === 'lastPass')!;
    assert.equal(check.status, 'CRITICAL');
    assert.match(check.message, /^no pass since \d\d:\d\d CET, 10 min ago \(Sync\.Health\.NoPassSeconds 2 min\) — nothing runs the passes: start the timer \(systemctl enable --now pos-sync\.timer;/);
    const fresh = judgeHealth({ ...base, state: { ...base.state, lastTraceAt: NOW - 5_000 } });
    assert.equal(fresh.status, 'OK', JSON.stringify(fresh.checks));
  });
});

describe('the real bin/pos-sync', () => {
  function store(): { dir: string; db: string; state: string; run: (args: string[]) => ReturnType<typeof runCli> } {
    const dir = tmp.make();
    const db = seedDb(path.join(dir, 'POS_Local.db'), 16, 0, 19);
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { MaxRetryAttempts: 0, Health: { OldestPendingWarningSeconds: 1e9, OldestPendingCriticalSeconds: 1e9 } } }));
    return {
      dir,
      db,
      state: `${fs.realpathSync(db)}.pos-sync.state.json`,
      run: (args) => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', central.url, ...args], { cwd: dir, env: { TZ: 'Europe/Berlin' } }),
    };
  }

  /** The state file as if its last pass had been `ageMs` ago, mtime included. */
  function age(state: string, ageMs: number): void {
    const doc = JSON.parse(fs.readFileSync(state, 'utf8')) as { lastPass: { at: string; since: string }; lastSuccessAt: string | null };
    const at = new Date(Date.now() - ageMs).toISOString();
    doc.lastPass.at = at;
    doc.lastPass.since = at;
    doc.lastSuccessAt = at;
    fs.writeFileSync(state, JSON.stringify(doc));
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(state, t, t);
  }

  test('an idle pass touches the state file (its trace) without rewriting it', async () => {
    const s = store();
    assert.equal((await s.run(['sync'])).code, 0);
    const idle = await s.run(['sync']);
    assert.equal(idle.code, 0, idle.stderr);
    const text = fs.readFileSync(s.state, 'utf8');
    const old = new Date(Date.now() - 300_000);
    fs.utimesSync(s.state, old, old);
    assert.equal((await s.run(['sync'])).code, 0);
    const st = fs.statSync(s.state);
    assert.ok(Date.now() - st.mtimeMs < 10_000, `mtime ${new Date(st.mtimeMs).toISOString()}`);
    assert.equal(fs.readFileSync(s.state, 'utf8'), text, 'an idle pass within the refresh interval does not rewrite the file');
  });

  test('no pass for 10 min: status NOT SYNCING (exit 2) and health CRITICAL, with the timer to enable; one pass and both are well again', async () => {
    const s = store();
    assert.equal((await s.run(['sync'])).code, 0);
    // The rows the POS wrote meanwhile, as after apt remove + reinstall with the timers off.
    seedDb(s.db, 5, 0, 20);
    age(s.state, 600_000);
    const status = await s.run(['status']);
    assert.equal(status.code, 2, status.stdout);
    assert.match(status.stdout.split('\n')[0]!, /^NOT SYNCING — no pass since \d\d:\d\d CE(S)?T, 10 min ago$/);
    assert.match(status.stdout, /^to do: nothing runs the passes: start the timer \(systemctl enable --now pos-sync\.timer;/m);
    const health = await s.run(['health']);
    assert.equal(health.code, 2, health.stdout);
    assert.match(health.stdout, /no pass since .*Sync\.Health\.NoPassSeconds 2 min.*systemctl enable --now pos-sync\.timer/);

    assert.equal((await s.run(['sync'])).code, 0);
    const again = await s.run(['status']);
    assert.equal(again.code, 0, again.stdout);
    assert.equal((await s.run(['health'])).code, 0);
  });

  test('Sync.Health.NoPassSeconds 0 switches the check off', async () => {
    const s = store();
    assert.equal((await s.run(['sync'])).code, 0);
    age(s.state, 600_000);
    const r = await runCli(['--config', 'appsettings.json', '--db', s.db, '--central-url', central.url, 'status'], { cwd: s.dir, env: { TZ: 'Europe/Berlin', Sync__Health__NoPassSeconds: '0' } });
    assert.equal(r.code, 0, r.stdout);
  });
});
