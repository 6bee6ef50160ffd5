// The one fast path (src/idle.ts), through bin/pos-sync: an idle timer tick answers from the small
// idle bundle — never the full bundle (commander, the pass), the SQLite addon or the lock — prints
// what the full pass prints, writes nothing but its trace (the state file's modification time),
// and stands aside (the full pass runs) whenever any look is unsure.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { startCentral } from '../examples/central/server.js';
import { LOOKS, plainSync } from '../src/idle.js';
import { BIN, cleanEnv, lines, runCli } from './helpers/cli.js';
import { exec } from './helpers/db.js';
import { holdLock } from './helpers/lock.js';
import { MODULE_LOG_ENV } from './helpers/module-record.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('idle-tick');
after(tmp.cleanup);

const RECORDER = new URL('./helpers/module-record.js', import.meta.url).href;
const UNUSED = 'http://127.0.0.1:9';

/** A store whose database was set up and drained by a full pass: the next tick is idle. */
async function drainedStore(): Promise<{ dir: string; db: string; state: string }> {
  const dir = tmp.make('store');
  const db = path.join(dir, 'pos.db');
  const central = await startCentral({});
  try {
    assert.equal((await runCli(['--db', db, 'seed', '--transactions', '3', '--inventory', '2', '--random-seed', '1'], { cwd: dir })).code, 0);
    const r = await runCli(['--db', db, '--central-url', central.url, 'sync'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    // The full pass after the drain records an idle success: what the fast path builds on.
    assert.equal((await runCli(['--db', db, '--central-url', central.url, 'sync'], { cwd: dir })).code, 0);
  } finally {
    await central.close();
  }
  // The state file is named from the database (man page, FILES).
  return { dir, db, state: `${fs.realpathSync(db)}.pos-sync.state.json` };
}

/** One tick through bin/pos-sync, with the CommonJS modules it loaded. */
async function tick(s: { dir: string; db: string }, extra: string[] = [], env: Record<string, string> = {}) {
  const log = path.join(s.dir, `modules-${Date.now()}-${Math.random()}.log`);
  const r = await runCli(['--db', s.db, '--central-url', UNUSED, ...extra, 'sync'], { cwd: s.dir, env: { NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log, ...env } });
  const loaded = lines(fs.readFileSync(log, 'utf8')).map((l) => l.replace(/^cjs /, ''));
  return { ...r, loaded, full: loaded.some((m) => m.endsWith('pos-sync.cjs')), idle: loaded.some((m) => m.endsWith('idle.cjs')) };
}

test('an idle tick answers from the idle bundle alone: the same line, exit 0, no addon, no lock, only the trace written', async () => {
  const s = await drainedStore();
  const before = fs.readFileSync(s.state, 'utf8');
  const old = new Date(Date.now() - 5000);
  fs.utimesSync(s.state, old, old);
  const r = await tick(s);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nothing pending \(\d+ ms\)\n$/);
  assert.equal(r.stderr, '');
  assert.ok(r.idle && !r.full, r.loaded.join('\n'));
  assert.ok(!r.loaded.some((m) => /better-sqlite3|commander/.test(m)), r.loaded.join('\n'));
  assert.equal(fs.readFileSync(s.state, 'utf8'), before, 'the state file content is unchanged');
  assert.ok(fs.statSync(s.state).mtimeMs > old.getTime() + 1000, 'the trace: the state file was touched');
});

test('the full pass runs whenever the look is unsure', async () => {
  const s = await drainedStore();
  // A row to send (the central is down here: the full pass says so, 75).
  exec(s.db, 'UPDATE "PosTransactions" SET "Synced" = 0 WHERE rowid = (SELECT max(rowid) FROM "PosTransactions")');
  const pending = await tick(s, [], { Sync__MaxRetryAttempts: '0' });
  assert.equal(pending.code, 75, pending.stderr);
  assert.ok(pending.full);
  exec(s.db, 'UPDATE "PosTransactions" SET "Synced" = 1');
  // Anything but the plain command line, and a state file due its refresh.
  for (const [why, extra, env] of [
    ['--json', ['--json'], {}],
    ['Kafka on', [], { Kafka__Enabled: 'true', Kafka__BootstrapServers: '127.0.0.1:9' }],
    ['a metrics file', [], { Sync__MetricsFile: path.join(s.dir, 'm.prom') }],
  ] as const) {
    const r = await tick(s, [...extra], { ...env });
    assert.ok(r.full, `${why}: the full pass ran`);
  }
  const state = JSON.parse(fs.readFileSync(s.state, 'utf8')) as { lastPass: { at: string } };
  state.lastPass.at = new Date(Date.now() - 120_000).toISOString();
  fs.writeFileSync(s.state, JSON.stringify(state));
  const refresh = await tick(s);
  assert.equal(refresh.code, 0, refresh.stderr);
  assert.ok(refresh.full, 'a state file due its refresh: the full pass writes it');
  const again = await tick(s);
  assert.ok(again.idle && !again.full, 'and the next tick is idle again');
});

test('another pass holding the lock: the full pass runs and says so (75), as without the fast path', async () => {
  const s = await drainedStore();
  const lock = holdLock(s.db);
  try {
    const r = await tick(s);
    assert.equal(r.code, 75, r.stderr);
    assert.ok(r.full);
    assert.match(r.stderr, /holds .*pos-sync\.lock/);
  } finally {
    lock.release();
  }
});

test("cron's >/dev/null (a character device, not a terminal) keeps the fast path", async () => {
  const s = await drainedStore();
  const log = path.join(s.dir, 'modules-null.log');
  const devNull = fs.openSync('/dev/null', 'w');
  try {
    const r = spawnSync(process.execPath, [BIN, '--db', s.db, '--central-url', UNUSED, 'sync'], {
      cwd: s.dir,
      stdio: ['ignore', devNull, 'pipe'],
      env: cleanEnv({ NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log }),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.closeSync(devNull);
  }
  const loaded = lines(fs.readFileSync(log, 'utf8'));
  assert.ok(loaded.some((m) => m.endsWith('idle.cjs')) && !loaded.some((m) => m.endsWith('pos-sync.cjs')), loaded.join('\n'));
});

test('only the plain `[global options] sync` a timer runs is taken', () => {
  assert.deepEqual(plainSync(['--config', '/etc/pos-sync/appsettings.json', 'sync']), { config: '/etc/pos-sync/appsettings.json' });
  assert.deepEqual(plainSync(['--db', 'a.db', '--central-url', 'http://c', 'sync']), { db: 'a.db', centralUrl: 'http://c' });
  for (const argv of [['sync'].slice(1), ['status'], ['sync', '--dry-run'], ['--json', 'sync'], ['--db', 'a', '--db', 'b', 'sync'], ['-v', 'sync'], ['--db', 'sync']]) {
    assert.equal(plainSync(argv), null, argv.join(' '));
  }
  assert.ok(LOOKS.length >= 5, 'the list of what an idle tick must see');
});
