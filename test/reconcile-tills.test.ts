// Several tills of one store, each with its own database, delivering through the real bin/pos-sync
// to the one reference central: `reconcile` compares each till's rows with the central's rows of
// that till (Sync.TillId, carried in every event), so the other tills' sales are not "extra" and a
// row one till lost is named by that till alone. Rows the central got before events carried a till
// are documented (README "Reconciliation"): they count for every till of the store, and a till
// that did not deliver them lists them apart, not as a difference.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { openDatabase } from '../src/store/db.js';
import { centralForFile, post, transactionEvent } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { efTime } from './helpers/pos.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('reconcile-tills');
after(tmp.cleanup);
const central = centralForFile({ seed: 21 });

const DAY = Date.parse('2026-03-10T00:00:00Z');

interface Listed {
  id: string;
  amount: string | null;
  till?: string | null;
}

interface Report {
  entity: string;
  status: string;
  here: { count: number; totalAmount: string } | null;
  central: { count: number; totalAmount: string } | null;
  moneyDifference: string | null;
  unexplainedDifference: string | null;
  missingAtCentral: Listed[];
  extraAtCentral: Listed[];
  atCentralWithoutTill: Listed[];
}

let serial = 0;

/** A till of `store`: its own database with `count` sales on DAY, Synced = 0 unless `synced`. */
function till(store: string, tillId: string, count: number, synced = false) {
  const cwd = tmp.make();
  const db = path.join(cwd, 'pos.db');
  openDatabase({ path: db, create: true, autoMigrate: true, busyTimeoutMs: 1000 }).close();
  const conn = new Sqlite(db);
  const insert = conn.prepare(
    `INSERT INTO "PosTransactions" ("Id", "TransactionId", "StoreId", "ProductId", "TransactionType", "Quantity", "UnitPrice", "TotalAmount",
       "TransactionDate", "CreatedAt", "Synced", "SyncAttempts") VALUES (?, ?, ?, 'PROD001', 'Sale', 1, ?, ?, ?, ?, ?, 0)`,
  );
  const rows: Array<{ id: string; amount: string; at: number }> = [];
  conn.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `7111${String(++serial).padStart(4, '0')}-0000-4000-8000-${tillId.replace(/[^0-9A-F]/gi, '').padStart(12, '0').slice(-12)}`;
      const amount = `${(serial % 9) + 1}.${String(serial % 100).padStart(2, '0')}`;
      const at = DAY + Math.floor(((i + 0.5) * 86_400_000) / count);
      insert.run(id, `TX-${serial}`, store, amount, amount, efTime(at), efTime(at), synced ? 1 : 0);
      rows.push({ id, amount, at });
    }
  })();
  conn.close();
  const env = { Sync__TillId: tillId, Sync__StoreId: store, Sync__EnableInventorySync: 'false' };
  const cli = (args: string[]) => runCli(['--db', db, '--central-url', central.url, ...args], { cwd, env, timeoutMs: 60_000 });
  const reconcile = async (): Promise<{ code: number | null; tx: Report; stdout: string; stderr: string }> => {
    const r = await cli(['--json', 'reconcile', '--date', '2026-03-10']);
    const json = JSON.parse(r.stdout) as { entities: Report[] };
    return { code: r.code, tx: json.entities.find((e) => e.entity === 'transaction')!, stdout: r.stdout, stderr: r.stderr };
  };
  return { db, tillId, rows, cli, reconcile };
}

const total = (amounts: string[]): string => {
  const cents = amounts.reduce((a, b) => a + BigInt(b.replace('.', '')), 0n).toString().padStart(3, '0');
  return `${cents.slice(0, -2)}.${cents.slice(-2)}`.replace(/\.?0+$/, '');
};

/** Posts events as a pos-sync without tillId did (the field absent). */
async function postUntagged(store: string, events: Array<Record<string, unknown>>): Promise<void> {
  const answer = await post(central, events, { 'x-store-id': store, 'idempotency-key': `untagged-${String(events[0]!['id'])}` });
  assert.equal(answer.status, 200, answer.text);
}

