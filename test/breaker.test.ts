// The circuit breaker's state machine as tables (src/domain/breaker.ts): every transition, the
// growth, cap and jitter of the break, the half-open probe either way, and what a reader sees.
// A fake clock and fixed random draws: nothing sleeps.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  admit,
  breakDurationMs,
  CLOSED,
  describeBreaker,
  effectiveMode,
  enter,
  leave,
  onAnswer,
  onFailure,
  probeDueAt,
  type BreakerSettings,
  type BreakerState,
} from '../src/domain/breaker.js';

const settings: BreakerSettings = { failureThreshold: 3, breakMs: 30_000, maxBreakMs: 600_000 };
const T0 = Date.parse('2026-11-25T12:00:00.000Z');
const mid = (): number => 0.5; // jitter factor exactly 1.0
const low = (): number => 0; // factor 0.8
const high = (): number => 0.999999999; // factor just under 1.2

function open(opens: number, openedAt: number, nextProbeAt: number, failures = 3): BreakerState {
  return { state: 'open', consecutiveFailures: failures, openedAt, nextProbeAt, consecutiveOpens: opens, lastFailure: 'HTTP 503' };
}

describe('breakDurationMs: BreakSeconds × 2^(opens−1) × [0.8, 1.2], capped', () => {
  const rows: { opens: number; random: () => number; expected: number }[] = [
    { opens: 1, random: mid, expected: 30_000 },
    { opens: 2, random: mid, expected: 60_000 },
    { opens: 3, random: mid, expected: 120_000 },
    { opens: 4, random: mid, expected: 240_000 },
    { opens: 5, random: mid, expected: 480_000 },
    { opens: 6, random: mid, expected: 600_000 }, // 960 s capped
    { opens: 1, random: low, expected: 24_000 },
    { opens: 2, random: low, expected: 48_000 },
    { opens: 5, random: low, expected: 384_000 },
    { opens: 5, random: high, expected: 480_000 * (0.8 + 0.4 * 0.999999999) }, // just under 576 s
    { opens: 40, random: mid, expected: 600_000 },
    { opens: 5000, random: high, expected: 600_000 }, // an absurd count stays finite and capped
    { opens: 0, random: mid, expected: 30_000 }, // never below the first break
  ];
  for (const r of rows) {
    test(`opens ${r.opens}, random ${r.random()} → ${r.expected} ms`, () => {
      assert.ok(Math.abs(breakDurationMs(r.opens, settings, r.random) - r.expected) < 1e-3);
    });
  }

  test('jitter stays within [0.8, 1.2) × base and never exceeds the cap, for many draws', () => {
    for (let i = 0; i < 1000; i++) {
      const r = i / 1000;
      for (const opens of [1, 2, 3, 4, 5, 6, 10]) {
        const base = 30_000 * 2 ** (opens - 1);
        const d = breakDurationMs(opens, settings, () => r);
        assert.ok(d <= settings.maxBreakMs, `capped: ${d}`);
        assert.ok(d >= Math.min(0.8 * base, settings.maxBreakMs) - 1e-6, `lower bound: ${d}`);
        assert.ok(d < 1.2 * base, `upper bound: ${d}`);
      }
    }
  });
});

