// Refusals against the reference central (pos-sync-central(7)): a 4xx refusal is isolated by splitting and
// counted per row until the row is dead-lettered; a 2xx `rejected` list refuses exactly those rows;
// 413 splits without penalising; a row the POS wrote wrongly is refused locally, never sent.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runSync } from '../src/pass/pass.js';
import type { Config } from '../src/config/types.js';
import { startCentral } from '../examples/central/server.js';
import { centralForFile } from './helpers/central.js';
import { allIds, buildFixtureDb, exec, FIXTURE, pendingIds, query, withState } from './helpers/db.js';
import { seedDb, syncDeps, testConfig } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sync-refusals');
const central = centralForFile({ seed: 2 });
after(tmp.cleanup);

const pass = (config: Config) => runSync({}, syncDeps(config));

interface SyncState {
  Id: string;
  Synced: number;
  SyncRejections: number;
  NextAttemptAt: string | null;
  DeadLetteredAt: string | null;
  LastSyncError: string | null;
}

function states(file: string): Map<string, SyncState> {
  const rows = query<SyncState>(
    file,
    `SELECT "Id", "Synced", "SyncRejections", "NextAttemptAt", "DeadLetteredAt", "LastSyncError" FROM ${withState('PosTransactions')}
     UNION ALL SELECT "Id", "Synced", "SyncRejections", "NextAttemptAt", "DeadLetteredAt", "LastSyncError" FROM ${withState('InventoryUpdates')}`,
  );
  return new Map(rows.map((r) => [r.Id, r]));
}

function transactionIds(file: string): string[] {
  return query<{ Id: string }>(file, `SELECT "Id" FROM "PosTransactions" ORDER BY rowid`).map((r) => r.Id);
}

describe('refused rows (422)', () => {
  test('are isolated by splitting, backed off, and dead-lettered after MaxRejections passes; the rest arrive', async () => {
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 40, 0, 8);
    const ids = transactionIds(file);
    const refused = [ids[3]!, ids[17]!, ids[18]!];
    central.setFaults({ refuseIds: refused });
    const config = testConfig(file, central.url, { Sync: { BatchSize: 10, RetryDelayMinutes: 0, MaxRejections: 3, MaxRunSeconds: 30 } });

    for (let n = 1; n <= 3; n++) {
      const result = await pass(config);
      assert.equal(result.exitCode, 65, `pass ${n}: some rows refused`);
      assert.equal(result.rejected.transaction, 3, `pass ${n}`);
      assert.equal(result.deadLettered.transaction, n === 3 ? 3 : 0, `pass ${n}`);
      assert.equal(result.delivered.transaction, n === 1 ? 37 : 0, `pass ${n}`);
      const s = states(file);
      for (const id of refused) {
        const row = s.get(id)!;
        assert.equal(row.Synced, 0);
        assert.equal(row.SyncRejections, n, `pass ${n}: one refusal per pass`);
        assert.equal(row.DeadLetteredAt === null, n < 3, `pass ${n}: dead-lettered only on the 3rd refusal`);
        assert.equal(row.NextAttemptAt === null, n === 3);
        assert.match(row.LastSyncError ?? '', /HTTP 422/);
      }
    }
    const fourth = await pass(config);
    assert.equal(fourth.exitCode, 0, 'dead letters are not tried again');
    assert.equal(fourth.requests, 0);

    const received = central.receivedIds();
    assert.deepEqual(received.sort(), ids.filter((id) => !refused.includes(id)).sort());
    assert.deepEqual(central.duplicateIds(), []);
    const logs = query<{ EntityId: string; AttemptNumber: number; HttpStatusCode: number; ShouldRetry: number }>(
      file,
      `SELECT "EntityId", "AttemptNumber", "HttpStatusCode", "ShouldRetry" FROM "SyncRetryLogs" ORDER BY "EntityId", "AttemptNumber"`,
    );
    assert.equal(logs.length, 9);
    for (const l of logs) {
      assert.ok(refused.includes(l.EntityId));
      assert.equal(l.HttpStatusCode, 422);
      assert.equal(l.ShouldRetry, l.AttemptNumber < 3 ? 1 : 0);
    }
    assert.deepEqual(pendingIds(file), [], 'nothing left pending: delivered or dead-lettered');
  });

  test('with the default RetryDelayMinutes a refused row waits: the next pass does not retry it', async () => {
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    central.setFaults({ refuseIds: [FIXTURE.pendingInventory[1]] });
    const config = testConfig(file, central.url);
    assert.equal((await pass(config)).exitCode, 65);
    const row = states(file).get(FIXTURE.pendingInventory[1])!;
    const wait = Date.parse(`${row.NextAttemptAt!.replace(' ', 'T')}Z`) - Date.now();
    assert.ok(wait > 4 * 60_000 && wait <= 5 * 60_000, `next attempt in ${wait} ms: RetryDelayMinutes 5 × 2^0`);
    const next = await pass(config);
    assert.equal(next.exitCode, 0);
    assert.equal(next.requests, 0);
    assert.equal(states(file).get(FIXTURE.pendingInventory[1])!.SyncRejections, 1);
  });
});

