// The breaker session: the circuit breaker while one pass runs, with a fake clock and randomness.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLOSED, type BreakerSettings, type BreakerState } from '../src/domain/breaker.js';
import { BreakerSession } from '../src/pass/breaker-session.js';
import { memoryLogger } from './helpers/sync.js';

const settings: BreakerSettings = { failureThreshold: 2, breakMs: 30_000, maxBreakMs: 600_000 };
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

function deps(now = T0) {
  const log = memoryLogger();
  return { log, clock: { now: () => now }, random: () => 0.5, settings };
}

const open: BreakerState = { ...CLOSED, state: 'open', consecutiveFailures: 2, consecutiveOpens: 1, openedAt: T0 - 60_000, nextProbeAt: T0 - 1, lastFailure: 'HTTP 503' };

describe('the breaker session', () => {
  test('a closed pass: failures count up to the threshold, then it opens (logged once)', () => {
    const d = deps();
    const s = BreakerSession.enter(CLOSED, { kind: 'closed' }, d);
    assert.equal(s.probing, false);
    assert.equal(s.inProbe, false);
    s.failed('HTTP 503');
    assert.equal(s.state.state, 'closed');
    assert.equal(s.state.consecutiveFailures, 1);
    s.failed('HTTP 503');
    assert.equal(s.state.state, 'open');
    assert.equal(s.state.nextProbeAt! > T0, true);
    assert.deepEqual(d.log.lines.map((l) => l.message), ['circuit breaker opened']);
  });

  test('a probe runs half-open; an answer closes it', () => {
    const d = deps();
    const s = BreakerSession.enter(open, { kind: 'probe' }, d);
    assert.equal(s.probing, true);
    assert.equal(s.inProbe, true);
    s.answered();
    assert.deepEqual(s.state, CLOSED);
    assert.equal(s.inProbe, false);
    assert.deepEqual(d.log.lines.map((l) => l.message), ['the circuit breaker is half-open: probing the central API', 'the central API answered: circuit breaker closed']);
  });

  test('a failed probe opens it again for longer', () => {
    const d = deps();
    const s = BreakerSession.enter(open, { kind: 'probe' }, d);
    s.failed('timeout');
    assert.equal(s.state.state, 'open');
    assert.equal(s.state.consecutiveOpens, 2);
    assert.equal(d.log.lines.at(-1)?.message, 'the probe failed: circuit breaker open again');
  });

  test('a forced pass is half-open but no probe (full batches, retries); its failure says so', () => {
    const d = deps();
    const s = BreakerSession.enter({ ...open, nextProbeAt: T0 + 60_000 }, { kind: 'forced' }, d);
    assert.equal(s.probing, true);
    assert.equal(s.inProbe, false);
    s.failed('timeout');
    assert.equal(d.log.lines.at(-1)?.message, 'the forced pass failed: circuit breaker open again');
  });

  test('a half-open pass that learnt nothing leaves the breaker open with its old probe time', () => {
    const s = BreakerSession.enter(open, { kind: 'probe' }, deps());
    assert.equal(s.state.state, 'halfOpen');
    assert.deepEqual(s.left, open);
  });

  test('a dry run only observes: never probing', () => {
    const s = BreakerSession.observe(open, deps());
    assert.equal(s.probing, false);
    assert.equal(s.inProbe, false);
    assert.deepEqual(s.left, open);
  });
});
