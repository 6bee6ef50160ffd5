// The offline deadline (Sync.OfflineDeadlineHours): the oldest pending sale against how long a sale
// may wait on the till. Off by default; past half of it status is DEGRADED and health WARNING, past
// 80 % health is CRITICAL, each naming the time left; status --json and the metrics file carry it.
// It sits beside the oldest-pending thresholds: neither hides the other.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { offlineDeadline, describeDeadline } from '../src/domain/offline-deadline.js';
import { openDatabase } from '../src/store/db.js';
import { closedPort, useCentral } from './helpers/central.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { runCli } from './helpers/cli.js';
import { efTime } from './helpers/pos.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('offline-deadline');
after(tmp.cleanup);

const H = 3_600_000;

describe('the deadline as a pure function (a stepped clock)', () => {
  const written = Date.parse('2026-12-07T08:00:00Z');
  const day = 24 * 3600;
  test('levels by the share of the deadline the oldest pending sale has used', () => {
    const table: Array<[number, string, number]> = [
      [0, 'ok', day],
      [11.99 * H, 'ok', day - 11.99 * 3600],
      [12 * H, 'warning', 12 * 3600],
      [19.19 * H, 'warning', Math.round(day - 19.19 * 3600)],
      [19.2 * H, 'critical', Math.round(day - 19.2 * 3600)],
      [24 * H, 'critical', 0],
      [26 * H, 'critical', -2 * 3600],
    ];
    for (const [elapsed, level, left] of table) {
      const d = offlineDeadline(written, day, written + elapsed)!;
      assert.equal(d.level, level, `${elapsed / H} h`);
      assert.equal(d.secondsLeft, left, `${elapsed / H} h`);
      assert.equal(d.dueAt, written + 24 * H);
    }
  });

  test('off without a deadline; nothing pending is ok with the whole deadline left; a sale from the future has used nothing', () => {
    assert.equal(offlineDeadline(written, null, written + 30 * H), null);
    assert.deepEqual(offlineDeadline(null, day, written), { level: 'ok', deadlineSeconds: day, oldestPendingSaleAt: null, dueAt: null, secondsLeft: day, fractionUsed: 0 });
    assert.equal(offlineDeadline(written + H, day, written)!.fractionUsed, 0);
  });

  test('the words name the time left, or how far past it is', () => {
    assert.equal(describeDeadline(offlineDeadline(written, day, written + 19.5 * H)!), 'the oldest pending sale must reach head office within 4 h 30 min (deadline 24 h, 81 % used)');
    assert.equal(describeDeadline(offlineDeadline(written, day, written + 26 * H)!), 'the oldest pending sale is 2 h past the offline deadline (deadline 24 h)');
    assert.equal(describeDeadline(offlineDeadline(null, day, written)!), 'no sale pending (deadline 24 h)');
  });
});

interface Check {
  name: string;
  status: string;
  message: string;
}

