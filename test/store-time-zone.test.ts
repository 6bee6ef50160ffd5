// One rule for the store's time zone in every command: Sync.TimeZone, else the machine's zone (TZ,
// else /etc/localtime). reconcile's days and status's "today" and times follow the same zone, so a
// technician reading both sees one calendar.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../src/store/db.js';
import { useCentral } from './helpers/central.js';
import { lines, runCli } from './helpers/cli.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('store-time-zone');
after(tmp.cleanup);

async function both(url: string, env: Record<string, string>): Promise<{ status: { timeZone: string }; reconcile: { window: { from: string; to: string; timeZone: string } }; human: string }> {
  const cwd = tmp.make();
  const db = path.join(cwd, 'pos.db');
  openDatabase({ path: db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
  const run = (args: string[]) => runCli(['--db', db, '--central-url', url, ...args], { cwd, env, timeoutMs: 30_000 });
  const status = await run(['--json', 'status']);
  assert.ok(status.stdout.startsWith('{'), status.stderr); // its verdict (no pass yet: NOT SYNCING) is beside the point here
  const reconcile = await run(['--json', 'reconcile', '--date', '2026-03-10']);
  assert.equal(reconcile.code, 0, reconcile.stderr);
  const human = await run(['reconcile', '--date', '2026-03-10']);
  assert.equal(human.code, 0, human.stderr);
  return { status: JSON.parse(status.stdout) as never, reconcile: JSON.parse(reconcile.stdout) as never, human: human.stdout };
}

describe('the store\'s time zone', () => {
  test('unset: the machine\'s zone (TZ) for status and reconcile alike; the window is that zone\'s day, printed in local time', async (t) => {
    const central = await useCentral(t);
    const r = await both(central.url, { TZ: 'Asia/Tokyo' });
    assert.equal(r.status.timeZone, 'Asia/Tokyo');
    assert.deepEqual(r.reconcile.window, { from: '2026-03-09T15:00:00.000Z', to: '2026-03-10T15:00:00.000Z', timeZone: 'Asia/Tokyo' });
    assert.match(lines(r.human)[0]!, /^transactions 2026-03-10 00:00 – 2026-03-11 00:00 Asia\/Tokyo: match, 0 rows/);
  });

  test('Sync.TimeZone wins over the machine\'s zone, for both', async (t) => {
    const central = await useCentral(t);
    const r = await both(central.url, { TZ: 'Asia/Tokyo', Sync__TimeZone: 'America/New_York' }); // EDT since 8 March
    assert.equal(r.status.timeZone, 'America/New_York');
    assert.deepEqual(r.reconcile.window, { from: '2026-03-10T04:00:00.000Z', to: '2026-03-11T04:00:00.000Z', timeZone: 'America/New_York' });
  });
});