describe('transitions', () => {
  test('closed: failures below the threshold only count', () => {
    const one = onFailure(CLOSED, T0, settings, mid, 'HTTP 503');
    assert.deepEqual(one, { ...CLOSED, consecutiveFailures: 1, lastFailure: 'HTTP 503' });
    const two = onFailure(one, T0 + 10_000, settings, mid, 'timeout');
    assert.deepEqual(two, { ...CLOSED, consecutiveFailures: 2, lastFailure: 'timeout' });
  });

  test('closed → open at FailureThreshold consecutive failures', () => {
    let s = CLOSED;
    for (let i = 0; i < 3; i++) s = onFailure(s, T0, settings, mid, 'refused');
    assert.deepEqual(s, { state: 'open', consecutiveFailures: 3, openedAt: T0, nextProbeAt: T0 + 30_000, consecutiveOpens: 1, lastFailure: 'refused', outageSince: T0 });
  });

  test('threshold 1 opens on the first failure', () => {
    const s = onFailure(CLOSED, T0, { ...settings, failureThreshold: 1 }, mid);
    assert.equal(s.state, 'open');
    assert.equal(s.nextProbeAt, T0 + 30_000);
  });

  test('an answer resets the failure count of a closed breaker', () => {
    const s = onFailure(onFailure(CLOSED, T0, settings, mid), T0, settings, mid);
    assert.equal(s.consecutiveFailures, 2);
    assert.deepEqual(onAnswer(s), CLOSED);
    // …so failures must be consecutive to open it
    let t = onAnswer(s);
    t = onFailure(onFailure(t, T0, settings, mid), T0, settings, mid);
    assert.equal(t.state, 'closed');
  });

  const admissions: { name: string; state: BreakerState; now: number; force: boolean; expected: ReturnType<typeof admit> }[] = [
    { name: 'closed → deliver', state: CLOSED, now: T0, force: false, expected: { kind: 'closed' } },
    { name: 'closed with --force → deliver', state: CLOSED, now: T0, force: true, expected: { kind: 'closed' } },
    { name: 'open, break not over → refuse', state: open(1, T0, T0 + 30_000), now: T0 + 29_999, force: false, expected: { kind: 'refuse', nextProbeAt: T0 + 30_000 } },
    { name: 'open, break not over, --force → forced', state: open(1, T0, T0 + 30_000), now: T0 + 1, force: true, expected: { kind: 'forced' } },
    { name: 'open, break over → probe', state: open(1, T0, T0 + 30_000), now: T0 + 30_000, force: false, expected: { kind: 'probe' } },
    { name: 'open, long past → probe', state: open(3, T0, T0 + 30_000), now: T0 + 86_400_000, force: false, expected: { kind: 'probe' } },
    { name: 'open, break over, --force → probe (no need to force)', state: open(1, T0, T0 + 30_000), now: T0 + 40_000, force: true, expected: { kind: 'probe' } },
    // The clock was set back an hour: the probe is not an hour further away than the cap.
    { name: 'openedAt in the future (clock set back) → probe', state: open(1, T0 + 3_600_000, T0 + 3_630_000), now: T0, force: false, expected: { kind: 'probe' } },
    // MaxBreakSeconds lowered since the break was chosen: the new cap wins.
    { name: 'saved probe beyond the cap → capped', state: open(9, T0, T0 + 5_000_000), now: T0 + 1_000, force: false, expected: { kind: 'refuse', nextProbeAt: T0 + 600_000 } },
  ];
  for (const a of admissions) {
    test(`admit: ${a.name}`, () => assert.deepEqual(admit(a.state, a.now, settings, a.force), a.expected));
  }

  test('half-open probe succeeds → closed, everything reset', () => {
    const s = enter(open(3, T0, T0 + 120_000, 7), { kind: 'probe' });
    assert.equal(s.state, 'halfOpen');
    assert.deepEqual(onAnswer(s), CLOSED);
  });

  test('half-open probe fails → open again for twice as long (one failure is enough)', () => {
    const s = enter(open(1, T0, T0 + 30_000), { kind: 'probe' });
    const now = T0 + 30_000;
    const reopened = onFailure(s, now, settings, mid, 'ECONNREFUSED');
    // The outage began at the first opening (a state file without outageSince: its openedAt).
    assert.deepEqual(reopened, { state: 'open', consecutiveFailures: 4, openedAt: now, nextProbeAt: now + 60_000, consecutiveOpens: 2, lastFailure: 'ECONNREFUSED', outageSince: T0 });
    // and again: 120 s, 240 s, 480 s, then the 600 s cap
    let t: BreakerState = reopened;
    const breaks: number[] = [];
    for (let i = 0; i < 5; i++) {
      const at = t.nextProbeAt!;
      t = onFailure(enter(t, admit(t, at, settings, false)), at, settings, mid);
      breaks.push(t.nextProbeAt! - at);
    }
    assert.deepEqual(breaks, [120_000, 240_000, 480_000, 600_000, 600_000]);
  });

  test('the outage: the first opening sets outageSince, reopenings keep it, an answer clears it, a time ahead of now does not stand', () => {
    const first = onFailure(onFailure(onFailure(CLOSED, T0, settings, mid), T0 + 1, settings, mid), T0 + 2, settings, mid);
    assert.equal(first.outageSince, T0 + 2);
    let t: BreakerState = first;
    for (let i = 0; i < 3; i++) {
      const at = t.nextProbeAt!;
      t = onFailure(enter(t, admit(t, at, settings, false)), at, settings, mid);
      assert.equal(t.outageSince, T0 + 2, `reopening ${i + 1}`);
      assert.equal(t.openedAt, at, 'openedAt is the last opening: it caps the probe');
    }
    assert.equal(describeBreaker(t, t.openedAt!, settings).outageSince, new Date(T0 + 2).toISOString());
    assert.equal(onAnswer(t).outageSince, undefined);
    assert.equal(describeBreaker(onAnswer(t), T0, settings).outageSince, null);
    // Clock set back below the outage's start: the reopening starts a new one.
    const ahead = onFailure(enter(t, { kind: 'probe' }), T0, settings, mid);
    assert.equal(ahead.outageSince, T0);
  });

  test('a forced pass behaves like a probe: success closes, failure reopens for longer', () => {
    const o = open(2, T0, T0 + 60_000);
    const forced = enter(o, admit(o, T0 + 5, settings, true));
    assert.equal(forced.state, 'halfOpen');
    assert.deepEqual(onAnswer(forced), CLOSED);
    const failed = onFailure(forced, T0 + 10, settings, mid);
    assert.equal(failed.consecutiveOpens, 3);
    assert.equal(failed.nextProbeAt, T0 + 10 + 120_000);
  });

  test('closed and refused passes enter nothing', () => {
    assert.deepEqual(enter(CLOSED, { kind: 'closed' }), CLOSED);
    const o = open(1, T0, T0 + 30_000);
    assert.deepEqual(enter(o, { kind: 'refuse', nextProbeAt: T0 + 30_000 }), o);
  });

  test('leave: a half-open pass that got no verdict (401, 404, time) goes back to open with its old probe time', () => {
    const o = open(2, T0, T0 + 60_000);
    assert.deepEqual(leave(enter(o, { kind: 'probe' })), o);
    assert.deepEqual(leave(CLOSED), CLOSED);
    assert.deepEqual(leave(o), o);
  });
});

