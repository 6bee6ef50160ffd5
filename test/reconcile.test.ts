// `pos-sync reconcile` end to end: the real binary, a real SQLite file written as the POS writes
// it, delivered by a real `pos-sync sync` to the reference central, which is then made to lose,
// invent or change rows behind pos-sync's back.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { startCentral } from '../examples/central/server.js';
import { openDatabase } from '../src/store/db.js';
import { centralForFile, transactionEvent, useCentral } from './helpers/central.js';
import { lines, runCli } from './helpers/cli.js';
import { query } from './helpers/db.js';
import { efTime } from './helpers/pos.js';
import { tmpDirs } from './helpers/tmp.js';
import { bulkId, requestBound, writeBulkSales } from './helpers/bulk-sales.js';

const tmp = tmpDirs('reconcile');
after(tmp.cleanup);
const central = centralForFile({ seed: 14 });

interface Report {
  entity: string;
  status: string;
  here: { count: number; totalAmount: string } | null;
  central: { count: number; totalAmount: string } | null;
  moneyDifference: string | null;
  missingAtCentral: Array<{ id: string; amount: string | null }>;
  extraAtCentral: Array<{ id: string; amount: string | null }>;
  amountDiffers: Array<{ id: string; here: string | null; central: string | null }>;
  atCentralNotMarkedHere: Array<{ id: string }>;
  pending: number;
  deadLettered: number;
  unreadable: Array<{ id: string; why: string }>;
}

interface Result {
  command: string;
  exitCode: number;
  window: { from: string; to: string; timeZone: string };
  entities: Report[];
  resent: Array<{ entity: string; id: string }>;
  requests: number;
}

function guid(n: number, prefix = '00000000'): string {
  return `${prefix}-0000-4000-8000-${n.toString(16).toUpperCase().padStart(12, '0')}`;
}

const TILL = 'TILL-1';

