// The deliverer against a fake central (a plain function of the request) over a real SQLite file:
// accepted rows are marked synced, a refused batch is split down to the row at fault, refusals are
// held until a row is accepted, an answer that ends the pass becomes a StopPass with its exit code,
// and the breaker session hears of every answer and failure.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CentralClient, HealthAnswer, PostRequest } from '../src/central/client.js';
import { CLOSED } from '../src/domain/breaker.js';
import type { Outcome } from '../src/domain/classify.js';
import type { Entity } from '../src/domain/rows.js';
import { BatchSource } from '../src/pass/batch-source.js';
import { BreakerSession } from '../src/pass/breaker-session.js';
import { Deliverer } from '../src/pass/deliverer.js';
import { Ledger, StopPass } from '../src/pass/ledger.js';
import { Isolation } from '../src/pass/quarantine.js';
import { Refusals } from '../src/pass/refusals.js';
import { openDatabase } from '../src/store/db.js';
import { Queue } from '../src/store/queue.js';
import { pendingIds } from './helpers/db.js';
import { memoryLogger, seedDb, testConfig } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('pass-deliverer');
after(tmp.cleanup);

type Answer = (ids: readonly string[], request: PostRequest) => Outcome;

/** A deliverer over `transactions` seeded rows, its central answering with `answer`. */
function setUp(transactions: number, answer: Answer, health: HealthAnswer = { ok: true, status: 200, error: null }, admission: 'closed' | 'probe' = 'closed') {
  const file = seedDb(path.join(tmp.make(), 'POS_Local.db'), transactions, 0);
  const config = testConfig(file, 'http://127.0.0.1:9/', { Sync: { MaxRetryAttempts: 0 } });
  const db = openDatabase({ path: file, create: false, autoMigrate: true, busyTimeoutMs: 5_000 });
  after(() => db.close());
  const now = Date.UTC(2026, 0, 5, 9, 0, 0);
  const clock = { now: () => now };
  const log = memoryLogger();
  const queue = new Queue(db);
  const ledger = new Ledger();
  const opened = { ...CLOSED, state: 'open' as const, consecutiveFailures: 3, consecutiveOpens: 1, openedAt: now - 60_000, nextProbeAt: now - 1 };
  const breaker = BreakerSession.enter(admission === 'probe' ? opened : CLOSED, { kind: admission }, { clock, random: () => 0.5, settings: config.breaker, log });
  let n = 0;
  const refusals = new Refusals(queue, ledger, { maxRejections: 5, retryDelayMs: 0, storeId: config.storeId }, clock, log, () => `ID-${++n}`);
  const requests: string[][] = [];
  const central: CentralClient = {
    post: async (request) => {
      const ids = [...request.ids];
      requests.push(ids);
      return answer(ids, request);
    },
    health: async () => health,
  };
  const progress: number[] = [];
  const deliverer = new Deliverer({
    config, clock, random: () => 0.5, sleep: async () => {}, log,
    central: async () => central,
    queue, ledger, breaker, refusals, deadline: now + 60_000,
    isolation: new Isolation(db, { afterPasses: 3, baseDelayMs: 0, maxDelayMs: 0 }, clock, log),
    onProgress: (d) => progress.push(d),
  });
  const source = new BatchSource(queue, ['transaction'], clock, deliverer.encode);
  const batch = (limit = 100) => source.take('transaction' as Entity, limit)!;
  return { file, deliverer, ledger, breaker, refusals, requests, progress, batch, log };
}

const stopOf = async (p: Promise<unknown>): Promise<StopPass> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof StopPass) return err;
    throw err;
  }
  assert.fail('the pass was not stopped');
};

