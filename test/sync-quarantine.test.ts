// A row that keeps failing at the central (HTTP 500 to any batch that holds it, a central-side bug
// its data triggers) is narrowed down, quarantined after Sync.QuarantineAfterPasses passes and
// named in status, health and the metrics, while every other row flows and the breaker stays
// closed; a real outage quarantines nothing. Through the real binary against the reference
// central on 127.0.0.1; "its next try has come" is reached by moving the stored time back, as a
// clock moving forward would; the outage test waits out a 0.1 s break.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { quarantinedRowDue } from '../src/store/quarantine.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { exec, pendingIds, query } from './helpers/db.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sync-quarantine');
const centrals: RunningCentral[] = [];
after(async () => {
  await Promise.all(centrals.map((c) => c.close()));
  tmp.cleanup();
});

async function central(faults: Parameters<typeof startCentral>[0] = {}): Promise<RunningCentral> {
  const c = await startCentral({ seed: 11, ...faults });
  centrals.push(c);
  return c;
}

interface Store {
  readonly db: string;
  readonly prom: string;
  readonly ids: string[];
  sync(): Promise<CliResult & { json: Record<string, any> }>;
  run(...args: string[]): Promise<CliResult>;
}

function store(c: RunningCentral, transactions: number, inventory = 0, sync: Record<string, unknown> = {}): Store {
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  seedDb(db, transactions, inventory, 21);
  fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { ...sync } }));
  const prom = path.join(dir, 'pos-sync.prom');
  const run = (...args: string[]): Promise<CliResult> => runCli(['--config', 'appsettings.json', '--db', db, '--central-url', c.url, ...args], { cwd: dir, timeoutMs: 30_000 });
  return {
    db,
    prom,
    ids: query<{ Id: string }>(db, `SELECT "Id" FROM "PosTransactions" ORDER BY rowid`).map((r) => r.Id),
    run,
    sync: async () => {
      const r = await run('--json', 'sync', '--metrics-file', prom);
      return { ...r, json: doc(r, 'sync') };
    },
  };
}

/** A --json document, checked against its schema in man/schemas/. */
function doc(r: CliResult, schema: string): Record<string, any> {
  const parsed = JSON.parse(r.stdout) as Record<string, any>;
  assert.deepEqual(validate(loadSchema(schema), parsed), [], `${schema} schema: ${r.stdout.slice(0, 2000)}`);
  return parsed;
}

const quarantined = (db: string): { Id: string; Strikes: number; QuarantinedAt: string | null }[] =>
  query(db, `SELECT "Id", "Strikes", "QuarantinedAt" FROM "PosSync_Quarantine" ORDER BY "Id"`);

/** Plain passes (no --force, no requeue) until `done` or `max` passes; returns the passes run. */
async function passesUntil(s: Store, max: number, done: () => boolean): Promise<{ passes: number; results: Record<string, any>[] }> {
  const results: Record<string, any>[] = [];
  for (let n = 1; n <= max; n++) {
    const r = await s.sync();
    results.push(r.json);
    assert.notEqual(r.json['breaker'].state, 'open', `pass ${n}: the breaker never opens for one row (${r.stderr})`);
    if (done()) return { passes: n, results };
  }
  return { passes: max, results };
}

/** As if the clock had moved past every quarantined row's next try. */
function nextTryHasCome(db: string): void {
  exec(db, `UPDATE "PosSync_Quarantine" SET "NextAttemptAt" = '2000-01-01 00:00:00' WHERE "NextAttemptAt" IS NOT NULL`);
  exec(db, `UPDATE "PosSync_RowState" SET "NextAttemptAt" = '2000-01-01 00:00:00' WHERE "NextAttemptAt" IS NOT NULL`);
}

/** The idle tick's cheap check, on a read-only connection as the tick would have. */
function dueNow(db: string): boolean {
  const conn = new Sqlite(db, { readonly: true });
  try {
    return quarantinedRowDue(conn, Date.now());
  } finally {
    conn.close();
  }
}

