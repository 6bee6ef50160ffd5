// What is marked is exactly what was sent (man page, central API → "Edits"): the POS changes a
// pending sale's amount while its batch is at the central. Through the real binary and the real
// reference central, with a loopback gate in between that holds the central's answer until the
// test has written the row. The row must stay pending, its new content go out with the next pass
// under a new content hash, and the central take it as an update of the id, not a duplicate.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { useCentral } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { exec, pendingIds, query } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('edited-in-flight');
test.after(() => tmp.cleanup());

interface Gate {
  readonly url: string;
  /** Runs once, after the central answered the first POST and before pos-sync gets the answer. */
  beforeFirstAnswer: (() => void) | null;
  close(): Promise<void>;
}

/** Forwards every request to `target` as is; can hold an answer while the test acts. */
async function gate(target: string): Promise<Gate> {
  const g: Gate = {
    url: '',
    beforeFirstAnswer: null,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'idempotency-key', 'x-store-id', 'authorization']) {
        const v = req.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      const body = req.method === 'POST' ? Buffer.concat(chunks) : undefined;
      fetch(new URL(req.url ?? '/', target), { method: req.method ?? 'GET', headers, body })
        .then(async (answer) => {
          const text = await answer.text();
          if (req.method === 'POST' && g.beforeFirstAnswer) {
            const hook = g.beforeFirstAnswer;
            g.beforeFirstAnswer = null;
            hook();
          }
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(text);
        })
        .catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (g as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return g;
}

test('a sale edited while its batch is in flight stays pending; its new content goes out next pass as an update', async (t) => {
  const dir = tmp.make();
  const db = path.join(dir, 'POS_Local.db');
  const env = { Kafka__Enabled: 'false' };
  const seeded = await runCli(['--db', db, 'seed', '--transactions', '20', '--inventory', '0', '--random-seed', '5'], { cwd: dir, env });
  assert.equal(seeded.code, 0, seeded.stderr);
  const central = await useCentral(t);
  const g = await gate(central.url);
  t.after(() => g.close());
  const ids = pendingIds(db);
  const edited = ids[7]!;
  const amountOf = (): string => query<{ a: string }>(db, `SELECT "TotalAmount" AS a FROM "PosTransactions" WHERE "Id" = ?`, edited)[0]!.a;
  const before = amountOf();
  const after = before === '8.00' ? '9.00' : '8.00';
  // The POS's own write, between the central's acceptance and pos-sync reading the answer.
  g.beforeFirstAnswer = () => exec(db, `UPDATE "PosTransactions" SET "TotalAmount" = ? WHERE "Id" = ?`, after, edited);

  const first = await runCli(['--db', db, '--central-url', g.url, '--json', 'sync', '--batch-size', '500'], { cwd: dir, env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(g.beforeFirstAnswer, null, 'the gate held the answer and the row was written');
  assert.deepEqual(pendingIds(db), [edited], 'only the edited row stays pending');
  assert.equal((JSON.parse(first.stdout) as { delivered: { transaction: number } }).delivered.transaction, ids.length - 1);
  const storedFirst = central.events().find((e) => e.id === edited)!.event as Record<string, unknown>;
  assert.equal(storedFirst['totalAmount'], before, 'the central holds what was sent: the old amount');

  const second = await runCli(['--db', db, '--central-url', g.url, '--json', 'sync', '--batch-size', '500'], { cwd: dir, env });
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(pendingIds(db), []);
  const stored = central.events().filter((e) => e.id === edited);
  assert.equal(stored.length, 1, 'one event per id at the central');
  const event = stored[0]!.event as Record<string, unknown>;
  assert.equal(event['totalAmount'], after, 'the new amount replaced the old');
  assert.notEqual(event['contentHash'], storedFirst['contentHash'], 'an edit carries a new content hash');
  assert.equal(central.stats().eventsUpdated, 1, 'taken as an update');
  assert.deepEqual(central.duplicateIds(), [], 'not as a duplicate');
  const keys = central.requests().filter((r) => r.method === 'POST').map((r) => r.idempotencyKey);
  assert.equal(new Set(keys).size, keys.length, 'the edit went out under a key of its own');
});