/** A till whose one pending sale was written `hoursAgo` (and a pending inventory update older still). */
function till(hoursAgo: number, env: Record<string, string>) {
  const cwd = tmp.make();
  const db = path.join(cwd, 'pos.db');
  openDatabase({ path: db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
  const conn = new Sqlite(db);
  const at = efTime(Date.now() - hoursAgo * H);
  conn.prepare(
    `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
       "TransactionDate", "CreatedAt", "Synced", "SyncAttempts") VALUES ('DEAD11E0-0000-4000-8000-000000000001', 'TX-1', 'STORE001', 'P1', 'Sale', 1, '2.50', '2.50', ?, ?, 0, 0)`,
  ).run(at, at);
  // The deadline is about sales: an older pending inventory update does not move it.
  const older = efTime(Date.now() - (hoursAgo + 5) * H);
  conn.prepare(
    `INSERT INTO "InventoryUpdates" ("Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt", "Synced", "SyncAttempts")
       VALUES ('DEAD11E0-0000-4000-8000-000000000002', 'STORE001', 'P1', 5, 4, 'Sale', ?, ?, 0, 0)`,
  ).run(older, older);
  conn.close();
  const run = (args: string[], url: string) =>
    runCli(['--db', db, '--central-url', url, ...args], { cwd, env: { TZ: 'UTC', ...env, ...(args[0] === 'sync' ? { Sync__EnableTransactionSync: 'false' } : {}) }, timeoutMs: 30_000 });
  return { cwd, db, run };
}

async function standing(hoursAgo: number, url: string, env: Record<string, string>) {
  const t = till(hoursAgo, env);
  // One good pass first, so "no pass has run yet" does not speak; it holds the sales back
  // (transaction sync off for it) so the old sale stays pending, as behind a long outage.
  const pass = await t.run(['sync'], url);
  assert.equal(pass.code, 0, pass.stderr);
  const status = await t.run(['--json', 'status'], url);
  const health = await t.run(['--json', 'health'], url);
  const humanHealth = await t.run(['health'], url);
  // Both documents as their schemas say, the deadline's fields included.
  assert.deepEqual(validate(loadSchema('status'), JSON.parse(status.stdout)), [], status.stdout);
  assert.deepEqual(validate(loadSchema('health'), JSON.parse(health.stdout)), [], health.stdout);
  const s = JSON.parse(status.stdout) as { exitCode: number; verdict: string; problems: Array<{ problem: string }>; offlineDeadline: { level: string; secondsLeft: number; hours: number } | null };
  const h = JSON.parse(health.stdout) as { status: string; exitCode: number; checks: Check[]; perfdata: Array<{ label: string; value: number | null }> };
  return { status: s, health: h, humanHealth: humanHealth.stdout, check: h.checks.find((c) => c.name === 'offlineDeadline') };
}

// Only the deadline speaks: the oldest-pending thresholds are set far away.
const QUIET = { Sync__OfflineDeadlineHours: '10', Sync__Health__OldestPendingWarningSeconds: '999999', Sync__Health__OldestPendingCriticalSeconds: '999999' };

describe('the deadline in status and health (old rows, through bin/pos-sync)', () => {
  test('off by default: nothing in status or health', async (t) => {
    const central = await useCentral(t);
    const r = await standing(30, central.url, {});
    assert.equal(r.status.offlineDeadline, null);
    assert.equal(r.check, undefined);
    assert.ok(!r.health.perfdata.some((p) => p.label === 'offline_deadline_used'));
  });

  test('under half: ok; half: DEGRADED and WARNING; 80 %: CRITICAL; past it: CRITICAL saying how far past', async (t) => {
    const central = await useCentral(t);
    const under = await standing(4, central.url, QUIET);
    assert.equal(under.status.offlineDeadline!.level, 'ok');
    assert.ok(!under.status.problems.some((p) => /offline deadline/.test(p.problem)));
    assert.equal(under.check!.status, 'OK');

    const half = await standing(6, central.url, QUIET);
    assert.equal(half.status.verdict, 'DEGRADED', JSON.stringify(half.status.problems));
    assert.equal(half.status.offlineDeadline!.level, 'warning');
    assert.ok(Math.abs(half.status.offlineDeadline!.secondsLeft - 4 * 3600) < 120, String(half.status.offlineDeadline!.secondsLeft));
    assert.ok(half.status.problems.some((p) => /^offline deadline: the oldest pending sale must reach head office within (4 h|3 h 5\d min) \(deadline 10 h, (59|60) % used\); due (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC$/.test(p.problem)), JSON.stringify(half.status.problems));
    assert.equal(half.check!.status, 'WARNING');
    assert.match(half.check!.message, /within (4 h|3 h 5\d min)/);
    assert.equal(half.health.status, 'WARNING', JSON.stringify(half.health.checks));
    assert.match(half.humanHealth, /offline deadline/);
    assert.ok([59, 60].includes(half.health.perfdata.find((p) => p.label === 'offline_deadline_used')!.value!));

    const late = await standing(9, central.url, QUIET);
    assert.equal(late.check!.status, 'CRITICAL');
    assert.match(late.check!.message, /within (1 h|5\d min) \(deadline 10 h, (89|90) % used\)/);
    assert.equal(late.health.status, 'CRITICAL');
    assert.equal(late.health.exitCode, 2);
    assert.equal(late.status.verdict, 'DEGRADED', 'status: degraded, not "not syncing" — the sync itself is not known to be broken');

    const past = await standing(12, central.url, QUIET);
    assert.equal(past.check!.status, 'CRITICAL');
    assert.match(past.check!.message, /is 2 h past the offline deadline \(deadline 10 h\)/);
    assert.ok(past.status.offlineDeadline!.secondsLeft < 0);
  });

  test('neither hides the other: with the oldest-pending thresholds crossed too, both are reported', async (t) => {
    const central = await useCentral(t);
    const both = await standing(6, central.url, { Sync__OfflineDeadlineHours: '10' });
    const problems = both.status.problems.map((p) => p.problem);
    assert.ok(problems.includes('the oldest pending row is past its warning age'), JSON.stringify(problems));
    assert.ok(problems.some((p) => p.startsWith('offline deadline: ')), JSON.stringify(problems));
    assert.equal(both.health.checks.find((c) => c.name === 'oldestPending')!.status, 'CRITICAL');
    assert.equal(both.check!.status, 'WARNING');
    // And the other way round: a deadline far away does not quiet the age thresholds.
    const far = await standing(2, central.url, { Sync__OfflineDeadlineHours: '100' });
    assert.equal(far.check!.status, 'OK');
    assert.equal(far.health.checks.find((c) => c.name === 'oldestPending')!.status, 'CRITICAL');
    assert.equal(far.health.status, 'CRITICAL');
  });
});

describe('the deadline in the metrics file', () => {
  test('a failed pass leaves the deadline and the time left; without a deadline neither gauge', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const t = till(6, { Sync__OfflineDeadlineHours: '10', Sync__MaxRetryAttempts: '0' });
    const file = path.join(t.cwd, 'pos-sync.prom');
    const r = await t.run(['sync', '--metrics-file', file], url);
    assert.equal(r.code, 75, r.stderr);
    const text = fs.readFileSync(file, 'utf8');
    assert.match(text, /^pos_sync_offline_deadline_seconds 36000$/m);
    const left = Number(/^pos_sync_offline_deadline_remaining_seconds (-?\d+)$/m.exec(text)?.[1]);
    assert.ok(Math.abs(left - 4 * 3600) < 120, String(left));

    const off = till(6, { Sync__MaxRetryAttempts: '0' });
    const offFile = path.join(off.cwd, 'pos-sync.prom');
    await off.run(['sync', '--metrics-file', offFile], url);
    assert.doesNotMatch(fs.readFileSync(offFile, 'utf8'), /offline_deadline/);
  });
});