describe('a row the central fails on (HTTP 500 to any batch holding it)', () => {
  test('is quarantined within 20 plain passes, named in status, health and the metrics; the 499 others arrive; the breaker stays closed; fixed, it goes out on its next try', async () => {
    const c = await central();
    const s = store(c, 500);
    const bad = s.ids[237]!;
    c.setFaults({ failIds: [bad] });
    const run = await passesUntil(s, 20, () => quarantined(s.db).some((q) => q.QuarantinedAt !== null));
    assert.ok(run.passes <= 20);
    assert.equal(run.passes, 3, 'Sync.QuarantineAfterPasses (3) passes with the row failing alone');
    assert.deepEqual(pendingIds(s.db), [bad], 'every other row was delivered');
    assert.equal(new Set(c.receivedIds()).size, 499);
    assert.ok(!c.receivedIds().includes(bad));
    for (const r of run.results) assert.equal(r['exitCode'], 0, 'the store syncs: the held row is shown, not a failing unit');
    assert.equal(run.results.reduce((n, r) => n + r['refused'].transaction + r['deadLettered'].transaction, 0), 0, 'never refused nor dead-lettered for a 5xx');

    // Held: a pass sends nothing while its next try has not come.
    const held = await s.sync();
    assert.equal(held.json['requests'], 0);
    assert.equal(held.json['breaker'].state, 'closed');

    const status = doc(await s.run('--json', 'status'), 'status') as Record<string, any>;
    assert.equal(status['quarantine'].total, 1);
    const row = status['quarantine'].rows[0];
    assert.equal(row.id, bad);
    assert.equal(row.entity, 'transaction');
    assert.equal(row.amount, query<{ a: string }>(s.db, `SELECT "TotalAmount" AS a FROM "PosTransactions" WHERE "Id" = ?`, bad)[0]!.a);
    assert.match(row.answers[0], /HTTP 500/);
    assert.ok(Date.parse(row.nextTryAt) > Date.now(), 'the next try is ahead');
    assert.equal(status['pending'].transaction.quarantined, 1);
    assert.equal(status['verdict'], 'DEGRADED');
    assert.equal(status['breaker'].state, 'closed');
    const human = (await s.run('status')).stdout;
    assert.match(human, new RegExp(`quarantine: 1 row[\\s\\S]*${bad}[\\s\\S]*HTTP 500`));
    assert.match(human, new RegExp(`pos-sync requeue --id ${bad}`));

    const health = await s.run('--json', 'health');
    const h = doc(health, 'health') as { status: string; checks: { name: string; status: string; message: string }[] };
    const check = h.checks.find((x) => x.name === 'quarantine')!;
    assert.equal(check.status, 'WARNING');
    assert.match(check.message, new RegExp(`transaction ${bad} \\(\\d+\\.\\d+\\): HTTP 500`));
    assert.equal(h.checks.find((x) => x.name === 'central')!.status, 'OK');
    assert.equal(health.code, 1, 'WARNING');

    const metrics = fs.readFileSync(s.prom, 'utf8');
    assert.match(metrics, /^pos_sync_quarantined_rows\{[^}]*entity="transaction"[^}]*\} 1$/m);
    assert.match(metrics, /^pos_sync_quarantined_rows\{[^}]*entity="inventory"[^}]*\} 0$/m);

    // Its next try, while the central still fails on it: tried alone, once, and held longer.
    assert.equal(dueNow(s.db), false, 'the idle tick\'s check: not due yet');
    nextTryHasCome(s.db);
    assert.equal(dueNow(s.db), true, 'the idle tick\'s check: due');
    const again = await s.sync();
    assert.equal(again.json['requests'], 2, 'the row alone, and once more at once');
    const second = doc(await s.run('--json', 'status'), 'status').quarantine.rows[0];
    assert.equal(second.tries, 2);
    assert.ok(Date.parse(second.nextTryAt) - Date.now() > 9 * 60_000, `the interval grows: ${second.nextTryAt}`);

    // The central is fixed: the row goes out on its own next try.
    c.setFaults({ failIds: [] });
    nextTryHasCome(s.db);
    const fixed = await s.sync();
    assert.equal(fixed.json['delivered'].transaction, 1);
    assert.deepEqual(pendingIds(s.db), []);
    assert.deepEqual(quarantined(s.db), []);
    assert.equal(doc(await s.run('--json', 'status'), 'status').quarantine.total, 0);
    assert.match(fs.readFileSync(s.prom, 'utf8'), /^pos_sync_quarantined_rows\{[^}]*entity="transaction"[^}]*\} 0$/m);
  });

  test('two bad rows in different batches are both quarantined; the rest arrive', async () => {
    const c = await central();
    const s = store(c, 500);
    const bad = [s.ids[12]!, s.ids[431]!];
    c.setFaults({ failIds: bad });
    const run = await passesUntil(s, 20, () => quarantined(s.db).filter((q) => q.QuarantinedAt !== null).length === 2);
    assert.ok(run.passes <= 20, `${run.passes} passes`);
    assert.deepEqual(pendingIds(s.db).sort(), [...bad].sort());
    assert.equal(new Set(c.receivedIds()).size, 498);
    const status = doc(await s.run('--json', 'status'), 'status') as Record<string, any>;
    assert.deepEqual(status['quarantine'].rows.map((r: { id: string }) => r.id).sort(), [...bad].sort());
    assert.equal(status['breaker'].state, 'closed');
  });

  test('a refused row and a failing row in one batch: each found, the refusal counted once, the others delivered', async () => {
    const c = await central();
    const s = store(c, 40, 0, { BatchSize: 20, MaxRejections: 5 });
    const refused = s.ids[3]!;
    const failing = s.ids[7]!;
    c.setFaults({ refuseIds: [refused], failIds: [failing] });
    const first = await s.sync();
    assert.equal(first.json['exitCode'], 65, first.stderr);
    assert.equal(first.json['delivered'].transaction, 38);
    assert.equal(first.json['refused'].transaction, 1);
    assert.deepEqual(query(s.db, `SELECT "Id", "Rejections" FROM "PosSync_RowState" WHERE "Rejections" > 0`), [{ Id: refused, Rejections: 1 }]);
    assert.deepEqual(quarantined(s.db).map((q) => [q.Id, q.Strikes]), [[failing, 1]]);
    assert.equal(first.json['breaker'].state, 'closed');
  });

  test('the single format (one request per row) isolates it the same way', async () => {
    const c = await central();
    const s = store(c, 30, 0, { ApiFormat: 'single' });
    const bad = s.ids[4]!;
    c.setFaults({ failIds: [bad] });
    const run = await passesUntil(s, 20, () => quarantined(s.db).some((q) => q.QuarantinedAt !== null));
    assert.equal(run.passes, 3);
    assert.equal(run.results[0]!['delivered'].transaction, 29, 'the rows after it went on in the first pass');
    assert.deepEqual(pendingIds(s.db), [bad]);
  });

  test('the quarantine survives the POS rebuilding its table (EF Core style)', async () => {
    const c = await central();
    const s = store(c, 60);
    const bad = s.ids[30]!;
    c.setFaults({ failIds: [bad] });
    await passesUntil(s, 20, () => quarantined(s.db).some((q) => q.QuarantinedAt !== null));
    const conn = new Sqlite(s.db);
    try {
      const create = conn.prepare(`SELECT sql FROM sqlite_master WHERE name = 'PosTransactions'`).pluck().get() as string;
      conn.transaction(() => {
        conn.exec(create.replace('"PosTransactions"', '"ef_temp_PosTransactions"'));
        conn.exec(`INSERT INTO "ef_temp_PosTransactions" SELECT * FROM "PosTransactions"`);
        conn.exec(`DROP TABLE "PosTransactions"`);
        conn.exec(`ALTER TABLE "ef_temp_PosTransactions" RENAME TO "PosTransactions"`);
      })();
    } finally {
      conn.close();
    }
    const after = await s.sync();
    assert.equal(after.json['exitCode'], 0, after.stderr);
    assert.equal(after.json['requests'], 0, 'still held after the rebuild');
    assert.equal(doc(await s.run('--json', 'status'), 'status').quarantine.rows[0].id, bad);
  });

  test('requeue releases a quarantined row: the next pass sends it', async () => {
    const c = await central();
    const s = store(c, 120);
    const bad = s.ids[60]!;
    c.setFaults({ failIds: [bad] });
    await passesUntil(s, 20, () => quarantined(s.db).some((q) => q.QuarantinedAt !== null));
    const held = await s.sync();
    assert.equal(held.json['requests'], 0, 'held');
    c.setFaults({ failIds: [] });
    const r = await s.run('--json', 'requeue', '--id', bad.toLowerCase());
    assert.equal(r.code, 0, r.stderr);
    const j = doc(r, 'requeue');
    assert.deepEqual(j['released'], { transaction: 1, inventory: 0 });
    assert.deepEqual(j['ids'], [{ id: bad, entity: 'transaction', result: 'released' }]);
    assert.deepEqual(quarantined(s.db), []);
    const next = await s.sync();
    assert.equal(next.json['delivered'].transaction, 1);
    assert.deepEqual(pendingIds(s.db), []);
  });
});

