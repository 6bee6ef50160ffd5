// Waiting and splitting rules (pos-sync-central(7)): retry backoff with an injected random source, refusal
// backoff and dead-lettering, and the batch split that isolates refused rows.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decideRejection, jitter, rejectionDelayMs, retryDelayMs, splitBatch } from '../src/domain/backoff.js';

const low = (): number => 0; // the smallest factor, 0.8
const mid = (): number => 0.5; // factor 1.0
const high = (): number => 0.999_999_999; // factor just under 1.2

describe('retryDelayMs: first retry at once, then 2^(n-1) s × [0.8, 1.2]', () => {
  const table: Array<{ retry: number; random: () => number; ms: number }> = [
    { retry: 1, random: high, ms: 0 },
    { retry: 1, random: low, ms: 0 },
    { retry: 2, random: low, ms: 1600 },
    { retry: 2, random: mid, ms: 2000 },
    { retry: 3, random: mid, ms: 4000 },
    { retry: 3, random: low, ms: 3200 },
    { retry: 4, random: mid, ms: 8000 },
    { retry: 5, random: mid, ms: 16_000 },
  ];
  for (const row of table) {
    test(`retry ${row.retry} with random ${row.random()} waits ${row.ms} ms`, () => {
      assert.equal(retryDelayMs(row.retry, null, row.random), row.ms);
    });
  }

  test('the upper end of the jitter stays below 1.2×', () => {
    const ms = retryDelayMs(2, null, high);
    assert.ok(ms < 2400 && ms > 2399.99, String(ms));
  });

  test('the first retry does not even draw a random number', () => {
    let draws = 0;
    retryDelayMs(1, null, () => (draws++, 0.5));
    assert.equal(draws, 0);
  });

  test('a longer Retry-After replaces the backoff, a shorter one does not', () => {
    assert.equal(retryDelayMs(1, 5000, mid), 5000, 'even the immediate first retry waits for Retry-After');
    assert.equal(retryDelayMs(2, 10_000, mid), 10_000);
    assert.equal(retryDelayMs(3, 1000, mid), 4000);
    assert.equal(retryDelayMs(2, 0, mid), 2000);
    assert.equal(retryDelayMs(1, 0, mid), 0);
  });

  test('property: every wait lies in [0.8, 1.2] × 2^(n-1) s, or is Retry-After when longer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
        (retry, r, retryAfter) => {
          const base = 2 ** (retry - 1) * 1000;
          const ms = retryDelayMs(retry, retryAfter, () => r);
          const jittered = jitter(base, () => r);
          assert.ok(jittered >= base * 0.8 && jittered <= base * 1.2);
          assert.equal(ms, retryAfter !== null && retryAfter > jittered ? retryAfter : jittered);
        },
      ),
      { seed: 11, numRuns: 1000 },
    );
  });
});

