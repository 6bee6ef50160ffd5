// An open circuit breaker's timer tick (its next probe not yet due) is answered by the fast path
// (src/idle.ts, through bin/pos-sync) exactly as the full CLI answers it (the same main() from the
// compiled modules, helpers/modules-cli.ts, which has no fast path): the same stderr lines, nothing
// on stdout, exit 75, the same state-file decision (rewritten, or only touched as the pass's
// trace). Each situation runs twice from the same state file, once each way; the lines differ only
// in what two runs cannot share: the instant of the line and the pass id. Below, the refusal both
// call (src/pass/refused.ts) on a real state file and a fake clock: when it saves, and when not.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { BreakerState } from '../src/domain/breaker.js';
import { refusedPass } from '../src/pass/refused.js';
import { databaseIdentity, openStateFile, peekState } from '../src/state/file.js';
import { serializeState, type SavedState } from '../src/state/format.js';
import { BIN, cleanEnv, lines, MODULES_BIN, runCli } from './helpers/cli.js';
import { closedPort } from './helpers/central.js';
import { MODULE_LOG_ENV } from './helpers/module-record.js';
import { memoryLogger, seedDb, testConfig } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('open-breaker-tick');
after(tmp.cleanup);

const RECORDER = new URL('./helpers/module-record.js', import.meta.url).href;

interface Store {
  readonly dir: string;
  readonly db: string;
  readonly state: string;
  readonly args: readonly string[];
}

/** Rows pending, a central that is down, and a breaker that one failed pass opens for an hour. */
async function openBreakerStore(): Promise<Store> {
  const dir = tmp.make('store');
  const db = path.join(dir, 'POS_Local.db');
  seedDb(db, 3, 1, 5);
  fs.writeFileSync(
    path.join(dir, 'appsettings.json'),
    JSON.stringify({ Sync: { MaxRetryAttempts: 0, HttpTimeoutSeconds: 2, CircuitBreaker: { FailureThreshold: 1, BreakSeconds: 3600, MaxBreakSeconds: 3600 } } }),
  );
  const args = ['--config', 'appsettings.json', '--db', db, '--central-url', `http://127.0.0.1:${await closedPort()}`, 'sync'];
  const opening = await runCli(args, { cwd: dir });
  assert.equal(opening.code, 75, opening.stderr);
  const store = { dir, db, state: path.join(dir, 'POS_Local.db.pos-sync.state.json'), args };
  assert.equal(savedState(store).breaker.state, 'open');
  // The break without its jitter (±20 %): a probe an hour away reads "in 60 min" for the next
  // 30 s, so both ways of a tick name the same wait.
  const doc = JSON.parse(fs.readFileSync(store.state, 'utf8')) as { breaker: { openedAt: string; nextProbeAt: string; outageSince: string } };
  const now = Date.now();
  doc.breaker.openedAt = doc.breaker.outageSince = new Date(now).toISOString();
  doc.breaker.nextProbeAt = new Date(now + 3_600_000).toISOString();
  fs.writeFileSync(store.state, JSON.stringify(doc));
  return store;
}

interface Saved {
  breaker: { state: string };
  lastPass: { at: string; durationMs: number; outcome: string; since?: string } | null;
}

function savedState(s: Store): Saved {
  return JSON.parse(fs.readFileSync(s.state, 'utf8')) as Saved;
}

interface Tick {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The state file after the tick, and whether its content changed. */
  readonly state: string;
  readonly rewritten: boolean;
  readonly touched: boolean;
  /** The CommonJS modules the process loaded (the fast path's run only). */
  readonly loaded: string[];
}

/**
 * One tick from the state file as it is now. `journal`: stderr is a file that $JOURNAL_STREAM
 * names, as systemd's journal is (cli/journal.ts): each line gets its syslog priority.
 */