describe('a bad row at the head of the queue when an outage ends', () => {
  test('the half-open probe narrows it down instead of failing again: the breaker closes, the rest arrive, the row is quarantined', async () => {
    const c = await central();
    const s = store(c, 200, 0, { CircuitBreaker: { FailureThreshold: 1, BreakSeconds: 0.1, MaxBreakSeconds: 0.2 }, MaxRetryAttempts: 0 });
    c.setFaults({ down: true });
    const down = await s.sync();
    assert.equal(down.json['exitCode'], 75);
    assert.equal(down.json['breaker'].state, 'open');
    // The outage ends, but the first pending row breaks the central.
    c.setFaults({ down: false, failIds: [s.ids[0]!] });
    await new Promise((resolve) => setTimeout(resolve, 250)); // past the 0.1–0.2 s break
    const probe = await s.sync();
    assert.equal(probe.json['probe'], true, 'the half-open probe');
    assert.equal(probe.json['breaker'].state, 'closed', probe.stderr);
    assert.equal(probe.json['delivered'].transaction, 199);
    const run = await passesUntil(s, 20, () => quarantined(s.db).some((q) => q.QuarantinedAt !== null));
    assert.ok(run.passes <= 20);
    assert.deepEqual(pendingIds(s.db), [s.ids[0]!]);
  });
});

