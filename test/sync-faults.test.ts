// Outages and misconfiguration against the reference central (pos-sync-central(7); pos-sync(1) EXIT STATUS): a flaky central
// still gets every row and dead-letters none; lost answers are re-sent under the same key;
// timeouts are retried; credentials refused → 77 and endpoint wrong → 78 with no row penalised.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runSync } from '../src/pass/pass.js';
import type { Config } from '../src/config/types.js';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { centralForFile } from './helpers/central.js';
import { allIds, buildFixtureDb, pendingIds, query, withState } from './helpers/db.js';
import { seedDb, syncDeps, testConfig, type Settings } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('sync-faults');
const central = centralForFile({ seed: 3 });
after(tmp.cleanup);

// The breaker is someone else's subject: keep it out of the way of these retry tests.
const NO_BREAKER = { CircuitBreaker: { FailureThreshold: 1000 } };

const pass = (config: Config) => runSync({}, syncDeps(config));

interface Penalties {
  Id: string;
  Synced: number;
  SyncRejections: number;
  NextAttemptAt: string | null;
  DeadLetteredAt: string | null;
}

function penalties(file: string): Penalties[] {
  return query<Penalties>(
    file,
    `SELECT "Id", "Synced", "SyncRejections", "NextAttemptAt", "DeadLetteredAt" FROM ${withState('PosTransactions')}
     UNION ALL SELECT "Id", "Synced", "SyncRejections", "NextAttemptAt", "DeadLetteredAt" FROM ${withState('InventoryUpdates')} ORDER BY "Id"`,
  );
}

/** Runs passes until nothing is pending; returns their exit codes. */
async function drain(file: string, config: Config, maxPasses: number): Promise<number[]> {
  const codes: number[] = [];
  while (pendingIds(file).length > 0 && codes.length < maxPasses) {
    const result = await pass(config);
    codes.push(result.exitCode);
    assert.ok(result.exitCode === 0 || result.exitCode === 75, `pass ${codes.length} exited ${result.exitCode}: ${result.error}`);
  }
  return codes;
}

describe('a flaky central', () => {
  test('30 % 5xx/429 and dropped connections: every row arrives exactly once after enough passes, none dead-lettered', async () => {
    central.setFaults({ failRate: 0.2, failStatus: 503, rateLimitRate: 0.1, retryAfterSeconds: 1, dropRate: 0.08, seed: 7 });
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 400, 120, 33);
    const config = testConfig(file, central.url, { Sync: { BatchSize: 20, MaxRetryAttempts: 2, MaxRunSeconds: 30, ...NO_BREAKER } });
    const codes = await drain(file, config, 40);
    assert.deepEqual(pendingIds(file), [], `drained within ${codes.length} passes`);
    for (const code of codes) assert.ok(code === 0 || code === 75, `a pass exited ${code}: temporary failures are 75, never 65`);
    assert.ok(codes.includes(75), 'the faults were bad enough to end some passes');
    assert.deepEqual(central.receivedIds().sort(), allIds(file).sort());
    assert.deepEqual(central.duplicateIds(), [], 'faults struck before storing: nothing was received twice');
    for (const row of penalties(file)) {
      assert.equal(row.SyncRejections, 0, `${row.Id} was never counted as refused`);
      assert.equal(row.DeadLetteredAt, null);
      assert.equal(row.NextAttemptAt, null);
    }
    const byStatus = central.stats().byStatus;
    assert.ok((byStatus['503'] ?? 0) > 0 && (byStatus['429'] ?? 0) > 0 && (byStatus['dropped'] ?? 0) > 0, JSON.stringify(byStatus));
    const attempts = query<{ n: number }>(file, `SELECT count(*) AS n FROM "PosTransactions" WHERE "SyncAttempts" > 1`)[0]!.n;
    assert.ok(attempts > 0, 'SyncAttempts keeps the seed\'s meaning: failed attempts are counted');
  });

  test('lost answers (stored, then the connection dropped): re-sent under the same Idempotency-Key, every id at least once', async () => {
    central.setFaults({ dropAfterStoreRate: 0.25, failRate: 0.1, seed: 77 });
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 200, 40, 34);
    const config = testConfig(file, central.url, { Sync: { BatchSize: 20, MaxRunSeconds: 30, ...NO_BREAKER } });
    const codes = await drain(file, config, 40);
    assert.deepEqual(pendingIds(file), []);
    for (const code of codes) assert.ok(code === 0 || code === 75, String(code));
    assert.deepEqual(central.receivedIds().sort(), allIds(file).sort());
    const stats = central.stats();
    assert.ok(stats.duplicateIds > 0, 'some answers were lost, so some ids came twice (at least once)');
    assert.equal(stats.idempotencyKeyChanges, 0, 'the same rows always went under the same key');
    assert.equal(stats.idempotencyKeyConflicts, 0, 'one key never named two sets of rows');
    assert.equal(stats.eventsStored, 240);
  });

  test('a request that times out is retried within the pass', async () => {
    central.setFaults({ script: ['hang', 'ok'] });
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    const config = testConfig(file, central.url, { Sync: { HttpTimeoutSeconds: 1, ...NO_BREAKER } });
    const result = await pass(config);
    assert.equal(result.exitCode, 0, result.error ?? '');
    assert.deepEqual(pendingIds(file), []);
    assert.equal(central.requests()[0]?.status, 'hung');
    // The central's health endpoint answers, so the failed batch is not sent again whole: its
    // halves go at once (each row tried again), which narrows a failure down to a row (QUARANTINE).
    assert.ok(result.failedRequests === 1 && result.requests === 4, JSON.stringify(result));
  });

  test('a pass that reaches its time budget with rows left, without failures, exits 0; the next pass goes on', async () => {
    central.setFaults({ slowRate: 1, slowMs: 250 });
    const file = seedDb(path.join(tmp.make(), 'pos.db'), 6, 0, 35);
    const config = testConfig(file, central.url, { Sync: { BatchSize: 1, MaxRunSeconds: 1, ...NO_BREAKER } });
    const results = [];
    while (pendingIds(file).length > 0 && results.length < 10) results.push(await pass(config));
    assert.deepEqual(pendingIds(file), []);
    assert.ok(results.length > 1, 'the budget ended at least one pass early');
    for (const r of results) {
      assert.equal(r.exitCode, 0, `stopped by ${r.stoppedBy}: ${r.error}`);
      assert.equal(r.failedRequests, 0, 'no request was cut off by the budget');
    }
    assert.equal(results[0]!.stoppedBy, 'time');
    assert.deepEqual(central.duplicateIds(), [], 'nothing was sent twice');
  });

  test('a central down for the whole pass: exit 75, rows stay pending and unpenalised', async () => {
    central.setFaults({ down: true });
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    const config = testConfig(file, central.url, { Sync: { MaxRetryAttempts: 3, ...NO_BREAKER } });
    const result = await pass(config);
    assert.equal(result.exitCode, 75);
    assert.equal(result.stoppedBy, 'unavailable');
    assert.equal(central.stats().posts, 4, 'one attempt and MaxRetryAttempts retries, then the pass stops');
    assert.equal(pendingIds(file).length, 5);
    for (const row of penalties(file)) assert.deepEqual([row.SyncRejections, row.DeadLetteredAt], [0, null]);
  });
});

