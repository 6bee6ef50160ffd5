// withRetries (src/central/retry.ts), the one place requests are retried, driven by a fake clock
// whose sleep moves time forward: nothing here really waits.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MIN_REQUEST_MS, withRetries, type RetryPolicy } from '../src/central/retry.js';
import type { Outcome } from '../src/domain/classify.js';

const T0 = 1_700_000_000_000;

function fakeTime(): { clock: { now(): number }; sleep: (ms: number) => Promise<void>; slept: number[]; advance(ms: number): void } {
  let now = T0;
  const slept: number[] = [];
  return {
    clock: { now: () => now },
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    slept,
    advance: (ms) => void (now += ms),
  };
}

const temporary = (retryAfterMs: number | null = null, status: number | null = 503): Outcome => ({
  kind: 'temporary',
  status,
  error: status === null ? 'cannot reach central: ECONNREFUSED' : `HTTP ${status}`,
  retryAfterMs,
});
const accepted: Outcome = { kind: 'accepted', rejected: [] };

/** An attempt that answers from a script and records the time left it was given. */
function scripted(answers: Outcome[], time: ReturnType<typeof fakeTime>, costMs = 0) {
  const calls: number[] = [];
  const attempt = async (timeLeftMs: number): Promise<Outcome> => {
    calls.push(timeLeftMs);
    time.advance(costMs);
    const next = answers.shift();
    if (!next) throw new Error('attempt called more often than scripted');
    return next;
  };
  return { attempt, calls };
}

function policy(time: ReturnType<typeof fakeTime>, extra: Partial<RetryPolicy> = {}): RetryPolicy & { retries: Array<{ retry: number; waitMs: number }> } {
  const retries: Array<{ retry: number; waitMs: number }> = [];
  return {
    maxRetries: 3,
    deadline: T0 + 60_000,
    clock: time.clock,
    random: () => 0.5, // jitter factor 1.0
    sleep: time.sleep,
    onRetry: ({ retry, waitMs }) => void retries.push({ retry, waitMs }),
    retries,
    ...extra,
  };
}

