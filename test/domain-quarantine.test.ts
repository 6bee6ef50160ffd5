// The quarantine's decisions as tables, on a fake clock: which failures may be narrowed down to a
// row, when narrowing is an outage after all, and what each strike does to a row.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Outcome } from '../src/domain/classify.js';
import { isolatable, looksLikeOutage, quarantineDelayMs, strike, type QuarantineSettings, type Suspect } from '../src/domain/quarantine.js';

const MIN = 60_000;
const SETTINGS: QuarantineSettings = { afterPasses: 3, baseDelayMs: 5 * MIN, maxDelayMs: 60 * MIN };
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);

describe('isolatable: failures that may be about one row', () => {
  const temporary = (status: number | null, retryAfterMs: number | null = null): Outcome => ({ kind: 'temporary', status, error: 'x', retryAfterMs });
  const rows: [string, Outcome, boolean][] = [
    ['500', temporary(500), true],
    ['502 from a gateway', temporary(502), true],
    ['503 with Retry-After: the central pacing us', temporary(503, 5000), false],
    ['a connection reset or a timeout (no status)', temporary(null), true],
    ['a 2xx cut short', temporary(200), true],
    ['429', temporary(429), false],
    ['408', temporary(408), false],
    ['409', temporary(409), false],
    ['an acknowledgement', { kind: 'accepted', rejected: [] }, false],
    ['a refusal', { kind: 'refused', status: 422, error: 'x' }, false],
  ];
  for (const [name, outcome, expected] of rows) test(name, () => assert.equal(isolatable(outcome), expected));
});

describe('looksLikeOutage', () => {
  for (const [failures, expected] of [[1, false], [4, false], [5, false], [6, true], [40, true]] as const) {
    test(`${failures} failed requests in a row → ${expected}`, () => assert.equal(looksLikeOutage(failures), expected));
  }
});

describe('quarantineDelayMs: RetryDelayMinutes × 2^(tries − 1), at most an hour', () => {
  for (const [tries, minutes] of [[1, 5], [2, 10], [3, 20], [4, 40], [5, 60], [9, 60], [200, 60]] as const) {
    test(`try ${tries} → ${minutes} min`, () => assert.equal(quarantineDelayMs(tries, SETTINGS), minutes * MIN));
  }
  test('RetryDelayMinutes 0: due again at once', () => assert.equal(quarantineDelayMs(4, { ...SETTINGS, baseDelayMs: 0 }), 0));
});

describe('strike: one pass more in which the row failed alone', () => {
  test('a row struck pass after pass: suspect, suspect, quarantined, then each failed try doubles the wait', () => {
    const expected: { at: number; strikes: number; tries: number; quarantinedAt: number | null; nextInMinutes: number | null }[] = [
      { at: 0, strikes: 1, tries: 0, quarantinedAt: null, nextInMinutes: null },
      { at: 10_000, strikes: 2, tries: 0, quarantinedAt: null, nextInMinutes: null },
      { at: 20_000, strikes: 3, tries: 1, quarantinedAt: T0 + 20_000, nextInMinutes: 5 },
      { at: 20_000 + 5 * MIN, strikes: 4, tries: 2, quarantinedAt: T0 + 20_000, nextInMinutes: 10 },
      { at: 20_000 + 15 * MIN, strikes: 5, tries: 3, quarantinedAt: T0 + 20_000, nextInMinutes: 20 },
    ];
    let s: Suspect | null = null;
    for (const e of expected) {
      const now = T0 + e.at;
      s = strike(s, now, SETTINGS);
      assert.deepEqual(s, { strikes: e.strikes, tries: e.tries, quarantinedAt: e.quarantinedAt, nextAttemptAt: e.nextInMinutes === null ? null : now + e.nextInMinutes * MIN }, `at +${e.at} ms`);
    }
  });

  test('Sync.QuarantineAfterPasses 1: quarantined at the first strike', () => {
    assert.deepEqual(strike(null, T0, { ...SETTINGS, afterPasses: 1 }), { strikes: 1, tries: 1, quarantinedAt: T0, nextAttemptAt: T0 + 5 * MIN });
  });
});
