// Reconcile compares money, exactly. The reference central sums every decimal it is sent to the
// last digit (.NET's 28 fraction digits and beyond, whole parts past a double's 15 digits), and a
// money difference between the two sides is a mismatch even when every id matches — the case the
// id listings alone answered "match", exit 0, with moneyDifference "-2".

import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { CentralStore } from '../examples/central/store.js';
import { openDatabase } from '../src/store/db.js';
import { centralForFile, post as postEvents, transactionEvent } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { efTime } from './helpers/pos.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('reconcile-money');
after(tmp.cleanup);
const central = centralForFile({ seed: 28 });

const DAY = Date.parse('2026-03-10T00:00:00Z');
const RANGE = 'from=2026-03-10T00:00:00.000Z&to=2026-03-11T00:00:00.000Z';

/** Exact sum of decimal texts, by hand: every amount scaled to 60 fraction digits as a BigInt. */
function exactSum(amounts: readonly string[]): string {
  const S = 60;
  let sum = 0n;
  for (const a of amounts) {
    const negative = a.startsWith('-');
    const [whole, fraction = ''] = a.replace(/^[-+]/, '').split('.');
    const v = BigInt(`${whole}${fraction.padEnd(S, '0')}`);
    sum += negative ? -v : v;
  }
  const negative = sum < 0n;
  const digits = (negative ? -sum : sum).toString().padStart(S + 1, '0');
  const fraction = digits.slice(-S).replace(/0+$/, '');
  return `${negative ? '-' : ''}${digits.slice(0, -S)}${fraction ? `.${fraction}` : ''}`;
}

async function post(store: string, events: Array<Record<string, unknown>>): Promise<void> {
  const answer = await postEvents(central, events, { 'x-store-id': store, 'idempotency-key': `money-${String(events[0]!['id'])}` });
  assert.equal(answer.status, 200, answer.text);
}

async function summary(store: string, extra = ''): Promise<{ count: number; totalAmount: string; rows?: Array<{ id: string; amount: string }> }> {
  const r = await fetch(`${central.url}/api/inventory/summary?store=${store}&entity=transaction&${RANGE}${extra}`);
  assert.equal(r.status, 200);
  return (await r.json()) as { count: number; totalAmount: string };
}