describe('withRetries', () => {
  test('a first success is returned with no retry and no wait', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([accepted], time);
    const p = policy(time);
    assert.deepEqual(await withRetries(attempt, p), accepted);
    assert.equal(calls.length, 1);
    assert.deepEqual(time.slept, []);
  });

  test('temporary failures are retried: the first at once, then 2 s, 4 s', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([temporary(), temporary(), temporary(), accepted], time);
    const p = policy(time);
    assert.deepEqual(await withRetries(attempt, p), accepted);
    assert.equal(calls.length, 4);
    assert.deepEqual(p.retries, [
      { retry: 1, waitMs: 0 },
      { retry: 2, waitMs: 2000 },
      { retry: 3, waitMs: 4000 },
    ]);
    assert.deepEqual(time.slept, [2000, 4000], 'the immediate retry does not call sleep');
    assert.equal(time.clock.now(), T0 + 6000);
  });

  test('retries exhausted: MaxRetryAttempts retries, then the last temporary outcome', async () => {
    const time = fakeTime();
    const last = temporary(null, 502);
    const { attempt, calls } = scripted([temporary(), temporary(), temporary(), last], time);
    const p = policy(time);
    assert.deepEqual(await withRetries(attempt, p), last);
    assert.equal(calls.length, 4, '1 attempt + 3 retries');
    assert.equal(p.retries.length, 3);
  });

  test('MaxRetryAttempts 0 means one attempt only', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([temporary()], time);
    const result = await withRetries(attempt, policy(time, { maxRetries: 0 }));
    assert.equal(result.kind, 'temporary');
    assert.equal(calls.length, 1);
    assert.deepEqual(time.slept, []);
  });

  for (const outcome of [
    { kind: 'refused', status: 422, error: 'HTTP 422' },
    { kind: 'tooLarge', status: 413, error: 'HTTP 413' },
    { kind: 'credentials', status: 401, error: 'HTTP 401' },
    { kind: 'misconfigured', status: 404, error: 'HTTP 404' },
    { kind: 'accepted', rejected: [{ id: 'A', error: 'x' }] },
  ] as Outcome[]) {
    test(`a ${outcome.kind} outcome is final: never retried`, async () => {
      const time = fakeTime();
      const { attempt, calls } = scripted([temporary(), outcome], time);
      assert.deepEqual(await withRetries(attempt, policy(time)), outcome);
      assert.equal(calls.length, 2);
    });
  }

  test('a longer Retry-After replaces the backoff', async () => {
    const time = fakeTime();
    const { attempt } = scripted([temporary(7000, 429), temporary(1000, 429), accepted], time);
    const p = policy(time);
    await withRetries(attempt, p);
    assert.deepEqual(p.retries.map((r) => r.waitMs), [7000, 2000]);
    assert.deepEqual(time.slept, [7000, 2000]);
  });

  test('jitter comes from the injected random source', async () => {
    const time = fakeTime();
    const { attempt } = scripted([temporary(), temporary(), temporary(), accepted], time);
    const draws = [0, 0.999];
    const p = policy(time, { random: () => draws.shift() ?? 0.5 });
    await withRetries(attempt, p);
    assert.equal(p.retries[1]!.waitMs, 1600);
    assert.ok(Math.abs(p.retries[2]!.waitMs - 4000 * 1.1996) < 1);
  });

  test('a wait that would cross the deadline ends with outOfTime instead of sleeping', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([temporary(), temporary(), accepted], time);
    const p = policy(time, { deadline: T0 + 1500 }); // the 2 s wait does not fit
    const result = await withRetries(attempt, p);
    assert.equal(result.kind, 'outOfTime');
    assert.ok(result.kind === 'outOfTime' && /time budget/.test(result.error), JSON.stringify(result));
    assert.equal(calls.length, 2, 'the immediate retry still happened');
    assert.deepEqual(time.slept, []);
  });

  test('a Retry-After beyond the budget ends the pass at once', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([temporary(3_600_000, 429)], time);
    const result = await withRetries(attempt, policy(time, { deadline: T0 + 8000 }));
    assert.equal(result.kind, 'outOfTime');
    assert.equal(calls.length, 1);
    assert.deepEqual(time.slept, []);
  });

  test('a wait that fits exactly (with room for one more request) is taken', async () => {
    const time = fakeTime();
    const { attempt } = scripted([temporary(), temporary(), accepted], time);
    const p = policy(time, { deadline: T0 + 2000 + MIN_REQUEST_MS });
    assert.deepEqual(await withRetries(attempt, p), accepted);
    assert.deepEqual(time.slept, [2000]);
  });

  test('slow attempts use up the budget: the time left is passed to each attempt', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([temporary(), temporary(), accepted], time, 3000);
    const p = policy(time, { deadline: T0 + 7000 });
    const result = await withRetries(attempt, p);
    // 1st attempt 0-3 s, immediate retry 3-6 s, then a 2 s wait would end at 8 s > 7 s.
    assert.equal(result.kind, 'outOfTime');
    assert.deepEqual(calls, [7000, 4000]);
  });

  test('no attempt starts with less than MIN_REQUEST_MS left', async () => {
    const time = fakeTime();
    const { attempt, calls } = scripted([accepted], time);
    const result = await withRetries(attempt, policy(time, { deadline: T0 + MIN_REQUEST_MS - 1 }));
    assert.equal(result.kind, 'outOfTime');
    assert.equal(calls.length, 0);
  });

  test('an unexpected exception from the attempt propagates (a bug is not an outage)', async () => {
    const time = fakeTime();
    await assert.rejects(
      withRetries(async () => {
        throw new RangeError('boom');
      }, policy(time)),
      /boom/,
    );
  });
});
