// The circuit breaker across invocations, through the real binary: each `pos-sync sync` is a new
// process, so the breaker lives in the state file. Against a stopped central (a closed port on
// 127.0.0.1) the first pass opens it; the next exits 75 at once without a request (a central
// started meanwhile sees nothing) and without loading the HTTP or SQLite modules; after the break
// a pass probes with at most 10 rows, closes the breaker and drains. "After the break" is reached
// by moving the saved times back, as a clock moving forward would — no test sleeps.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { cleanEnv, lines, MODULES_BIN, runCli, type CliResult } from './helpers/cli.js';
import { pendingIds } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { closedPort } from './helpers/central.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('breaker-e2e');
const centrals: RunningCentral[] = [];
after(async () => {
  await Promise.all(centrals.map((c) => c.close()));
  tmp.cleanup();
});

async function centralOn(port: number): Promise<RunningCentral> {
  const c = await startCentral({ port, seed: 3 });
  centrals.push(c);
  return c;
}

interface Store {
  readonly dir: string;
  readonly db: string;
  readonly state: string;
  readonly url: string;
  sync(...extra: string[]): Promise<CliResult>;
}

/** A store with pending rows whose breaker opens on the first failed request. */
async function storeAgainst(port: number, transactions: number, inventory: number, breakSeconds = 30): Promise<Store> {
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  seedDb(db, transactions, inventory, 5);
  fs.writeFileSync(
    path.join(dir, 'appsettings.json'),
    JSON.stringify({ Sync: { MaxRetryAttempts: 0, HttpTimeoutSeconds: 2, CircuitBreaker: { FailureThreshold: 1, BreakSeconds: breakSeconds, MaxBreakSeconds: 600 } } }),
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    dir,
    db,
    state: path.join(dir, 'POS_Local.db.pos-sync.state.json'),
    url,
    sync: (...extra) => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', url, 'sync', ...extra], { cwd: dir }),
  };
}

interface SavedBreaker {
  state: string;
  consecutiveFailures: number;
  openedAt: string | null;
  nextProbeAt: string | null;
  consecutiveOpens: number;
  outageSince?: string;
}

function breakerOf(file: string): SavedBreaker {
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { breaker: SavedBreaker }).breaker;
}

/** As if `ms` had passed since the breaker opened: its saved times move back. */
function timePasses(file: string, ms: number): void {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { breaker: SavedBreaker };
  const back = (t: string | null): string | null => (t === null ? null : new Date(Date.parse(t) - ms).toISOString());
  doc.breaker.openedAt = back(doc.breaker.openedAt);
  doc.breaker.nextProbeAt = back(doc.breaker.nextProbeAt);
  if (doc.breaker.outageSince !== undefined) doc.breaker.outageSince = back(doc.breaker.outageSince)!;
  fs.writeFileSync(file, JSON.stringify(doc));
}

/** Runs the binary with a loader hook that records every module it resolves. */
function syncRecordingModules(s: Store): Promise<CliResult & { modules: string[] }> {
  const hooks = path.join(s.dir, 'hooks.mjs');
  const register = path.join(s.dir, 'register.mjs');
  const log = path.join(s.dir, 'modules.log');
  fs.writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}
`,
  );
  fs.writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`);
  const child = spawn(process.execPath, ['--import', register, MODULES_BIN, '--config', 'appsettings.json', '--db', s.db, '--central-url', s.url, 'sync'], {
    cwd: s.dir,
    // The compiled modules, one by one: a module inside the bundle never reaches the loader hook.
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const modules = fs.existsSync(log) ? lines(fs.readFileSync(log, 'utf8')) : [];
      resolve({ code, signal, stdout, stderr, pid: child.pid ?? -1, modules });
    });
  });
}