describe('a 2xx with a rejected list', () => {
  test('refuses exactly the listed rows and syncs the rest, in one request per batch', async () => {
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 30, 0, 9);
    const ids = transactionIds(file);
    const refused = [ids[0]!, ids[29]!];
    central.setFaults({ refuseIds: refused, partialRejects: true });
    const config = testConfig(file, central.url, { Sync: { BatchSize: 15 } });
    const result = await pass(config);
    assert.equal(result.exitCode, 65);
    assert.equal(result.requests, 2, 'no splitting: the central said which rows it refused');
    assert.equal(result.rejected.transaction, 2);
    assert.equal(result.delivered.transaction, 28);
    const s = states(file);
    for (const id of ids) {
      const row = s.get(id)!;
      if (refused.includes(id)) {
        assert.deepEqual([row.Synced, row.SyncRejections], [0, 1]);
        assert.match(row.LastSyncError ?? '', /refuseIds/);
      } else {
        assert.deepEqual([row.Synced, row.SyncRejections], [1, 0]);
      }
    }
  });

  test('a malformed rejected list, a non-JSON or a cut-short 2xx penalises no row: temporary, the batch is sent again', async () => {
    const { file, config } = (() => {
      const f = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
      return { file: f, config: testConfig(f, central.url) };
    })();
    central.setFaults({ script: ['malformed-rejected', 'not-json', 'truncated'] });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.deepEqual(result.rejected, { transaction: 0, inventory: 0 });
    assert.deepEqual(pendingIds(file), []);
    for (const row of states(file).values()) assert.equal(row.SyncRejections, 0);
    assert.ok(result.requests >= 4, `the three bad answers were retried (${result.requests} requests)`);
  });
});

describe('413 and rows the POS wrote wrongly', () => {
  test('413 splits the batch until it fits, penalising no row', async () => {
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 50, 10, 10);
    central.setFaults({ maxBatch: 6 });
    const config = testConfig(file, central.url, { Sync: { BatchSize: 25 } });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.deepEqual(result.delivered, { transaction: 50, inventory: 10 });
    assert.deepEqual(central.receivedIds().sort(), allIds(file).sort());
    assert.ok(central.stats().byStatus['413']! > 0);
    for (const row of states(file).values()) assert.equal(row.SyncRejections, 0);
  });

  test('a row too large on its own is a refusal', async () => {
    const small = await startCentral({ seed: 2, maxBodyBytes: 2000 });
    try {
      const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
      exec(file, `UPDATE "PosTransactions" SET "Notes" = ? WHERE "Id" = ?`, 'n'.repeat(5000), FIXTURE.pendingTransactions[1]);
      const config = testConfig(file, small.url, { Sync: { RetryDelayMinutes: 0, MaxRejections: 1 } });
      const result = await pass(config);
      assert.equal(result.exitCode, 65, result.error ?? '');
      assert.equal(result.deadLettered.transaction, 1);
      assert.notEqual(states(file).get(FIXTURE.pendingTransactions[1])!.DeadLetteredAt, null);
      assert.deepEqual(result.delivered, { transaction: 2, inventory: 2 });
      assert.ok(!small.receivedIds().includes(FIXTURE.pendingTransactions[1]));
    } finally {
      await small.close();
    }
  });

  test('business columns the POS wrote wrongly are never sent, never counted as refused nor dead-lettered; listed; fixed, they arrive', async () => {
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    // A decimal comma from a till with the wrong locale; text in an INTEGER column.
    exec(file, `UPDATE "PosTransactions" SET "UnitPrice" = '54,99' WHERE "Id" = ?`, FIXTURE.pendingTransactions[1]);
    exec(file, `UPDATE "InventoryUpdates" SET "NewStock" = 'lots' WHERE "Id" = ?`, FIXTURE.pendingInventory[1]);
    const config = testConfig(file, central.url, { Sync: { RetryDelayMinutes: 0, MaxRejections: 2 } });
    const first = await pass(config);
    assert.equal(first.exitCode, 65, 'a data error');
    assert.deepEqual(first.rejected, { transaction: 0, inventory: 0 }, 'not the central\'s refusal');
    assert.deepEqual(first.unreadable, { transaction: 1, inventory: 1 });
    assert.deepEqual(first.delivered, { transaction: 2, inventory: 1 });
    for (let n = 0; n < 3; n++) {
      const again = await pass(config);
      assert.deepEqual(again.deadLettered, { transaction: 0, inventory: 0 }, 'never dead-lettered');
      assert.deepEqual(again.unreadable, { transaction: 1, inventory: 1 });
    }
    assert.ok(!central.receivedIds().includes(FIXTURE.pendingTransactions[1]));
    assert.ok(!central.receivedIds().includes(FIXTURE.pendingInventory[1]));
    const row = states(file).get(FIXTURE.pendingTransactions[1])!;
    assert.match(row.LastSyncError ?? '', /cannot read this row: .*UnitPrice/);
    assert.equal(row.SyncRejections, 0);
    assert.equal(row.DeadLetteredAt, null);
    assert.deepEqual(query(file, `SELECT "EntityId" FROM "SyncRetryLogs"`), [], 'nothing was attempted');
    // The POS fixes the values: they go out with the next pass.
    exec(file, `UPDATE "PosTransactions" SET "UnitPrice" = '54.99' WHERE "Id" = ?`, FIXTURE.pendingTransactions[1]);
    exec(file, `UPDATE "InventoryUpdates" SET "NewStock" = 7 WHERE "Id" = ?`, FIXTURE.pendingInventory[1]);
    const fixed = await pass(config);
    assert.equal(fixed.exitCode, 0, fixed.error ?? '');
    assert.deepEqual(fixed.delivered, { transaction: 1, inventory: 1 });
    assert.deepEqual(pendingIds(file), []);
    assert.equal(central.stats().eventsRejected, 0, 'the central never saw them');
  });
});
