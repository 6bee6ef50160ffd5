// The ledger: what a pass counted, and the one place its exit code is decided.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ledger, outOfTime, StopPass } from '../src/pass/ledger.js';

describe('the ledger decides the exit code of a pass', () => {
  const cases: { name: string; stop: StopPass | null; refused: number; exitCode: number; stoppedBy: string; error: string | null }[] = [
    { name: 'drained, nothing refused', stop: null, refused: 0, exitCode: 0, stoppedBy: 'drained', error: null },
    { name: 'drained, a row refused', stop: null, refused: 1, exitCode: 65, stoppedBy: 'drained', error: null },
    { name: 'out of time is an ordinary end', stop: outOfTime(), refused: 0, exitCode: 0, stoppedBy: 'time', error: null },
    { name: 'asked to stop, a row refused', stop: new StopPass('stopped', 'asked to stop', 0), refused: 1, exitCode: 65, stoppedBy: 'stopped', error: null },
    { name: 'unavailable wins over a refusal', stop: new StopPass('unavailable', 'down', 75), refused: 2, exitCode: 75, stoppedBy: 'unavailable', error: 'down' },
    { name: 'credentials', stop: new StopPass('credentials', 'HTTP 401', 77), refused: 0, exitCode: 77, stoppedBy: 'credentials', error: 'HTTP 401' },
    { name: 'not about the rows', stop: new StopPass('notAboutRows', 'gateway', 78), refused: 0, exitCode: 78, stoppedBy: 'notAboutRows', error: 'gateway' },
    { name: 'refused by an open breaker', stop: new StopPass('breakerOpen', 'open', 75), refused: 0, exitCode: 75, stoppedBy: 'breakerOpen', error: 'open' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ledger = new Ledger();
      for (let i = 0; i < c.refused; i++) ledger.markRefused('transaction', false);
      if (c.stop) ledger.stop(c.stop);
      assert.equal(ledger.exitCode, c.exitCode);
      assert.equal(ledger.stoppedBy, c.stoppedBy);
      assert.equal(ledger.error, c.error);
      assert.equal(ledger.summary().exitCode, c.exitCode);
    });
  }

  test('a pass that failed outright exits as its error says: SQLITE_BUSY is 75, a bug 1', () => {
    const ledger = new Ledger();
    assert.equal(ledger.exitCodeOfFailure(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })), 75);
    assert.equal(ledger.exitCodeOfFailure(new TypeError('a bug')), 1);
  });
});

describe('the ledger counts', () => {
  test('per entity, dead letters among the refused', () => {
    const ledger = new Ledger();
    ledger.markDelivered('transaction', 3);
    ledger.markDelivered('inventory', 2);
    ledger.markRefused('inventory', true);
    ledger.markRefused('inventory', false);
    const s = ledger.summary();
    assert.deepEqual(s.delivered, { transaction: 3, inventory: 2 });
    assert.deepEqual(s.rejected, { transaction: 0, inventory: 2 });
    assert.deepEqual(s.deadLettered, { transaction: 0, inventory: 1 });
  });

  test('quiet only when nothing was sent, delivered or refused', () => {
    const idle = new Ledger();
    assert.equal(idle.quiet, true);
    const sent = new Ledger();
    sent.requestSent();
    assert.equal(sent.quiet, false);
    const refusedLocally = new Ledger();
    refusedLocally.markRefused('transaction', false);
    assert.equal(refusedLocally.quiet, false);
  });

  test('requests and failed requests', () => {
    const ledger = new Ledger();
    ledger.requestSent();
    ledger.requestSent();
    ledger.requestFailed();
    assert.equal(ledger.requests, 2);
    assert.equal(ledger.failedRequests, 1);
  });

  test('a batch is started only when twice the slowest answer (at least 100 ms) still fits', () => {
    const ledger = new Ledger();
    assert.equal(ledger.timeForABatch(100), true);
    assert.equal(ledger.timeForABatch(99), false);
    ledger.answeredIn(400);
    ledger.answeredIn(150);
    assert.equal(ledger.timeForABatch(800), true);
    assert.equal(ledger.timeForABatch(799), false);
  });

  test('a dry run keeps the first batch in full and counts the rest', () => {
    const ledger = new Ledger();
    const event = (id: string) => ({ id }) as never;
    ledger.markWouldSend('transaction', [event('a'), event('b')]);
    ledger.markWouldSend('inventory', [event('c')]);
    assert.equal(ledger.wouldSend.batches, 2);
    assert.deepEqual(ledger.wouldSend.rows, { transaction: 2, inventory: 1 });
    assert.deepEqual(ledger.wouldSend.firstBatch.map((e) => (e as { id: string }).id), ['a', 'b']);
  });
});