describe('a real outage (every request fails)', () => {
  for (const [what, faults] of [
    ['the central down (health too)', { down: true }],
    ['every POST answered 500 while the health endpoint says OK', { forceStatus: 500 }],
  ] as const) {
    test(`${what}: nothing is quarantined, and everything is delivered once it ends`, async () => {
      const c = await central();
      const s = store(c, 300, 0, { CircuitBreaker: { BreakSeconds: 0.1, MaxBreakSeconds: 0.2 }, MaxRetryAttempts: 1 });
      c.setFaults(faults);
      for (let n = 1; n <= 6; n++) {
        const r = await s.sync();
        assert.equal(r.json['delivered'].transaction, 0);
        assert.ok([75].includes(r.json['exitCode'] as number), `pass ${n}: exit ${r.json['exitCode']} (${r.json['error']})`);
      }
      assert.deepEqual(quarantined(s.db), [], 'no strike, no quarantine');
      c.resetFaults();
      await new Promise((resolve) => setTimeout(resolve, 250)); // past the 0.1–0.2 s break
      for (let n = 1; n <= 5 && pendingIds(s.db).length > 0; n++) await s.sync();
      assert.deepEqual(pendingIds(s.db), []);
      assert.equal(new Set(c.receivedIds()).size, 300);
    });
  }
});