describe('the breaker across invocations of bin/pos-sync', () => {
  test('opens against a stopped central, stays shut without traffic, then probes, closes and drains', async () => {
    const port = await closedPort();
    const s = await storeAgainst(port, 30, 10);

    // 1. The central is down: the pass fails, and with FailureThreshold 1 the breaker opens.
    const first = await s.sync();
    assert.equal(first.code, 75, first.stderr);
    assert.match(first.stdout, /circuit breaker opened, next probe in \d+ s/);
    const opened = breakerOf(s.state);
    assert.equal(opened.state, 'open');
    assert.equal(opened.consecutiveFailures, 1);
    assert.equal(opened.consecutiveOpens, 1);
    const breakMs = Date.parse(opened.nextProbeAt!) - Date.parse(opened.openedAt!);
    assert.ok(breakMs >= 24_000 && breakMs <= 36_000, `30 s ± 20 %: ${breakMs}`);
    assert.equal(fs.statSync(s.state).mode & 0o777, 0o640, 'the POS group reads it (man page, FILES)');

    // 2. The central is back, but the breaker is open: exit 75 at once, not one request.
    const central = await centralOn(port);
    const started = Date.now();
    const second = await syncRecordingModules(s);
    const took = Date.now() - started;
    assert.equal(second.code, 75, second.stderr);
    // Off a terminal (the timer's journal): one line per refused tick, the warning; nothing on stdout.
    assert.equal(second.stdout, '');
    // One warning per refused tick: an open breaker is expected while the central is down, not an error.
    const errors = lines(second.stderr).map((l) => JSON.parse(l) as { level: string; message: string });
    assert.deepEqual(errors.map((e) => e.level), ['warn']);
    assert.match(errors[0]!.message, /^the circuit breaker is open \(1 failed request in a row, last: cannot reach .*\); no request sent; next probe in \d+ s$/);
    assert.equal(central.stats().posts, 0);
    assert.equal(central.stats().healthChecks, 0);
    assert.ok(took < 5_000, `exits at once (${took} ms)`);
    assert.ok(second.modules.length > 0, 'the loader hook recorded modules');
    const loaded = second.modules.join('\n');
    assert.doesNotMatch(loaded, /node_modules\/ky\//, 'ky is never imported');
    assert.doesNotMatch(loaded, /node_modules\/better-sqlite3\//, 'the SQLite module is never loaded');
    assert.doesNotMatch(loaded, /central\/client\.js/, 'no HTTP client is built');
    assert.equal(pendingIds(s.db).length, 40);
    assert.deepEqual(breakerOf(s.state), opened, 'the breaker is unchanged');

    // 3. The break is over: a half-open probe of at most 10 rows, then the pass drains as usual.
    timePasses(s.state, 40_000);
    const third = await s.sync();
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /^delivered 40 .*circuit breaker closed\n$/);
    const posts = central.requests();
    assert.ok(posts.length >= 2, `probe then the rest: ${posts.length}`);
    assert.equal(posts[0]!.ids!.length, 10, 'the probe batch holds 10 rows');
    assert.ok(posts.slice(1).some((p) => p.ids!.length > 10), 'after the probe, full batches again');
    assert.deepEqual(pendingIds(s.db), []);
    assert.deepEqual(breakerOf(s.state), { state: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null, consecutiveOpens: 0, lastFailure: null });
  });

  test('a failed probe opens the breaker again for twice as long; --force tries at once and closes it', async () => {
    const port = await closedPort();
    const s = await storeAgainst(port, 3, 0, 10);
    assert.equal((await s.sync()).code, 75);
    const firstOpening = breakerOf(s.state).openedAt;
    timePasses(s.state, 15_000);
    const movedBack = breakerOf(s.state).openedAt;
    const probe = await s.sync();
    assert.equal(probe.code, 75, probe.stderr);
    const reopened = breakerOf(s.state);
    assert.equal(reopened.state, 'open');
    assert.equal(reopened.consecutiveOpens, 2);
    // "open since" is the start of the outage, not the reopening: the first opening, as saved.
    assert.notEqual(firstOpening, null);
    assert.equal(reopened.outageSince, movedBack);
    assert.notEqual(reopened.openedAt, movedBack);
    const breakMs = Date.parse(reopened.nextProbeAt!) - Date.parse(reopened.openedAt!);
    assert.ok(breakMs >= 16_000 && breakMs <= 24_000, `20 s ± 20 %: ${breakMs}`);

    const central = await centralOn(port);
    assert.equal((await s.sync()).code, 75, 'still open');
    assert.equal(central.stats().posts, 0);
    const forced = await s.sync('--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(pendingIds(s.db), []);
    assert.deepEqual(breakerOf(s.state), { state: 'closed', consecutiveFailures: 0, openedAt: null, nextProbeAt: null, consecutiveOpens: 0, lastFailure: null });
  });

  test('half-open with nothing pending: a GET of the health endpoint is the probe, either way', async () => {
    const port = await closedPort();
    const s = await storeAgainst(port, 0, 0);
    const due = (): void =>
      fs.writeFileSync(
        s.state,
        JSON.stringify({
          version: 1,
          breaker: { state: 'open', consecutiveFailures: 3, openedAt: new Date(Date.now() - 60_000).toISOString(), nextProbeAt: new Date(Date.now() - 1_000).toISOString(), consecutiveOpens: 1, lastFailure: 'HTTP 503' },
          lastPass: null,
          lastSuccessAt: null,
        }),
      );
    // Still down: the GET fails, the breaker opens again for longer.
    due();
    const failed = await s.sync();
    assert.equal(failed.code, 75, failed.stderr);
    assert.match(failed.stderr, /the central API's health check failed: cannot reach/);
    assert.equal(breakerOf(s.state).consecutiveOpens, 2);
    // Back up: the GET answers, the breaker closes, and nothing was POSTed.
    const central = await centralOn(port);
    due();
    const ok = await s.sync();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(central.stats().healthChecks, 1);
    assert.equal(central.stats().posts, 0);
    assert.equal(breakerOf(s.state).state, 'closed');
  });
});