describe('what readers see', () => {
  const rows: { name: string; state: BreakerState; now: number; mode: string }[] = [
    { name: 'closed', state: CLOSED, now: T0, mode: 'closed' },
    { name: 'open before the probe time', state: open(1, T0, T0 + 30_000), now: T0 + 10, mode: 'open' },
    { name: 'open at the probe time: half-open', state: open(1, T0, T0 + 30_000), now: T0 + 30_000, mode: 'halfOpen' },
  ];
  for (const r of rows) test(`effectiveMode: ${r.name}`, () => assert.equal(effectiveMode(r.state, r.now, settings), r.mode));

  test('describeBreaker: ISO times, the capped probe time', () => {
    assert.deepEqual(describeBreaker(open(9, T0, T0 + 5_000_000), T0 + 1, settings), {
      state: 'open',
      consecutiveFailures: 3,
      consecutiveOpens: 9,
      openedAt: '2026-11-25T12:00:00.000Z',
      // A state file without outageSince: the last opening stands in.
      outageSince: '2026-11-25T12:00:00.000Z',
      nextProbeAt: '2026-11-25T12:10:00.000Z',
      lastFailure: 'HTTP 503',
    });
    assert.deepEqual(describeBreaker(CLOSED, T0, settings), { state: 'closed', consecutiveFailures: 0, consecutiveOpens: 0, openedAt: null, outageSince: null, nextProbeAt: null, lastFailure: null });
  });

  test('probeDueAt of a closed breaker is now', () => assert.equal(probeDueAt(CLOSED, T0, settings), T0));
});