/** A till: a pos-sync database with rows at chosen times, and the CLI pointed at the central. */
function till(extraEnv: Record<string, string> = {}) {
  // The machine's zone is the default (man page, reconcile): pinned here so the days are UTC's.
  const env = { TZ: 'UTC', Sync__TillId: TILL, ...extraEnv };
  const cwd = tmp.make();
  const db = path.join(cwd, 'pos.db');
  openDatabase({ path: db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
  let n = 0;
  const insertRows = (rows: Array<{ at: number; amount?: string; entity?: 'transaction' | 'inventory'; synced?: boolean; dead?: boolean }>): string[] => {
    const conn = new Sqlite(db);
    const tx = conn.prepare(
      `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
         "TransactionDate", "CreatedAt", "Synced", "SyncAttempts") VALUES (?, ?, 'STORE001', 'PROD001', 'Sale', 1, ?, ?, ?, ?, ?, 0)`,
    );
    const inv = conn.prepare(
      `INSERT INTO "InventoryUpdates" ("Id", "StoreId", "ProductId", "PreviousStock", "NewStock", "UpdateType", "UpdateDate", "CreatedAt", "Synced",
         "SyncAttempts") VALUES (?, 'STORE001', 'PROD001', 50, 48, 'Sale', ?, ?, ?, 0)`,
    );
    // Dead letters are pos-sync's own bookkeeping (PosSync_RowState).
    const dead_ = conn.prepare(`INSERT INTO "PosSync_RowState" ("Entity", "Id", "Rejections", "DeadLetteredAt") VALUES (?, ?, 3, ?)`);
    const ids: string[] = [];
    conn.transaction(() => {
      for (const r of rows) {
        const id = guid(++n, r.entity === 'inventory' ? '11111111' : 'DDDDDDDD');
        const dead = r.dead ? efTime(r.at) : null;
        if (r.entity === 'inventory') inv.run(id, efTime(r.at), efTime(r.at), r.synced ? 1 : 0);
        else tx.run(id, `TX-${n}`, r.amount ?? '12.50', r.amount ?? '12.50', efTime(r.at), efTime(r.at), r.synced ? 1 : 0);
        if (dead !== null) dead_.run(r.entity === 'inventory' ? 'inventory' : 'transaction', id, dead);
        ids.push(id);
      }
    })();
    conn.close();
    return ids;
  };
  const cli = (args: string[], url = central.url) => runCli(['--db', db, '--central-url', url, ...args], { cwd, env, timeoutMs: 60_000 });
  return { cwd, db, insertRows, cli };
}

const DAY = Date.parse('2026-03-10T00:00:00Z');
const spread = (count: number, from = DAY, span = 86_400_000): number[] => Array.from({ length: count }, (_, i) => from + Math.floor(((i + 0.5) * span) / count));

async function reconcile(t: ReturnType<typeof till>, ...args: string[]): Promise<{ code: number | null; json: Result; stderr: string }> {
  const r = await t.cli(['--json', 'reconcile', ...args]);
  assert.ok(r.stdout.endsWith('\n'), `one JSON document: ${r.stdout}\n${r.stderr}`);
  return { code: r.code, json: JSON.parse(r.stdout) as Result, stderr: r.stderr };
}

function entity(result: Result, name: string): Report {
  return result.entities.find((e) => e.entity === name)!;
}

async function deliveredDay(tx = 40, inv = 10): Promise<{ t: ReturnType<typeof till>; ids: string[]; invIds: string[] }> {
  const t = till();
  const ids = t.insertRows(spread(tx).map((at, i) => ({ at, amount: `${(i % 7) + 1}.${String(i % 100).padStart(2, '0')}` })));
  const invIds = t.insertRows(spread(inv).map((at) => ({ at, entity: 'inventory' as const })));
  const synced = await t.cli(['sync']);
  assert.equal(synced.code, 0, synced.stderr);
  return { t, ids, invIds };
}

describe('reconcile against the reference central', () => {
  test('a matching day: one line per entity, exit 0, one request per entity', async () => {
    const { t } = await deliveredDay();
    const human = await t.cli(['reconcile', '--date', '2026-03-10']);
    assert.equal(human.code, 0, human.stderr);
    const out = lines(human.stdout);
    assert.equal(out.length, 2, human.stdout);
    assert.match(out[0]!, /^transactions 2026-03-10 00:00 – 2026-03-11 00:00 UTC: match, 40 rows, total \d+(\.\d+)?$/);
    assert.match(out[1]!, /^inventory updates .*: match, 10 rows, total -20$/);
    const before = central.stats().summaryRequests;
    const r = await reconcile(t, '--date', '2026-03-10');
    assert.equal(r.code, 0);
    assert.equal(r.json.requests, 2);
    assert.equal(central.stats().summaryRequests - before, 2);
    assert.equal(entity(r.json, 'transaction').here!.totalAmount, entity(r.json, 'transaction').central!.totalAmount);
  });

  test('rows the central lost are found by id, re-sent with --resend, then everything matches', async () => {
    const { t, ids } = await deliveredDay();
    const lost = [ids[3]!, ids[31]!];
    assert.deepEqual(central.forget(lost).sort(), [...lost].sort());
    const r = await reconcile(t, '--date', '2026-03-10');
    assert.equal(r.code, 65, r.stderr);
    const tx = entity(r.json, 'transaction');
    assert.equal(tx.status, 'mismatch');
    assert.deepEqual(tx.missingAtCentral.map((x) => x.id).sort(), [...lost].sort());
    assert.deepEqual(tx.extraAtCentral, []);
    assert.equal(entity(r.json, 'inventory').status, 'match');
    assert.equal(query<{ n: number }>(t.db, 'SELECT COUNT(*) AS n FROM "PosTransactions" WHERE "Synced" = 0')[0]!.n, 0, 'read-only without --resend');

    const resend = await reconcile(t, '--date', '2026-03-10', '--resend');
    assert.equal(resend.code, 65);
    assert.deepEqual(resend.json.resent.map((x) => x.id).sort(), [...lost].sort());
    for (const id of lost) assert.match(resend.stderr, new RegExp(`${id}: put back in the queue`));
    assert.deepEqual(query<{ Id: string }>(t.db, 'SELECT "Id" FROM "PosTransactions" WHERE "Synced" = 0 ORDER BY "Id"').map((x) => x.Id), [...lost].sort());

    const synced = await t.cli(['sync']);
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, /^delivered 2 /);
    const again = await reconcile(t, '--date', '2026-03-10');
    assert.equal(again.code, 0, JSON.stringify(again.json));
  });

  test('ids at the central that this till never delivered are listed as extra', async () => {
    const { t } = await deliveredDay(20, 0);
    const extra = transactionEvent({ occurredAt: '2026-03-10T12:34:56.789Z', totalAmount: '7.77', tillId: TILL });
    const posted = await fetch(central.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-store-id': 'STORE001', 'idempotency-key': 'extra-1' },
      body: JSON.stringify([extra]),
    });
    assert.equal(posted.status, 200);
    const r = await reconcile(t, '--date', '2026-03-10');
    assert.equal(r.code, 65);
    const tx = entity(r.json, 'transaction');
    assert.deepEqual(tx.extraAtCentral, [{ id: extra['id'], amount: '7.77', till: TILL }]);
    assert.deepEqual(tx.missingAtCentral, []);
    assert.equal(tx.moneyDifference, '-7.77');
    const human = await t.cli(['reconcile', '--date', '2026-03-10']);
    assert.equal(human.code, 65);
    assert.match(human.stdout, new RegExp(`at the central, not delivered from here \\(1\\):\\n {4}${String(extra['id'])} 7\\.77`));
  });

  test('a money difference with equal counts: the row and both amounts', async () => {
    const { t, ids } = await deliveredDay(30, 0);
    const here = query<{ TotalAmount: string }>(t.db, 'SELECT "TotalAmount" FROM "PosTransactions" WHERE "Id" = ?', ids[17])[0]!.TotalAmount;
    assert.ok(central.alterAmount(ids[17]!, '1000.00'));
    const r = await reconcile(t, '--date', '2026-03-10');
    assert.equal(r.code, 65);
    const tx = entity(r.json, 'transaction');
    assert.equal(tx.here!.count, tx.central!.count);
    assert.deepEqual(tx.amountDiffers, [{ id: ids[17], here, central: '1000.00' }]);
    assert.deepEqual(tx.missingAtCentral, []);
    assert.deepEqual(tx.extraAtCentral, []);
    const diff = (BigInt(Math.round(Number(here) * 100)) - 100000n).toString();
    assert.equal(tx.moneyDifference, `${diff.slice(0, -2)}.${diff.slice(-2)}`.replace(/\.?0+$/, ''));
  });

  test('a delivered row whose amount cannot be read is listed, never skipped', async () => {
    const { t, ids } = await deliveredDay(12, 0);
    const conn = new Sqlite(t.db);
    conn.prepare('UPDATE "PosTransactions" SET "TotalAmount" = \'12,50\' WHERE "Id" = ?').run(ids[5]); // a decimal comma, as a misconfigured POS might write
    conn.close();
    const r = await reconcile(t, '--date', '2026-03-10');
    assert.equal(r.code, 65);
    const tx = entity(r.json, 'transaction');
    assert.deepEqual(tx.unreadable, [{ entity: 'transaction', id: ids[5], why: 'TotalAmount "12,50" is not decimal text' }]);
    assert.equal(tx.here!.count, 12, 'counted and hashed: the row exists');
    assert.deepEqual(tx.missingAtCentral, []);
    const human = await t.cli(['reconcile', '--date', '2026-03-10']);
    assert.match(human.stdout, new RegExp(`unreadable amount here \\(1\\):\\n {4}${ids[5]}: TotalAmount "12,50" is not decimal text`));
  });

  test('pending and dead-lettered rows are reported beside, not as missing', async () => {
    const { t } = await deliveredDay(10, 0);
    t.insertRows([{ at: DAY + 3_600_000 }, { at: DAY + 7_200_000 }, { at: DAY + 9_000_000, dead: true }]);
    const r = await reconcile(t, '--date', '2026-03-10');
    assert.equal(r.code, 0, JSON.stringify(r.json));
    const tx = entity(r.json, 'transaction');
    assert.equal(tx.pending, 2);
    assert.equal(tx.deadLettered, 1);
    assert.deepEqual(tx.missingAtCentral, []);
    const human = await t.cli(['reconcile', '--date', '2026-03-10']);
    assert.match(human.stdout, /match, 10 rows, total [\d.]+ \(2 pending, 1 dead-lettered here, not counted\)/);
  });

  test('Europe/Berlin on the last Sunday of October: the day is 25 hours, its edges exact to the millisecond', async () => {
    const t = till({ Sync__TimeZone: 'Europe/Berlin' });
    const edges = ['2026-10-24T21:59:59.999Z', '2026-10-24T22:00:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T22:59:59.999Z', '2026-10-25T23:00:00.000Z'];
    const ids = t.insertRows(edges.map((e) => ({ at: Date.parse(e) })));
    assert.equal((await t.cli(['sync'])).code, 0);
    const r = await reconcile(t, '--date', '2026-10-25');
    assert.equal(r.code, 0);
    assert.deepEqual(r.json.window, { from: '2026-10-24T22:00:00.000Z', to: '2026-10-25T23:00:00.000Z', timeZone: 'Europe/Berlin' });
    assert.equal(entity(r.json, 'transaction').here!.count, 4, 'both 02:30s (CEST and CET) and both edges inside');
    // Through the admin route this time: the day's last millisecond, and the next day's first.
    const forgot = await fetch(`${central.url}/_admin/forget`, { method: 'POST', body: JSON.stringify({ ids: [ids[4], ids[5]] }) });
    assert.deepEqual(await forgot.json(), { forgotten: [ids[4], ids[5]] });
    const lost = await reconcile(t, '--date', '2026-10-25');
    assert.equal(lost.code, 65);
    assert.deepEqual(entity(lost.json, 'transaction').missingAtCentral.map((x) => x.id), [ids[4]]);
    const next = await reconcile(t, '--date', '2026-10-26');
    assert.deepEqual(entity(next.json, 'transaction').missingAtCentral.map((x) => x.id), [ids[5]]);
  });
});