describe('refusals: backoff RetryDelayMinutes × 2^(refusals-1), dead letter at MaxRejections', () => {
  const FIVE_MIN = 5 * 60_000;
  const NOW = 1_000_000;

  test('rejectionDelayMs doubles per refusal', () => {
    assert.equal(rejectionDelayMs(1, FIVE_MIN), FIVE_MIN);
    assert.equal(rejectionDelayMs(2, FIVE_MIN), 2 * FIVE_MIN);
    assert.equal(rejectionDelayMs(3, FIVE_MIN), 4 * FIVE_MIN);
    assert.equal(rejectionDelayMs(0, FIVE_MIN), FIVE_MIN, 'never shorter than the base');
    assert.equal(rejectionDelayMs(4, 0), 0, 'RetryDelayMinutes 0 retries at once');
  });

  const table: Array<{ previous: number; max: number; rejections: number; dead: boolean; next: number | null }> = [
    { previous: 0, max: 3, rejections: 1, dead: false, next: NOW + FIVE_MIN },
    { previous: 1, max: 3, rejections: 2, dead: false, next: NOW + 2 * FIVE_MIN },
    { previous: 2, max: 3, rejections: 3, dead: true, next: null },
    { previous: 7, max: 3, rejections: 8, dead: true, next: null },
    { previous: 0, max: 1, rejections: 1, dead: true, next: null },
    { previous: 4, max: 10, rejections: 5, dead: false, next: NOW + 16 * FIVE_MIN },
  ];
  for (const row of table) {
    test(`after ${row.previous} refusals (max ${row.max}) → ${row.dead ? 'dead-lettered' : `retry at +${(row.next! - NOW) / 60_000} min`}`, () => {
      assert.deepEqual(decideRejection(row.previous, row.max, FIVE_MIN, NOW), {
        rejections: row.rejections,
        deadLettered: row.dead,
        nextAttemptAt: row.next,
      });
    });
  }

  test('property: a row is dead-lettered exactly on its MaxRejections-th refusal', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), (max) => {
        let refusals = 0;
        let deadAt = 0;
        for (let pass = 1; pass <= max + 2 && deadAt === 0; pass++) {
          const d = decideRejection(refusals, max, 0, NOW);
          refusals = d.rejections;
          if (d.deadLettered) deadAt = pass;
          else assert.equal(d.nextAttemptAt, NOW);
        }
        assert.equal(deadAt, max);
      }),
      { seed: 3, numRuns: 200 },
    );
  });
});

describe('splitBatch', () => {
  const table: Array<{ rows: number[]; halves: [number[], number[]] }> = [
    { rows: [1, 2], halves: [[1], [2]] },
    { rows: [1, 2, 3], halves: [[1, 2], [3]] },
    { rows: [1, 2, 3, 4], halves: [[1, 2], [3, 4]] },
    { rows: [1, 2, 3, 4, 5], halves: [[1, 2, 3], [4, 5]] },
  ];
  for (const row of table) {
    test(`[${row.rows.join(',')}] → [${row.halves[0].join(',')}] + [${row.halves[1].join(',')}]`, () => {
      assert.deepEqual(splitBatch(row.rows), row.halves);
    });
  }

  test('does not modify the batch it splits', () => {
    const rows = Object.freeze([1, 2, 3]);
    splitBatch(rows);
    assert.deepEqual(rows, [1, 2, 3]);
  });

  test('property: the halves partition the batch in order, both non-empty, sizes differ by at most one', () => {
    fc.assert(
      fc.property(fc.array(fc.uuid(), { minLength: 2, maxLength: 500 }), (rows) => {
        const [a, b] = splitBatch(rows);
        assert.deepEqual([...a, ...b], rows);
        assert.ok(a.length > 0 && b.length > 0);
        assert.ok(Math.abs(a.length - b.length) <= 1 && a.length >= b.length);
      }),
      { seed: 5, numRuns: 500 },
    );
  });

  test('property: repeated splitting isolates any refused rows in at most ⌈log2 n⌉ levels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 5 }))),
        ([n, refusedIdx]) => {
          const rows = Array.from({ length: n }, (_, i) => i);
          const refused = new Set(refusedIdx);
          const delivered: number[] = [];
          const isolated: number[] = [];
          let maxDepth = 0;
          const deliver = (batch: number[], depth: number): void => {
            maxDepth = Math.max(maxDepth, depth);
            if (!batch.some((r) => refused.has(r))) return void delivered.push(...batch);
            if (batch.length === 1) return void isolated.push(batch[0]!);
            for (const half of splitBatch(batch)) deliver(half, depth + 1);
          };
          deliver(rows, 0);
          assert.deepEqual(isolated.sort((x, y) => x - y), [...refused].sort((x, y) => x - y));
          assert.deepEqual([...delivered, ...isolated].sort((x, y) => x - y), rows, 'every row ends delivered or isolated, once');
          assert.deepEqual(delivered, rows.filter((r) => !refused.has(r)), 'delivered rows keep their order');
          assert.ok(maxDepth <= Math.ceil(Math.log2(n)), `depth ${maxDepth} for ${n} rows`);
        },
      ),
      { seed: 9, numRuns: 300 },
    );
  });
});