describe('nobody listening, or an endpoint that moved', () => {
  test('connection refused: retried, then exit 75 with rows pending and unpenalised', async () => {
    const closed = await startCentral();
    const url = closed.url;
    await closed.close();
    const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
    const config = testConfig(file, url, { Sync: { MaxRetryAttempts: 2, ...NO_BREAKER } });
    const result = await pass(config);
    assert.equal(result.exitCode, 75);
    assert.equal(result.requests, 3);
    assert.match(result.error ?? '', /cannot reach/);
    assert.equal(pendingIds(file).length, 5);
    for (const row of penalties(file)) assert.deepEqual([row.SyncRejections, row.DeadLetteredAt], [0, null]);
  });

  test('a redirect is not followed: the endpoint must be fixed in the config (exit 78), rows unpenalised', async () => {
    const mover = http.createServer((req, res) => {
      req.resume();
      res.writeHead(308, { location: central.eventsUrl });
      res.end();
    });
    await new Promise<void>((resolve) => mover.listen(0, '127.0.0.1', resolve));
    try {
      const file = buildFixtureDb(path.join(tmp.make(), 'pos.db'));
      const config = testConfig(file, `http://127.0.0.1:${(mover.address() as AddressInfo).port}`, { Sync: NO_BREAKER });
      const result = await pass(config);
      assert.equal(result.exitCode, 78, result.error ?? '');
      assert.equal(result.stoppedBy, 'misconfigured');
      assert.equal(central.stats().posts, 0, 'the rows never went to the redirect target');
      assert.equal(pendingIds(file).length, 5);
      for (const row of penalties(file)) assert.deepEqual([row.SyncRejections, row.DeadLetteredAt], [0, null]);
    } finally {
      mover.closeAllConnections();
      await new Promise((resolve) => mover.close(resolve));
    }
  });
});

describe('credentials and endpoint refused: stop the pass, penalise no row', () => {
  const cases: Array<{ name: string; faults: Parameters<RunningCentral['setFaults']>[0]; settings?: Settings; code: number; stop: string }> = [
    { name: '401 (missing token)', faults: { requireToken: 'the-right-token' }, code: 77, stop: 'credentials' },
    { name: '401 (wrong token)', faults: { requireToken: 'the-right-token' }, settings: { Sync: { ApiToken: 'the-wrong-token' } }, code: 77, stop: 'credentials' },
    { name: '403', faults: { forceStatus: 403 }, code: 77, stop: 'credentials' },
    { name: '404', faults: { forceStatus: 404 }, code: 78, stop: 'misconfigured' },
    { name: '405', faults: { forceStatus: 405 }, code: 78, stop: 'misconfigured' },
  ];
  for (const c of cases) {
    test(`${c.name} → exit ${c.code}`, async () => {
      central.setFaults(c.faults);
      const file = seedDb(path.join(tmp.make(), 'pos.db'), 30, 10, 5);
      const beforeRows = penalties(file);
      const config = testConfig(file, central.url, { ...c.settings, Sync: { BatchSize: 10, RetryDelayMinutes: 0, MaxRejections: 1, ...c.settings?.Sync } });
      const result = await pass(config);
      assert.equal(result.exitCode, c.code);
      assert.equal(result.stoppedBy, c.stop);
      assert.equal(central.stats().posts, 1, 'no retry, no further batch');
      assert.deepEqual(penalties(file), beforeRows, 'SyncRejections, NextAttemptAt and DeadLetteredAt unchanged');
      assert.deepEqual(central.receivedIds(), []);
      assert.ok(!(result.error ?? '').includes('the-wrong-token'));
    });
  }
});
