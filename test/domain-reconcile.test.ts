// The pure part of reconcile: exact money, the digest, days in a zone with daylight saving, where a
// range splits, and narrowing against an in-memory "central" with a request counter.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  compareListings,
  dayRange,
  defaultWindow,
  EMPTY_SUMMARY,
  formatDecimal,
  formatDigest,
  idHash,
  narrow,
  parseDecimal,
  sameSummary,
  splitPoint,
  subtract,
  SummaryBuilder,
  type ListedRow,
  type Summaries,
  type Range,
  type Summary,
} from '../src/domain/reconcile.js';
import { reconcileWindow, renderReconcile, type ReconcileResult } from '../src/commands/reconcile.js';
import { UsageError } from '../src/errors.js';

describe('exact money', () => {
  test('decimal text is summed exactly, where binary floats are not', () => {
    const values = Array.from({ length: 10 }, () => '0.1');
    const builder = new SummaryBuilder();
    values.forEach((v, i) => builder.add(`ID${i}`, parseDecimal(v)!));
    assert.equal(formatDecimal(builder.result().total), '1');
    assert.notEqual(values.reduce((a, v) => a + Number(v), 0), 1, 'the float sum is not 1: the reason for all this');
  });
  test('parse and format round trip; bad text is undefined', () => {
    for (const [text, canonical] of [['12.50', '12.5'], ['-3', '-3'], ['0.0000000001', '0.0000000001'], ['-0.00', '0'], ['+7.10', '7.1'], ['99999999999999999999.99', '99999999999999999999.99'],
      // .NET's decimal: 28 fraction digits, 29 whole digits; zeros past the 28th are only spelling.
      ['0.1234567890123456789012345678', '0.1234567890123456789012345678'], ['79228162514264337593543950335', '79228162514264337593543950335'],
      ['-7.9228162514264337593543950335', '-7.9228162514264337593543950335'], [`1.${'0'.repeat(40)}`, '1']]) {
      assert.equal(formatDecimal(parseDecimal(text!)!), canonical, text);
    }
    for (const bad of ['', '1e3', '12,50', 'NaN', '1.', '.5', `0.${'0'.repeat(28)}1`, 'abc']) assert.equal(parseDecimal(bad), undefined, bad);
  });
});

describe('digest', () => {
  test('sum mod 2^256 of sha-256 of the upper-case id, whatever the order or the case', () => {
    const ids = ['a1b2', 'FFFF-0001', 'c0ffee'];
    const expected = ids.reduce((acc, id) => (acc + BigInt(`0x${createHash('sha256').update(id.toUpperCase()).digest('hex')}`)) % (1n << 256n), 0n);
    const forward = new SummaryBuilder();
    ids.forEach((id) => forward.add(id, 0n));
    const backward = new SummaryBuilder();
    [...ids].reverse().forEach((id) => backward.add(id.toUpperCase(), 0n));
    assert.equal(forward.result().digest, expected);
    assert.equal(backward.result().digest, expected);
    assert.equal(formatDigest(expected).length, 64);
  });
  test('the word-wise accumulator agrees with BigInt arithmetic over many rows (carries included)', () => {
    const builder = new SummaryBuilder();
    let reference = 0n;
    for (let i = 0; i < 5000; i++) {
      builder.add(`ROW-${i}`, 1n);
      reference = (reference + idHash(`ROW-${i}`)) % (1n << 256n);
    }
    assert.equal(builder.result().digest, reference);
  });
  test('subtraction recovers a part from the whole', () => {
    const whole = new SummaryBuilder();
    const left = new SummaryBuilder();
    for (let i = 0; i < 100; i++) {
      whole.add(`X${i}`, BigInt(i));
      if (i < 37) left.add(`X${i}`, BigInt(i));
    }
    const right = new SummaryBuilder();
    for (let i = 37; i < 100; i++) right.add(`X${i}`, BigInt(i));
    assert.ok(sameSummary(subtract(whole.result(), left.result()), right.result()));
  });
});

describe('days in a time zone', () => {
  test('Europe/Berlin, last Sunday of October 2026: the day has 25 hours', () => {
    const r = dayRange('2026-10-25', 'Europe/Berlin');
    assert.equal(new Date(r.from).toISOString(), '2026-10-24T22:00:00.000Z');
    assert.equal(new Date(r.to).toISOString(), '2026-10-25T23:00:00.000Z');
    const spring = dayRange('2026-03-29', 'Europe/Berlin');
    assert.equal(spring.to - spring.from, 23 * 3_600_000);
    const utc = dayRange('2026-10-25', 'UTC');
    assert.equal(utc.to - utc.from, 24 * 3_600_000);
  });
  test('the default window is yesterday and today in the zone', () => {
    const now = Date.parse('2026-10-25T23:30:00Z'); // already the 26th in Berlin
    const w = defaultWindow(now, 'Europe/Berlin');
    assert.equal(new Date(w.from).toISOString(), '2026-10-24T22:00:00.000Z');
    assert.equal(new Date(w.to).toISOString(), '2026-10-26T23:00:00.000Z');
  });
  test('bad or contradictory dates are usage errors', () => {
    const now = Date.now();
    for (const options of [{ date: '2026-02-30' }, { date: 'yesterday' }, { from: '2026-01-02' }, { from: '2026-01-02', to: '2026-01-01' }, { date: '2026-01-01', from: '2026-01-01', to: '2026-01-02' }, { from: '2026-01-01T00:00:00', to: '2026-01-02' }]) {
      assert.throws(() => reconcileWindow(options, now, 'UTC'), UsageError, JSON.stringify(options));
    }
    assert.deepEqual(reconcileWindow({ from: '2026-01-01T00:00:00+01:00', to: '2026-01-02' }, now, 'UTC'), { from: Date.parse('2025-12-31T23:00:00Z'), to: Date.parse('2026-01-02T00:00:00Z') });
  });
});

