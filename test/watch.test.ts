// `sync --watch` (containers, hosts without systemd): the loop on a fake clock, then the real
// binary: passes every Sync.SyncIntervalSeconds, SIGTERM stops it promptly after the current
// batch, and the exit code is the last pass's.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { abortableSleep, runWatch } from '../src/commands/watch.js';
import { lines, runCli, startCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';
import { closedPort } from './helpers/central.js';

const tmp = tmpDirs('watch');
after(tmp.cleanup);

describe('the watch loop (fake clock)', () => {
  test('a pass every interval, start to start; a long pass is followed at once; stops when aborted', async () => {
    let now = 0;
    const starts: number[] = [];
    const waits: number[] = [];
    const controller = new AbortController();
    const durations = [300, 1500, 200, 100];
    const result = await runWatch({
      intervalMs: 1000,
      clock: { now: () => now },
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
      signal: controller.signal,
      pass: async (_signal, n) => {
        starts.push(now);
        now += durations[n - 1]!;
        if (n === 4) controller.abort(); // SIGTERM during the 4th pass
        return n === 4 ? 75 : 0;
      },
    });
    assert.deepEqual(starts, [0, 1000, 2500, 3500]);
    assert.deepEqual(waits, [700, 800]);
    assert.deepEqual(result, { passes: 4, exitCode: 75 });
  });

  test('aborted while waiting: no further pass', async () => {
    const controller = new AbortController();
    let passes = 0;
    const result = await runWatch({
      intervalMs: 60_000,
      clock: { now: () => 0 },
      sleep: async (ms, signal) => {
        setTimeout(() => controller.abort(), 10);
        await abortableSleep(ms, signal);
      },
      signal: controller.signal,
      pass: async () => {
        passes++;
        return 65;
      },
    });
    assert.equal(passes, 1);
    assert.deepEqual(result, { passes: 1, exitCode: 65 });
  });

  test('aborted before the first pass: none runs, exit 0', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await runWatch({ intervalMs: 1000, clock: { now: () => 0 }, sleep: async () => {}, signal: controller.signal, pass: async () => assert.fail('no pass') });
    assert.deepEqual(result, { passes: 0, exitCode: 0 });
  });
});

/** A central that answers 200 after `delayMs`, counting requests. */
async function startCentral(delayMs = 0): Promise<{ url: string; requests: number; onRequest?: () => void; close(): Promise<void> }> {
  const state = { url: '', requests: 0, onRequest: undefined as (() => void) | undefined, close: async () => {} };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') {
        state.requests++;
        state.onRequest?.();
      }
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function store(): { dir: string; db: string } {
  const dir = tmp.make('store');
  return { dir, db: buildFixtureDb(path.join(dir, 'pos.db')) };
}

/** Resolves when `count` lines of stderr match `pattern`. */
function waitForLines(child: ReturnType<typeof startCli>['child'], pattern: RegExp, count: number, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`saw ${seen} of ${count} lines matching ${pattern}`)), timeoutMs);
    child.stderr!.on('data', (chunk: Buffer | string) => {
      buffer += String(chunk);
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) if (pattern.test(line) && ++seen === count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('pos-sync sync --watch', () => {
  test('two passes a second apart, then SIGTERM: exits promptly with the last pass\'s code (0)', async () => {
    const central = await startCentral();
    try {
      const s = store();
      const run = startCli(['-v', '--db', s.db, '--central-url', central.url, 'sync', '--watch'], { cwd: s.dir, env: { Sync__SyncIntervalSeconds: '1' } });
      await waitForLines(run.child, /"message":"pass finished"/, 2);
      const signalledAt = Date.now();
      run.child.kill('SIGTERM');
      const r = await run.done;
      assert.ok(Date.now() - signalledAt < 2000, `stopped within 2 s (took ${Date.now() - signalledAt} ms)`);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(pendingIds(s.db), []);
      const log = lines(r.stderr).map((l) => JSON.parse(l) as { message: string; pass?: string; command?: string });
      const finished = log.filter((l) => l.message === 'pass finished');
      assert.ok(finished.length >= 2);
      assert.equal(new Set(finished.map((l) => l.pass)).size, finished.length, 'each pass has its own pass id');
      assert.ok(log.some((l) => l.message === 'SIGTERM received: stopping after the current batch'));
      // The first pass delivered (one line on stdout); idle passes print nothing.
      assert.equal(lines(r.stdout).length, 1, r.stdout);
      assert.match(r.stdout, /^delivered 5 /);
    } finally {
      await central.close();
    }
  });

  test('SIGTERM during a batch: that batch completes, no further batch starts', async () => {
    const central = await startCentral(800);
    try {
      const s = store();
      const run = startCli(['--db', s.db, '--central-url', central.url, 'sync', '--watch', '--batch-size', '1', '--json'], { cwd: s.dir });
      await new Promise<void>((resolve) => (central.onRequest = resolve));
      run.child.kill('SIGTERM');
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(central.requests, 1, 'no batch after the signal');
      assert.equal(pendingIds(s.db).length, FIXTURE.pendingTransactions.length + FIXTURE.pendingInventory.length - 1, 'the batch in flight was marked synced');
      const doc = JSON.parse(r.stdout) as { command: string; watch: boolean; passes: number; exitCode: number; lastPass: { stoppedBy: string } };
      assert.deepEqual({ command: doc.command, watch: doc.watch, passes: doc.passes, exitCode: doc.exitCode, stoppedBy: doc.lastPass.stoppedBy }, { command: 'sync', watch: true, passes: 1, exitCode: 0, stoppedBy: 'stopped' });
    } finally {
      await central.close();
    }
  });

  test('central down: SIGINT ends it with the last pass\'s 75', async () => {
    const s = store();
    const dead = `http://127.0.0.1:${await closedPort()}`;
    fs.writeFileSync(path.join(s.dir, 'appsettings.json'), JSON.stringify({ Sync: { SyncIntervalSeconds: 1, MaxRetryAttempts: 0 } }));
    const run = startCli(['-v', '--config', path.join(s.dir, 'appsettings.json'), '--db', s.db, '--central-url', dead, 'sync', '--watch'], { cwd: s.dir });
    await waitForLines(run.child, /"message":"pass finished"/, 2);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 75, r.stderr);
    assert.ok(lines(r.stderr).some((l) => l.includes('SIGINT received')));
  });

  test('bad input: --watch with --dry-run is a usage error (64)', async () => {
    const s = store();
    const r = await runCli(['--db', s.db, 'sync', '--watch', '--dry-run'], { cwd: s.dir });
    assert.equal(r.code, 64);
    assert.deepEqual(lines(r.stderr), ['pos-sync: --watch and --dry-run cannot be combined — see pos-sync sync --help']);
  });

  test('bad input: Sync.SyncIntervalSeconds of 0 is a configuration error (78)', async () => {
    const s = store();
    const r = await runCli(['--db', s.db, 'sync', '--watch'], { cwd: s.dir, env: { Sync__SyncIntervalSeconds: '0' } });
    assert.equal(r.code, 78);
    assert.deepEqual(lines(r.stderr), ['pos-sync: Sync.SyncIntervalSeconds = "0" from environment Sync__SyncIntervalSeconds is invalid: expected an integer from 1 to 86400 — fix it; pos-sync config shows every setting and where it came from']);
  });
});
