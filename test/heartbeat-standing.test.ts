// The heartbeat says what `status` says: a quarantined row and the offline deadline reach head
// office with the verdict they make. Real bin/pos-sync against the reference central, whose fault
// layer fails every batch holding one sale (a 500) while it answers the rest.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { startCentral } from '../examples/central/server.js';
import { runCli } from './helpers/cli.js';
import { exec, pendingIds } from './helpers/db.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('heartbeat-standing');
after(tmp.cleanup);

test('a quarantined sale and the offline deadline are in the heartbeat, with the verdict status gives', { timeout: 120_000 }, async (t) => {
  const central = await startCentral({});
  t.after(() => central.close());
  const dir = tmp.make('till');
  const db = path.join(dir, 'pos.db');
  const env = { STORE_ID: 'STORE-H', Sync__TillId: 'till-1', CENTRAL_API_URL: central.url, Sync__HeartbeatSeconds: '1', Sync__OfflineDeadlineHours: '24' };
  assert.equal((await runCli(['--db', db, 'seed', '--transactions', '6', '--inventory', '0', '--random-seed', '7'], { cwd: dir, env })).code, 0);
  // The sales were rung up 20 hours ago: 83 % of a 24 h deadline used while one of them waits.
  exec(db, `UPDATE "PosTransactions" SET "CreatedAt" = strftime('%Y-%m-%d %H:%M:%f', 'now', '-20 hours')`);
  const bad = pendingIds(db)[2]!;
  central.setFaults({ failIds: [bad] });

  const schema = loadSchema('heartbeat');
  for (let pass = 0; pass < 4; pass++) {
    const r = await runCli(['--db', db, 'sync'], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // HeartbeatSeconds: 1
  }
  assert.deepEqual(pendingIds(db), [bad], 'the others went through');

  const history = central.fleet.book.history('STORE-H', 'till-1') ?? [];
  assert.ok(history.length > 0, 'heartbeats arrived');
  const last = history[0]!.heartbeat as unknown as Record<string, unknown>;
  assert.deepEqual(validate(schema, last), []);
  assert.equal(last['quarantined'], 1, JSON.stringify(last));
  const deadline = last['offlineDeadline'] as { hours: number; level: string; secondsLeft: number };
  assert.equal(deadline.hours, 24);
  assert.equal(deadline.level, 'critical');
  assert.ok(deadline.secondsLeft > 3 * 3600 && deadline.secondsLeft < 5 * 3600, `${deadline.secondsLeft} s left`);

  // The same verdict as status's, from the same facts.
  const status = await runCli(['--db', db, '--json', 'status'], { cwd: dir, env });
  const doc = JSON.parse(status.stdout) as { verdict: string };
  assert.equal(doc.verdict, 'DEGRADED');
  assert.equal(last['verdict'], doc.verdict);
});

test('a sale pos-sync cannot read reaches head office as status shows it: the same verdict and the same problem', { timeout: 60_000 }, async (t) => {
  const central = await startCentral({});
  t.after(() => central.close());
  const dir = tmp.make('till');
  const db = path.join(dir, 'pos.db');
  const env = { STORE_ID: 'STORE-U', Sync__TillId: 'till-1', CENTRAL_API_URL: central.url, Sync__HeartbeatSeconds: '1', Sync__RetryDelayMinutes: '0' };
  assert.equal((await runCli(['--db', db, 'seed', '--transactions', '3', '--inventory', '0', '--random-seed', '8'], { cwd: dir, env })).code, 0);
  const bad = pendingIds(db)[1]!;
  exec(db, `UPDATE "PosTransactions" SET "TotalAmount" = '54,99' WHERE "Id" = ?`, bad);
  for (let pass = 0; pass < 2; pass++) {
    const r = await runCli(['--db', db, 'sync'], { cwd: dir, env });
    assert.equal(r.code, 65, `a pass that meets the row it cannot send exits 65: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // HeartbeatSeconds: 1
  }
  assert.deepEqual(pendingIds(db), [bad], 'the others went through');

  const status = JSON.parse((await runCli(['--db', db, '--json', 'status'], { cwd: dir, env })).stdout) as { verdict: string; problems: { problem: string }[] };
  assert.equal(status.verdict, 'DEGRADED');
  const unreadable = /^1 row not sent: the POS wrote a value pos-sync cannot read$/;
  assert.ok(status.problems.some((p) => unreadable.test(p.problem)), JSON.stringify(status.problems));
  const last = (central.fleet.book.history('STORE-U', 'till-1') ?? [])[0]?.heartbeat as unknown as { verdict: string; problems: string[] } | undefined;
  assert.ok(last, 'heartbeats arrived');
  assert.equal(last.verdict, status.verdict, JSON.stringify(last));
  assert.ok(last.problems.some((p) => unreadable.test(p)), `head office is told of the row: ${JSON.stringify(last.problems)}`);
});