describe('the deliverer', () => {
  test('an accepted batch is marked synced, counted and reported as progress', async () => {
    const s = setUp(4, () => ({ kind: 'accepted', rejected: [] }));
    await s.deliverer.deliverBatch(s.batch());
    assert.deepEqual(pendingIds(s.file), []);
    assert.equal(s.ledger.delivered.transaction, 4);
    assert.equal(s.ledger.requests, 1);
    assert.deepEqual(s.progress, [4]);
    assert.equal(s.breaker.state.consecutiveFailures, 0);
  });

  test('a refused batch is split down to the row at fault; the rest are delivered and the refusal recorded', async () => {
    let bad = '';
    const s = setUp(4, (ids) => (ids.includes(bad) ? { kind: 'refused', status: 422, error: `row ${bad}: bad price` } : { kind: 'accepted', rejected: [] }));
    const batch = s.batch();
    bad = batch.events[2]!.id;
    await s.deliverer.deliverBatch(batch);
    s.refusals.recordHeld();
    assert.deepEqual(pendingIds(s.file), [bad]);
    assert.equal(s.ledger.delivered.transaction, 3);
    assert.equal(s.ledger.rejected.transaction, 1);
    assert.equal(s.ledger.exitCode, 65);
    assert.deepEqual(s.requests.map((r) => r.length), [4, 2, 2, 1, 1], 'halves, then the half at fault split again');
  });

  test('every row refused for one reason: after the round, not about the rows (78), none penalised', async () => {
    const s = setUp(4, () => ({ kind: 'refused', status: 422, error: 'unknown store' }));
    await s.deliverer.deliverBatch(s.batch());
    const stop = await stopOf(Promise.resolve().then(() => s.refusals.judgeRound()));
    assert.equal(stop.reason, 'notAboutRows');
    assert.equal(stop.exitCode, 78);
    s.refusals.recordHeld();
    assert.equal(s.ledger.rejected.transaction, 0);
    assert.equal(pendingIds(s.file).length, 4);
  });

  test('a 401 stops the pass with 77 and says nothing about availability', async () => {
    const s = setUp(2, () => ({ kind: 'credentials', status: 401, error: 'HTTP 401' }));
    const stop = await stopOf(s.deliverer.deliverBatch(s.batch()));
    assert.equal(stop.reason, 'credentials');
    assert.equal(stop.exitCode, 77);
    assert.equal(s.breaker.state.consecutiveFailures, 0);
  });

  test('an outage stops the pass with 75, counts a failure for the breaker, and notes the attempt', async () => {
    const s = setUp(2, () => ({ kind: 'temporary', error: 'HTTP 503', retryAfterMs: null }) as Outcome);
    const stop = await stopOf(s.deliverer.deliverBatch(s.batch()));
    assert.equal(stop.reason, 'unavailable');
    assert.equal(stop.exitCode, 75);
    assert.equal(s.ledger.failedRequests, 1);
    assert.equal(s.breaker.state.consecutiveFailures, 1);
    assert.equal(pendingIds(s.file).length, 2);
  });

  test('meanwhile (the read-ahead) runs after the request went out and before its answer is taken', async () => {
    const order: string[] = [];
    let release!: () => void;
    const answered = new Promise<void>((resolve) => (release = resolve));
    const s = setUp(2, () => {
      order.push('sent');
      return { kind: 'accepted', rejected: [] };
    });
    const delivering = s.deliverer.deliverBatch(s.batch(), () => {
      order.push('meanwhile');
      release();
    });
    await answered;
    await delivering;
    assert.deepEqual(order, ['sent', 'meanwhile']);
  });

  test('a half-open probe with nothing pending asks the health endpoint; a failure stops with 75', async () => {
    const s = setUp(0, () => assert.fail('nothing to post'), { ok: false, status: 503, error: null }, 'probe');
    const stop = await stopOf(s.deliverer.probeHealth());
    assert.equal(stop.exitCode, 75);
    assert.equal(s.ledger.requests, 1);
    assert.equal(s.ledger.failedRequests, 1);
    assert.equal(s.breaker.state.state, 'open');
  });

  test('a half-open probe answered by the health endpoint closes the breaker', async () => {
    const s = setUp(0, () => assert.fail('nothing to post'), { ok: true, status: 200, error: null }, 'probe');
    await s.deliverer.probeHealth();
    assert.equal(s.breaker.state.state, 'closed');
  });
});