describe('the last reconciliation in health and metrics', () => {
  test('health checks it only when asked; the metrics file shows its result', async () => {
    const { t, ids } = await deliveredDay(10, 0);
    const health = (env: Record<string, string>) => runCli(['--db', t.db, '--central-url', central.url, '--json', 'health'], { cwd: t.cwd, env });
    const checks = async (env: Record<string, string>) => (JSON.parse((await health(env)).stdout) as { checks: Array<{ name: string; status: string; message: string }> }).checks;
    const on = { Sync__Health__ReconcileMaxAgeHours: '24' };
    assert.equal((await checks({})).find((c) => c.name === 'reconcile'), undefined, 'off by default');
    assert.equal((await checks(on)).find((c) => c.name === 'reconcile')!.status, 'WARNING', 'none recorded yet');

    assert.equal((await reconcile(t, '--date', '2026-03-10')).code, 0);
    assert.equal((await checks(on)).find((c) => c.name === 'reconcile')!.status, 'OK');

    central.forget([ids[2]!]);
    assert.equal((await reconcile(t, '--date', '2026-03-10')).code, 65);
    const critical = (await checks(on)).find((c) => c.name === 'reconcile')!;
    assert.equal(critical.status, 'CRITICAL');
    assert.match(critical.message, /^1 rows differ from the central/);
    const h = await health(on);
    assert.equal(h.code, 2);

    const prom = path.join(t.cwd, 'pos-sync.prom');
    assert.equal((await t.cli(['sync', '--metrics-file', prom])).code, 0);
    const text = fs.readFileSync(prom, 'utf8');
    assert.match(text, /^pos_sync_last_reconcile_result\{result="mismatch"\} 1$/m);
    assert.match(text, /^pos_sync_last_reconcile_result\{result="match"\} 0$/m);
    assert.match(text, /^pos_sync_last_reconcile_differing_rows\{kind="missing_at_central"\} 1$/m);
    assert.match(text, /^pos_sync_last_reconcile_timestamp_seconds \d+(\.\d+)?$/m);

    central.setFaults({ down: true });
    assert.equal((await reconcile(t, '--date', '2026-03-10').catch(() => ({ code: 75 }))).code, 75);
    central.setFaults({ down: false });
    const failed = (await checks(on)).find((c) => c.name === 'reconcile')!;
    assert.equal(failed.status, 'WARNING');
    assert.match(failed.message, /could not finish/);
  });
});

