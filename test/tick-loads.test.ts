// What a timer tick loads when the service names its appsettings.json (--config): not cosmiconfig,
// whose loaders cost a tick about ten milliseconds (README → Performance) — recorded, not timed.
// The full CLI on its compiled modules (a tick with something to do), with a YAML config file as
// the control that does load it; and the service's own idle tick through bin/pos-sync, which
// src/idle.ts answers without the full bundle (test/idle-tick.test.ts has the rest of that path),
// and an open breaker's tick, which it answers too (test/open-breaker-tick.test.ts).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { lines, MODULES_BIN, runCli } from './helpers/cli.js';
import { MODULE_LOG_ENV } from './helpers/module-record.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('tick-loads');
after(tmp.cleanup);

const RECORDER = new URL('./helpers/module-record.js', import.meta.url).href;

/** An idle tick (a new, empty database; nothing is sent) with `configName` holding `content`; the modules it loaded. */
async function tick(configName: string, content: string): Promise<string[]> {
  const cwd = tmp.make();
  fs.writeFileSync(path.join(cwd, configName), content);
  const log = path.join(cwd, 'modules.log');
  const r = await runCli(['--config', configName, '--central-url', 'http://127.0.0.1:9', 'sync'], {
    cwd,
    bin: MODULES_BIN,
    env: { NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log, Sync__AutoCreateDatabase: 'true' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nothing pending/);
  const entries = lines(fs.readFileSync(log, 'utf8'));
  assert.ok(entries.some((e) => e.includes('/dist/src/config/load.js')), `the recorder saw the config loaded (${entries.length} entries)`);
  return entries.filter((e) => /[/\\]node_modules[/\\]cosmiconfig[/\\]/.test(e));
}

test('control: a YAML config file is read by cosmiconfig (the recorder sees it)', async () => {
  const cosmiconfig = await tick('pos-sync.yaml', 'Sync:\n  StoreId: YAML1\nConnectionStrings:\n  DefaultConnection: Data Source=data.db\n');
  assert.ok(cosmiconfig.length > 0, 'cosmiconfig was loaded');
});

test('appsettings.json named by --config: cosmiconfig is never loaded', async () => {
  const cosmiconfig = await tick('appsettings.json', JSON.stringify({ Sync: { StoreId: 'JSON1' }, ConnectionStrings: { DefaultConnection: 'Data Source=data.db' } }));
  assert.deepEqual(cosmiconfig, []);
});

test("the service's idle tick through bin/pos-sync (--config appsettings.json): neither cosmiconfig nor the full bundle", async () => {
  const cwd = tmp.make();
  fs.writeFileSync(path.join(cwd, 'appsettings.json'), JSON.stringify({ Sync: { StoreId: 'JSON1' }, ConnectionStrings: { DefaultConnection: 'Data Source=data.db' } }));
  const args = ['--config', 'appsettings.json', '--central-url', 'http://127.0.0.1:9', 'sync'];
  // The first tick sets the database up and records an idle success (the full pass); the second is the timer's idle tick.
  for (const env of [{ Sync__AutoCreateDatabase: 'true' }, {}] as Record<string, string>[]) assert.equal((await runCli(args, { cwd, env })).code, 0);
  const log = path.join(cwd, 'modules.log');
  const r = await runCli(args, { cwd, env: { NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nothing pending/);
  const entries = lines(fs.readFileSync(log, 'utf8'));
  assert.ok(entries.some((e) => e.endsWith('/dist/src/cli/idle.cjs')), entries.join('\n'));
  assert.deepEqual(entries.filter((e) => /[/\\]node_modules[/\\]cosmiconfig[/\\]|pos-sync\.cjs$|better-sqlite3/.test(e)), []);
});

test("an open breaker's tick through bin/pos-sync: neither commander, better-sqlite3 nor the full bundle", async () => {
  const cwd = tmp.make();
  fs.writeFileSync(path.join(cwd, 'appsettings.json'), JSON.stringify({ Sync: { StoreId: 'JSON1', MaxRetryAttempts: 0, CircuitBreaker: { FailureThreshold: 1, BreakSeconds: 3600, MaxBreakSeconds: 3600 } }, ConnectionStrings: { DefaultConnection: 'Data Source=data.db' } }));
  // Nothing listens on port 9: the first pass (the full CLI: a row is pending) fails and opens the breaker.
  const args = ['--config', 'appsettings.json', '--central-url', 'http://127.0.0.1:9', 'sync'];
  seedDb(path.join(cwd, 'data.db'), 1, 0);
  const opening = await runCli(args, { cwd });
  assert.equal(opening.code, 75, opening.stderr);
  const log = path.join(cwd, 'modules.log');
  const r = await runCli(args, { cwd, env: { NODE_OPTIONS: `--import=${RECORDER}`, [MODULE_LOG_ENV]: log } });
  assert.equal(r.code, 75, r.stderr);
  assert.match(r.stderr, /"level":"warn","message":"the circuit breaker is open/);
  const entries = lines(fs.readFileSync(log, 'utf8'));
  assert.ok(entries.some((e) => e.endsWith('/dist/src/cli/idle.cjs')), entries.join('\n'));
  assert.deepEqual(entries.filter((e) => /[/\\]node_modules[/\\](commander|better-sqlite3)[/\\]|pos-sync\.cjs$/.test(e)), []);
});