describe('per-till reconcile', () => {
  test('three tills of one store and one of another: each matches its own rows; a row lost at the central is named by its till alone', async () => {
    const tills = [till('STORE001', 'TILL-A', 30), till('STORE001', 'TILL-B', 20), till('STORE001', 'TILL-C', 25), till('STORE002', 'TILL-A', 10)];
    for (const t of tills) {
      const synced = await t.cli(['sync']);
      assert.equal(synced.code, 0, synced.stderr);
    }
    const stored = central.events().map((e) => e.event as Record<string, unknown>);
    assert.equal(stored.length, 85);
    for (const t of tills) {
      const mine = new Set(t.rows.map((r) => r.id));
      assert.ok(stored.filter((e) => mine.has(e['id'] as string)).every((e) => e['tillId'] === t.tillId), `every event of ${t.tillId} carries its till`);
    }
    for (const t of tills) {
      const r = await t.reconcile();
      assert.equal(r.code, 0, `${t.tillId}: ${r.stdout}${r.stderr}`);
      assert.equal(r.tx.status, 'match');
      assert.equal(r.tx.here!.count, t.rows.length);
      assert.equal(r.tx.central!.count, t.rows.length, 'the central counts this till only');
      assert.equal(r.tx.central!.totalAmount, total(t.rows.map((x) => x.amount)));
    }

    const [a, b, c, other] = tills as [ReturnType<typeof till>, ReturnType<typeof till>, ReturnType<typeof till>, ReturnType<typeof till>];
    const lost = b.rows[7]!.id;
    assert.deepEqual(central.forget([lost]), [lost]);
    const rb = await b.reconcile();
    assert.equal(rb.code, 65, rb.stderr);
    assert.deepEqual(rb.tx.missingAtCentral.map((x) => x.id), [lost]);
    assert.deepEqual(rb.tx.extraAtCentral, []);
    assert.equal(rb.tx.moneyDifference, b.rows[7]!.amount);
    for (const t of [a, c, other]) {
      const r = await t.reconcile();
      assert.equal(r.code, 0, `${t.tillId} is not touched by another till's loss: ${r.stdout}`);
      assert.deepEqual(r.tx.missingAtCentral, []);
    }
    const human = await b.cli(['reconcile', '--date', '2026-03-10']);
    assert.equal(human.code, 65);
    assert.match(human.stdout, new RegExp(`missing at the central \\(1\\):\\n {4}${lost} ${b.rows[7]!.amount.replace('.', '\\.')}`));
  });

  test('rows the central got before events carried a till: the store\'s one till matches them; another till lists them apart', async () => {
    // The only till of STORE003 delivered its rows before tillId existed (a till upgraded today).
    const old = till('STORE003', 'TILL-OLD', 12, true);
    await postUntagged('STORE003', old.rows.map((r) => transactionEvent({ id: r.id, storeId: 'STORE003', occurredAt: new Date(r.at).toISOString(), unitPrice: r.amount, totalAmount: r.amount })));
    const r = await old.reconcile();
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.tx.central!.count, 12);
    assert.deepEqual(r.tx.atCentralWithoutTill, []);

    // STORE004 has two tills; the central holds an old untagged row of the other one.
    const newer = till('STORE004', 'TILL-N', 8);
    assert.equal((await newer.cli(['sync'])).code, 0);
    const untagged = transactionEvent({ storeId: 'STORE004', occurredAt: '2026-03-10T09:15:00.000Z', totalAmount: '4.20' });
    await postUntagged('STORE004', [untagged]);
    const n = await newer.reconcile();
    assert.equal(n.code, 0, `not a difference: ${n.stdout}`);
    assert.equal(n.tx.status, 'match');
    assert.deepEqual(n.tx.atCentralWithoutTill, [{ id: untagged['id'], amount: '4.20', till: null }]);
    assert.deepEqual(n.tx.extraAtCentral, []);
    assert.equal(n.tx.moneyDifference, '-4.2');
    assert.equal(n.tx.unexplainedDifference, '0', 'the row set apart explains the money');
    const human = await newer.cli(['reconcile', '--date', '2026-03-10']);
    assert.match(human.stdout, new RegExp(`at the central without a till \\(sent before tillId; another till's, not counted\\) \\(1\\):\\n {4}${String(untagged['id'])} 4\\.20`));

    // The same row with this store's other till named: an extra, a mismatch.
    const tagged = transactionEvent({ storeId: 'STORE004', occurredAt: '2026-03-10T10:15:00.000Z', totalAmount: '1.00', tillId: 'TILL-N' });
    await postUntagged('STORE004', [tagged]);
    const m = await newer.reconcile();
    assert.equal(m.code, 65);
    assert.deepEqual(m.tx.extraAtCentral, [{ id: tagged['id'], amount: '1.00', till: 'TILL-N' }]);
  });

  test('the summary endpoint: a till\'s figures, the whole store without one, and a clear 400 for an empty till', async () => {
    const t = till('STORE005', 'TILL-X', 5);
    assert.equal((await t.cli(['sync'])).code, 0);
    await postUntagged('STORE005', [transactionEvent({ storeId: 'STORE005', occurredAt: '2026-03-10T08:00:00.000Z', totalAmount: '1', tillId: 'TILL-Y' })]);
    const ask = async (query: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const r = await fetch(`${central.url}/api/inventory/summary?store=STORE005&entity=transaction&from=2026-03-10T00:00:00.000Z&to=2026-03-11T00:00:00.000Z${query}`);
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    assert.equal((await ask('&till=TILL-X')).body['count'], 5);
    assert.equal((await ask('&till=TILL-Y')).body['count'], 1);
    assert.equal((await ask('')).body['count'], 6);
    const empty = await ask('&till=');
    assert.equal(empty.status, 400);
    assert.match(String(empty.body['error']), /till/);
  });
});