describe('reconcile failure modes', () => {
  test('a central without the summary endpoint: one line, exit 78', async (t) => {
    const plain = await useCentral(t, { summary: false });
    const s = till();
    const r = await s.cli(['reconcile', '--date', '2026-03-10'], plain.url);
    assert.equal(r.code, 78);
    const err = lines(r.stderr);
    assert.equal(err.length, 1, r.stderr);
    assert.match(err[0]!, /^pos-sync: the central does not offer reconciliation: GET http:\/\/127\.0\.0\.1:\d+\/api\/inventory\/summary answered HTTP 404/);
  });

  test('a central that is down: exit 75; one that refuses the token: 77', async () => {
    const s = till();
    const closed = await startCentral();
    const url = closed.url;
    await closed.close();
    const down = await s.cli(['reconcile', '--date', '2026-03-10'], url);
    assert.equal(down.code, 75, down.stderr);
    assert.match(down.stderr, /^pos-sync: cannot reach/m);
    central.setFaults({ down: true });
    assert.equal((await s.cli(['reconcile', '--date', '2026-03-10'])).code, 75);
    central.setFaults({ down: false, requireToken: 'right' });
    assert.equal((await s.cli(['reconcile', '--date', '2026-03-10'])).code, 77);
  });

  test('a summary answer that is not what the contract says: one line, exit 75; a hung central: 75 within the budget', async (t) => {
    const answers: Array<{ status: number; body: string }> = [
      { status: 200, body: '<html><title>Gateway page</title></html>' },
      { status: 200, body: '{"count": -1, "totalAmount": "1", "digest": "00"}' },
      { status: 200, body: '{"count": 1, "totalAmount": 1.5, "digest": "' + '0'.repeat(64) + '"}' },
      { status: 200, body: '{"count": 1, "totalAmount": "1.5", "digest": "xyz"}' },
      { status: 503, body: 'busy' },
    ];
    let next = 0;
    let hang = false;
    const server = http.createServer((req, res) => {
      if (hang) return; // never answered
      const a = answers[next++ % answers.length]!;
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const s = till();
    s.insertRows([{ at: DAY + 1000, synced: true }]);
    for (const expected of [/not JSON: Gateway page/, /"count" is not a whole number/, /"totalAmount" is not decimal text/, /"digest" is not 64 hex digits/, /HTTP 503/]) {
      const r = await s.cli(['reconcile', '--date', '2026-03-10'], url);
      assert.equal(r.code, 75, r.stderr);
      const err = lines(r.stderr);
      assert.equal(err.length, 1, r.stderr);
      assert.match(err[0]!, expected);
    }
    hang = true;
    const started = Date.now();
    const hung = await s.cli(['reconcile', '--date', '2026-03-10', '--max-run-seconds', '2'], url);
    assert.equal(hung.code, 75, hung.stderr);
    assert.match(hung.stderr, /no answer from .* within \d+ ms/);
    assert.ok(Date.now() - started < 6000, `ended ${Date.now() - started} ms after it started`);
  });

  test('a connection the central closes under a request is asked once more; closed twice, exit 75', async (t) => {
    // In front of the reference central: the first `drops` summary requests lose their connection
    // (as a kept-alive connection does when the central's idle timeout ends it just then).
    let drops = 1;
    const target = new URL(central.url);
    const server = http.createServer((req, res) => {
      if (drops > 0) {
        drops--;
        req.socket.destroy();
        return;
      }
      req.pipe(http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const { t: s } = await deliveredDay(5, 0);
    const once = await s.cli(['--json', 'reconcile', '--date', '2026-03-10'], url);
    assert.equal(once.code, 0, once.stderr);
    assert.equal((JSON.parse(once.stdout) as Result).requests, 2, 'a request asked once more counts once');
    drops = 2;
    const twice = await s.cli(['reconcile', '--date', '2026-03-10'], url);
    assert.equal(twice.code, 75, twice.stderr);
    assert.match(twice.stderr, /^pos-sync: cannot reach .*summary/);
  });

  test('a database that is not there: exit 74, nothing created', async () => {
    const dir = tmp.make();
    const missingDb = path.join(dir, 'nope.db');
    const r = await runCli(['--db', missingDb, '--central-url', central.url, 'reconcile', '--date', '2026-03-10'], { cwd: dir });
    assert.equal(r.code, 74, r.stderr);
    assert.equal(fs.existsSync(missingDb), false);
  });

  test('bad dates and options: exit 64 before anything is opened', async () => {
    const s = till();
    for (const args of [['--date', '2026-02-30'], ['--date', '10/03/2026'], ['--from', '2026-03-01'], ['--from', '2026-03-02', '--to', '2026-03-01'], ['--date', '2026-03-01', '--from', '2026-03-01', '--to', '2026-03-02'], ['--max-run-seconds', '0']]) {
      const r = await s.cli(['reconcile', ...args]);
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
    }
    const bad = await runCli(['--db', s.db, 'reconcile'], { cwd: s.cwd, env: { Sync__TimeZone: 'Mars/Olympus' } });
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /Sync\.TimeZone/);
  });
});

describe('reconcile at scale', () => {
  test('a month of 600,000 rows with 3 missing at the central: found within the documented number of requests', async (t) => {
    const dir = tmp.make();
    const db = path.join(dir, 'pos.db');
    const centralDb = path.join(dir, 'central.db');
    const N = 600_000;
    const missing = new Set([4_321, 299_999, 555_555]);
    const started = performance.now();
    writeBulkSales({ db, centralDb, from: Date.parse('2026-01-01T00:00:00Z'), spanMs: 31 * 86_400_000, count: N, missing, prefix: 'AAAAAAAA' });
    const loaded = performance.now();
    const big = await useCentral(t, { dbPath: centralDb });
    const cwd = tmp.make();
    const r = await runCli(['--db', db, '--central-url', big.url, '--json', 'reconcile', '--from', '2026-01-01', '--to', '2026-02-01', '--max-run-seconds', '300'], { cwd, timeoutMs: 300_000 });
    const done = performance.now();
    assert.equal(r.code, 65, r.stderr);
    const result = JSON.parse(r.stdout) as Result;
    const tx = entity(result, 'transaction');
    assert.deepEqual(tx.missingAtCentral.map((x) => x.id).sort(), [...missing].map((i) => bulkId('AAAAAAAA', i)).sort());
    assert.deepEqual(tx.extraAtCentral, []);
    assert.equal(tx.here!.count, N);
    assert.equal(tx.central!.count, N - 3);
    const bound = requestBound(2, 3, 31, Math.ceil(N / (31 * 24)));
    assert.ok(result.requests <= bound, `${result.requests} requests, documented bound ${bound}`);
    assert.equal(big.stats().summaryRequests, result.requests);
    t.diagnostic(`600k rows: data ${Math.round(loaded - started)} ms, reconcile ${Math.round(done - loaded)} ms (central start and first indexing included), ${result.requests} requests (bound ${bound})`);
  });
});