describe('splitting', () => {
  test('at midnight while the range spans days, then on the hour, then in the middle', () => {
    const tz = 'Europe/Berlin';
    const two = { from: dayRange('2026-10-24', tz).from, to: dayRange('2026-10-25', tz).to };
    assert.equal(new Date(splitPoint(two, tz)!).toISOString(), '2026-10-24T22:00:00.000Z');
    const day = dayRange('2026-10-25', tz);
    const hour = splitPoint(day, tz)!;
    assert.equal((hour - day.from) % 3_600_000, 0);
    const oneHour = { from: Date.parse('2026-10-25T10:00:00Z'), to: Date.parse('2026-10-25T11:00:00Z') };
    assert.equal(splitPoint(oneHour, tz), Date.parse('2026-10-25T10:30:00Z'));
    assert.equal(splitPoint({ from: 5, to: 6 }, tz), null);
  });
});

/** A central made of rows in memory, counting the requests narrowing makes. */
function fakes(here: Array<{ id: string; at: number; amount: string }>, central: Array<{ id: string; at: number; amount: string }>) {
  let requests = 0;
  const sum = (rows: typeof here, r: Range): Summary => {
    const b = new SummaryBuilder();
    for (const row of rows) if (row.at >= r.from && row.at < r.to) b.add(row.id, parseDecimal(row.amount)!);
    return b.result();
  };
  const list = (rows: typeof here, r: Range): ListedRow[] => rows.filter((x) => x.at >= r.from && x.at < r.to).map((x) => ({ id: x.id, amount: x.amount }));
  const summaries: Summaries = {
    local: async (r) => sum(here, r),
    central: async (r) => {
      requests++;
      return sum(central, r);
    },
    localRows: async (r) => list(here, r),
    centralRows: async (r) => {
      requests++;
      return list(central, r);
    },
  };
  return { summaries, sum, requests: () => requests };
}

describe('narrowing', () => {
  const day = dayRange('2026-03-10', 'UTC');
  const rows = Array.from({ length: 20_000 }, (_, i) => ({ id: `ID-${i}`, at: day.from + Math.floor((i * (day.to - day.from)) / 20_000), amount: `${i % 100}.25` }));

  test('finds the missing, the extra and the changed amount, in O(log n) requests', async () => {
    const central = rows.filter((_, i) => i !== 123 && i !== 15_000).map((r) => (r.id === 'ID-7000' ? { ...r, amount: '0.01' } : r));
    central.push({ id: 'EXTRA-1', at: day.from + 1000, amount: '5' });
    const f = fakes(rows, central);
    const diff = await narrow(day, f.sum(rows, day), f.sum(central, day), f.summaries, 'UTC', 500);
    assert.deepEqual(diff.missingAtCentral.map((r) => r.id).sort(), ['ID-123', 'ID-15000']);
    assert.deepEqual(diff.extraAtCentral.map((r) => r.id), ['EXTRA-1']);
    assert.deepEqual(diff.amountDiffers, [{ id: 'ID-7000', here: '0.25', central: '0.01' }]);
    // 4 differing rows, each found within ⌈log2 24⌉ + ⌈log2(834/500)⌉ + 1 = 7 requests.
    assert.ok(f.requests() <= 4 * 7, `${f.requests()} requests`);
  });

  test('an equal pair of summaries costs nothing', async () => {
    const f = fakes(rows, rows);
    const diff = await narrow(day, f.sum(rows, day), f.sum(rows, day), f.summaries, 'UTC');
    assert.equal(f.requests(), 0);
    assert.deepEqual(diff.ranges, []);
  });

  test('compareListings ignores the case of ids and the spelling of equal amounts', () => {
    const r = compareListings([{ id: 'abc', amount: '1.50' }], [{ id: 'ABC', amount: '1.5' }]);
    assert.deepEqual(r, { missingAtCentral: [], extraAtCentral: [], amountDiffers: [] });
    assert.ok(sameSummary(EMPTY_SUMMARY, subtract(EMPTY_SUMMARY, EMPTY_SUMMARY)));
  });
});

describe('human output', () => {
  test('ids from the central never reach a terminal raw', () => {
    const result: ReconcileResult = {
      command: 'reconcile', exitCode: 65, requests: 3, durationMs: 1, resent: [],
      window: { from: '2026-03-10T00:00:00.000Z', to: '2026-03-11T00:00:00.000Z', timeZone: 'UTC' },
      entities: [{
        entity: 'transaction', status: 'mismatch', here: { count: 1, totalAmount: '1' }, central: { count: 2, totalAmount: '2' }, moneyDifference: '-1', unexplainedDifference: '0',
        missingAtCentral: [], extraAtCentral: [{ id: 'EVIL\u001b[2J\u0007', amount: '1' }], amountDiffers: [], atCentralNotMarkedHere: [], atCentralWithoutTill: [],
        pending: 0, deadLettered: 0, unreadable: [], listedRanges: [],
      }],
    };
    const text = renderReconcile(result, { ok: (x) => x, bad: (x) => x, warn: (x) => x });
    assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.match(text, /EVIL/);
  });
});