/** A till whose delivered-to-be rows have the given amounts. */
function till(store: string, amounts: readonly string[]) {
  const cwd = tmp.make();
  const db = path.join(cwd, 'pos.db');
  openDatabase({ path: db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
  const conn = new Sqlite(db);
  const insert = conn.prepare(
    `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
       "TransactionDate", "CreatedAt", "Synced", "SyncAttempts") VALUES (?, ?, ?, 'PROD001', 'Sale', 1, ?, ?, ?, ?, 0, 0)`,
  );
  conn.transaction(() => {
    amounts.forEach((amount, i) => {
      const at = DAY + 60_000 * (i + 1);
      insert.run(`3C3C${String(i).padStart(4, '0')}-0000-4000-8000-${store.slice(-4).padStart(12, '0')}`, `TX-${i}`, store, amount, amount, efTime(at), efTime(at));
    });
  })();
  conn.close();
  const env = { Sync__TillId: 'TILL-M', Sync__StoreId: store, Sync__EnableInventorySync: 'false' };
  return { cli: (url: string, args: string[]) => runCli(['--db', db, '--central-url', url, ...args], { cwd, env, timeoutMs: 60_000 }) };
}

describe('the reference central sums money exactly', () => {
  test('28-digit decimals, more fraction digits than .NET has, and whole parts past 35 digits: every digit kept', async () => {
    const amounts = [
      '0.1234567890123456789012345678',
      '79228162514264337593543950335',
      '-79228162514264337593543950334.9999999999999999999999999999',
      '0.0000000000000000000000000001',
      '7922816251426433759354395033.5',
      '999999999999999999.9999999999',
      '999999999999999999.9999999999',
      '0.' + '0'.repeat(39) + '1', // 40 fraction digits: summed apart, exactly
      '123456789012345678901234567890123456789.5', // 39 whole digits: summed apart, exactly
      '-12.50',
      '3',
    ];
    const events = amounts.map((totalAmount, i) => transactionEvent({ storeId: 'STORE028', occurredAt: new Date(DAY + 1000 * (i + 1)).toISOString(), totalAmount, unitPrice: totalAmount, tillId: 'T' }));
    await post('STORE028', events.slice(0, 6));
    await post('STORE028', events.slice(6));
    const all = await summary('STORE028');
    assert.equal(all.count, amounts.length);
    assert.equal(all.totalAmount, exactSum(amounts));
    // Parts add up to the whole, exactly, whichever way the range is cut (narrowing relies on it).
    const left = await fetch(`${central.url}/api/inventory/summary?store=STORE028&entity=transaction&from=2026-03-10T00:00:00.000Z&to=2026-03-10T00:00:05.500Z`);
    const leftTotal = ((await left.json()) as { totalAmount: string }).totalAmount;
    assert.equal(leftTotal, exactSum(amounts.slice(0, 5)));
    const listed = await summary('STORE028', '&list=ids');
    assert.deepEqual(listed.rows!.map((r) => r.amount), amounts, 'listed as sent');
  });

  test('a 28-digit fraction sums exactly over many rows (what binary floating point cannot)', async () => {
    const amounts = Array.from({ length: 1000 }, (_, i) => `${i}.${String(i).padStart(4, '0')}${'1'.repeat(24)}`);
    const events = amounts.map((totalAmount, i) => transactionEvent({ storeId: 'STORE029', occurredAt: new Date(DAY + 10 * (i + 1)).toISOString(), totalAmount, unitPrice: totalAmount }));
    for (let i = 0; i < events.length; i += 250) await post('STORE029', events.slice(i, i + 250));
    const all = await summary('STORE029');
    assert.equal(all.totalAmount, exactSum(amounts));
    assert.ok(all.totalAmount.replace(/\D/g, '').length > 30, all.totalAmount);
  });
});

describe('reconcile compares money', () => {
  test('sales of decimal(18,10)\'s largest amount, past a double\'s digits: the till and the central agree to the last digit', async () => {
    const amounts = [...Array(40).fill('999999999999999999.9999999999'), '0.0000000001', '-0.0000000003', '12.34'];
    const t = till('STORE030', amounts);
    const synced = await t.cli(central.url, ['sync']);
    assert.equal(synced.code, 0, synced.stderr);
    const r = await t.cli(central.url, ['--json', 'reconcile', '--date', '2026-03-10']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const tx = (JSON.parse(r.stdout) as { entities: Array<{ entity: string; here: { totalAmount: string }; central: { totalAmount: string }; moneyDifference: string }> }).entities[0]!;
    assert.equal(tx.here.totalAmount, exactSum(amounts));
    assert.equal(tx.central.totalAmount, exactSum(amounts));
    assert.equal(tx.moneyDifference, '0');
  });

  test('totals 2 apart with every id and amount listed alike: a mismatch, exit 65, the unexplained difference named', async (t) => {
    const till_ = till('STORE031', ['10.00', '20.50', '5.25']);
    assert.equal((await till_.cli(central.url, ['sync'])).code, 0);
    // A central whose summary total is 2 more than its own rows add up to (as an inexact sum would
    // make it): a real HTTP server in front of the reference central that changes only that figure.
    const target = new URL(central.url);
    const skewed = http.createServer((req, res) => {
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          let body = Buffer.concat(chunks).toString();
          if (req.url?.includes('/summary') && !req.url.includes('list=ids') && answer.statusCode === 200) {
            const json = JSON.parse(body) as { totalAmount: string };
            json.totalAmount = exactSum([json.totalAmount, '2']);
            body = JSON.stringify(json);
          }
          res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
          res.end(body);
        });
      });
      req.pipe(up);
    });
    await new Promise<void>((resolve) => skewed.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => skewed.close(() => resolve())));
    const url = `http://127.0.0.1:${(skewed.address() as { port: number }).port}`;

    const r = await till_.cli(url, ['--json', 'reconcile', '--date', '2026-03-10']);
    assert.equal(r.code, 65, r.stdout + r.stderr);
    const tx = (JSON.parse(r.stdout) as { entities: Array<Record<string, unknown>> }).entities.find((e) => e['entity'] === 'transaction')!;
    assert.equal(tx['status'], 'mismatch');
    assert.equal(tx['moneyDifference'], '-2');
    assert.equal(tx['unexplainedDifference'], '-2');
    assert.deepEqual([tx['missingAtCentral'], tx['extraAtCentral'], tx['amountDiffers']], [[], [], []]);
    const human = await till_.cli(url, ['reconcile', '--date', '2026-03-10']);
    assert.equal(human.code, 65);
    assert.match(human.stdout, /MISMATCH: here 3 rows, total 35\.75; central 3 rows, total 37\.75; difference -2/);
    assert.match(human.stdout, /the totals differ by -2 more than the rows listed explain/);
    // The same till against the reference central itself: a match.
    assert.equal((await till_.cli(central.url, ['reconcile', '--date', '2026-03-10'])).code, 0);
  });
});

describe('a central file from before', () => {
  test('its summary index of the older shape (no till, money in two parts) is rebuilt from the stored batches on start', () => {
    const file = path.join(tmp.make(), 'central.db');
    const amounts = ['0.1234567890123456789012345678', '999999999999999999.9999999999', '-2.5'];
    const store = new CentralStore(file);
    store.record({
      receivedAt: new Date().toISOString(), format: 'batch', idempotencyKey: 'old-1', storeHeader: 'STORE040', count: amounts.length, repeatedIds: [],
      eventsJson: JSON.stringify(amounts.map((totalAmount, i) => transactionEvent({ storeId: 'STORE040', occurredAt: new Date(DAY + 1000 * (i + 1)).toISOString(), totalAmount, unitPrice: totalAmount }))),
    });
    store.close();
    // As the reference central of the previous release left it: its index table and meta, seq only.
    const old = new Sqlite(file);
    old.exec(`DROP TABLE summary_rows; DELETE FROM summary_meta;
      CREATE TABLE summary_rows (id TEXT NOT NULL, store TEXT NOT NULL, entity TEXT NOT NULL, at INTEGER NOT NULL, amount TEXT NOT NULL, whole INTEGER NOT NULL, frac INTEGER NOT NULL,
        h0 INTEGER NOT NULL, h1 INTEGER NOT NULL, h2 INTEGER NOT NULL, h3 INTEGER NOT NULL, h4 INTEGER NOT NULL, h5 INTEGER NOT NULL, h6 INTEGER NOT NULL, h7 INTEGER NOT NULL);
      CREATE INDEX summary_rows_range ON summary_rows (store, entity, at);
      INSERT INTO summary_meta (k, v) VALUES ('seq', 1);`);
    old.close();
    const reopened = new CentralStore(file);
    try {
      const answer = reopened.summary('STORE040', null, 'transaction', DAY, DAY + 86_400_000, false, 500);
      assert.notEqual(answer, 'tooMany');
      const { count, totalAmount } = answer as { count: number; totalAmount: string };
      assert.deepEqual({ count, totalAmount }, { count: 3, totalAmount: exactSum(amounts) });
    } finally {
      reopened.close();
    }
  });
});