function tickFrom(s: Store, bin: string, journal: boolean): Tick {
  const before = fs.readFileSync(s.state, 'utf8');
  const old = new Date(Date.now() - 5000);
  fs.utimesSync(s.state, old, old);
  const log = path.join(s.dir, `modules-${Date.now()}-${Math.random()}.log`);
  const errFile = path.join(s.dir, `stderr-${Date.now()}-${Math.random()}.txt`);
  const errFd = fs.openSync(errFile, 'w');
  let r: ReturnType<typeof spawnSync>;
  try {
    const st = fs.fstatSync(errFd);
    const env: Record<string, string> = { NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log };
    if (journal) env['JOURNAL_STREAM'] = `${st.dev}:${st.ino}`;
    r = spawnSync(process.execPath, [bin, ...s.args], { cwd: s.dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', errFd], encoding: 'utf8', timeout: 20_000 });
  } finally {
    fs.closeSync(errFd);
  }
  const after = fs.readFileSync(s.state, 'utf8');
  return {
    code: r.status,
    stdout: String(r.stdout),
    stderr: fs.readFileSync(errFile, 'utf8'),
    state: after,
    rewritten: after !== before,
    touched: fs.statSync(s.state).mtimeMs > old.getTime() + 1000,
    loaded: fs.existsSync(log) ? lines(fs.readFileSync(log, 'utf8')).map((l) => l.replace(/^cjs /, '')) : [],
  };
}

/** The same tick through the fast path, then (from the same state file) through the full CLI. */
function bothWays(s: Store, journal = false): { fast: Tick; full: Tick } {
  const start = fs.readFileSync(s.state, 'utf8');
  const fast = tickFrom(s, BIN, journal);
  fs.writeFileSync(s.state, start);
  const full = tickFrom(s, MODULES_BIN, journal);
  return { fast, full };
}

/** The log lines without the instant and the pass id (two runs cannot share them). */
function comparable(stderr: string): string[] {
  return lines(stderr).map((l) => l.replace(/"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"/, '"time":"T"').replace(/"pass":"[0-9a-z]+-[0-9a-z]{6}"/, '"pass":"P"'));
}

/** The state file without the pass's own instant and duration. */
function comparableState(text: string): unknown {
  const doc = JSON.parse(text) as Saved;
  if (doc.lastPass !== null) {
    if (doc.lastPass.since === doc.lastPass.at) doc.lastPass.since = 'AT';
    doc.lastPass.at = 'AT';
    doc.lastPass.durationMs = 0;
  }
  return doc;
}

function assertSame(fast: Tick, full: Tick): void {
  assert.ok(fast.loaded.some((m) => m.endsWith('idle.cjs')) && !fast.loaded.some((m) => m.endsWith('pos-sync.cjs')), `the fast path answered:\n${fast.loaded.join('\n')}`);
  assert.equal(fast.code, 75, fast.stderr);
  assert.equal(full.code, 75, full.stderr);
  assert.equal(fast.stdout, '');
  assert.equal(full.stdout, '');
  assert.deepEqual(comparable(fast.stderr), comparable(full.stderr));
  assert.equal(fast.rewritten, full.rewritten, 'the same decision on the state file');
  assert.deepEqual(comparableState(fast.state), comparableState(full.state));
  assert.ok(fast.touched && full.touched, 'both leave the trace');
}

test('an open breaker: the fast path prints, exits and saves what the full CLI does, tick after tick', async () => {
  const s = await openBreakerStore();
  // The first refused tick after the pass that opened it: its last pass becomes "breakerOpen".
  const first = bothWays(s);
  assertSame(first.fast, first.full);
  assert.ok(first.full.rewritten, 'the first refusal is saved');
  const warning = comparable(first.full.stderr);
  assert.equal(warning.length, 1, first.full.stderr);
  assert.match(warning[0]!, /^\{"time":"T","level":"warn","message":"the circuit breaker is open \(1 failed request in a row, last: cannot reach .*\); no request sent; next probe in 60 min","command":"sync","pass":"P","store":"STORE001"\}$/);
  assert.equal(savedState(s).lastPass?.outcome, 'breakerOpen');

  // The next ones change nothing worth saving: only the trace.
  const next = bothWays(s);
  assertSame(next.fast, next.full);
  assert.equal(next.full.rewritten, false);

  // A state file due its refresh (its last pass two minutes ago) is rewritten, either way.
  const doc = JSON.parse(fs.readFileSync(s.state, 'utf8')) as Saved;
  doc.lastPass!.at = new Date(Date.now() - 120_000).toISOString();
  fs.writeFileSync(s.state, JSON.stringify(doc));
  const refresh = bothWays(s);
  assertSame(refresh.fast, refresh.full);
  assert.ok(refresh.full.rewritten, 'the refresh is saved');
});

test('under systemd (stderr is the journal) the warning carries priority 4 either way', async () => {
  const s = await openBreakerStore();
  const { fast, full } = bothWays(s, true);
  assertSame(fast, full);
  assert.match(lines(fast.stderr)[0]!, /^<4>\{"time":/);
});

test('a probe due, or Kafka configured: the full CLI runs the tick', async () => {
  const s = await openBreakerStore();
  const doc = JSON.parse(fs.readFileSync(s.state, 'utf8')) as { breaker: { nextProbeAt: string } };
  doc.breaker.nextProbeAt = new Date(Date.now() - 1000).toISOString();
  fs.writeFileSync(s.state, JSON.stringify(doc));
  // The probe fails (the central is still down) and opens the breaker again: the full pass's work.
  const probe = tickFrom(s, BIN, false);
  assert.equal(probe.code, 75, probe.stderr);
  assert.ok(probe.loaded.some((m) => m.endsWith('pos-sync.cjs')), 'the full CLI ran the probe');
  assert.ok(probe.rewritten);
  const kafka = { ...s, args: ['--config', 'appsettings.json', '--db', s.db, '--central-url', s.args[5]!, 'sync'] };
  const env = { Kafka__Enabled: 'true', Kafka__BootstrapServers: '127.0.0.1:9' };
  const log = path.join(s.dir, 'modules-kafka.log');
  const r = await runCli(kafka.args, { cwd: s.dir, env: { ...env, NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log } });
  assert.equal(r.code, 75, r.stderr);
  assert.ok(lines(fs.readFileSync(log, 'utf8')).some((m) => m.endsWith('pos-sync.cjs')), 'Kafka configured: the full CLI ran');
});

test('a state file written for another database: the full CLI names it (78), the fast path does not answer', async () => {
  const s = await openBreakerStore();
  const doc = JSON.parse(fs.readFileSync(s.state, 'utf8')) as { database: string };
  doc.database = '/var/lib/pos/other.db';
  fs.writeFileSync(s.state, JSON.stringify(doc));
  const r = tickFrom(s, BIN, false);
  assert.equal(r.code, 78, r.stderr);
  assert.match(r.stderr, /written for the database \/var\/lib\/pos\/other\.db/);
  assert.ok(r.loaded.some((m) => m.endsWith('pos-sync.cjs')));
  assert.equal(r.rewritten, false);
});

describe('the refusal both paths call: the state file is saved only when worth it, and never over a newer breaker', () => {
  const T0 = Date.parse('2026-12-07T08:00:00.000Z');
  const OPEN: BreakerState = { state: 'open', consecutiveFailures: 2, openedAt: T0 - 60_000, nextProbeAt: T0 + 3_540_000, consecutiveOpens: 1, lastFailure: 'HTTP 503', outageSince: T0 - 60_000 };
  const failed: SavedState = { breaker: OPEN, lastPass: { at: T0 - 60_000, exitCode: 75, outcome: 'unavailable', delivered: 0, refused: 0, durationMs: 900, error: 'HTTP 503', since: T0 - 60_000 }, lastSuccessAt: null };

  function setUp(onDisk: SavedState) {
    const dir = tmp.make('refusal');
    const db = path.join(dir, 'POS_Local.db');
    fs.writeFileSync(db, '');
    const config = testConfig(db, 'http://127.0.0.1:9');
    fs.writeFileSync(config.stateFile, serializeState(onDisk, databaseIdentity(db)));
    let now = T0;
    const clock = { now: () => now };
    const store = openStateFile(config.stateFile, { log: memoryLogger(), now: clock.now, database: databaseIdentity(db) });
    const refuse = (prev: SavedState, underLock = false) => refusedPass({ config, clock, start: now, store, prev, nextProbeAt: OPEN.nextProbeAt!, underLock });
    return { config, refuse, text: () => fs.readFileSync(config.stateFile, 'utf8'), later: (ms: number) => void (now += ms) };
  }

  test('the first refusal after a failed pass is saved; the next one, unchanged, is not; one due its refresh is', () => {
    const t = setUp(failed);
    const result = t.refuse(failed);
    assert.equal(result.exitCode, 75);
    assert.equal(result.stoppedBy, 'breakerOpen');
    assert.match(result.error ?? '', /^the circuit breaker is open \(2 failed requests in a row, last: HTTP 503\); no request sent; next probe at 2026-12-07T08:59:00\.000Z$/);
    const saved = peekState(t.config.stateFile).state;
    assert.equal(saved.lastPass?.outcome, 'breakerOpen');
    assert.deepEqual(saved.breaker, OPEN);
    const before = t.text();
    t.later(10_000);
    t.refuse(saved);
    assert.equal(t.text(), before, 'nothing worth saving');
    t.later(60_000);
    t.refuse(saved);
    assert.notEqual(t.text(), before, 'a refresh is due');
  });

  test('another pass changed the breaker meanwhile: its state stays, unless this pass holds the lock', () => {
    const closedMeanwhile: SavedState = { ...failed, breaker: { state: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null, consecutiveOpens: 0, lastFailure: null } };
    const t = setUp(closedMeanwhile);
    const before = t.text();
    t.refuse(failed);
    assert.equal(t.text(), before, 'the newer state is left alone');
    t.refuse(failed, true);
    assert.equal(peekState(t.config.stateFile).state.breaker.state, 'open', 'under the lock no other pass can have run: saved');
  });
});
