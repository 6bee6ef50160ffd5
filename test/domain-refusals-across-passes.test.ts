// judgeHeld with what earlier passes left (RefusedAlone), refusedAloneAfter and penaliseWaiting, as
// tables: one reason for every row tried spans passes, so a quiet till is judged like a busy one.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeHeld, penaliseWaiting, refusedAloneAfter, type HeldRefusal, type RefusedAlone } from '../src/domain/refusals.js';

const T = Date.UTC(2026, 11, 7, 9, 0, 0);
const before = (reason: string, ...ids: string[]): RefusedAlone => ({ reason, ids, at: T - 10_000 });
const r = (id: string, error: string, refusedBefore = false): HeldRefusal => ({ id, error, refusedBefore });

describe('judgeHeld across passes', () => {
  const rows: [string, HeldRefusal[], number, RefusedAlone | null, string][] = [
    ['one row, nothing before: wait', [r('A', 'unknown store')], 0, null, 'wait'],
    ['one row, another row refused alone before for the same reason: shared', [r('B', 'unknown store')], 0, before('unknown store', 'A'), 'shared'],
    ['one row, the id in the reason, another before: shared', [r('B', 'row B: unknown store')], 0, before('row <id>: unknown store', 'A'), 'shared'],
    ['one row, the same row alone before: still wait', [r('A', 'unknown store')], 0, before('unknown store', 'A'), 'wait'],
    ['one row, another before for another reason: wait', [r('B', 'price')], 0, before('unknown store', 'A'), 'wait'],
    ['a row accepted in this pass: record', [r('B', 'unknown store')], 1, before('unknown store', 'A'), 'record'],
    ['one row refused before (judged bad with others accepted), nothing before: wait, then penalised', [r('A', 'x', true)], 0, null, 'wait'],
    ['one row refused before, a memory: record', [r('A', 'x', true)], 0, before('x', 'B'), 'record'],
    ['two rows, same reason, within the pass: shared', [r('A', 'x'), r('B', 'x')], 0, null, 'shared'],
    ['two rows, reasons differ: record', [r('A', 'x'), r('B', 'y')], 0, before('x', 'C'), 'record'],
  ];
  for (const [name, held, accepted, b, kind] of rows) test(name, () => assert.equal(judgeHeld(held, accepted, b).kind, kind));
});

describe('refusedAloneAfter: what a pass leaves for the next', () => {
  test('a row accepted: forget', () => assert.equal(refusedAloneAfter(before('x', 'A'), [], 3, false, T), null));
  test('refusals recorded as the rows\' own: forget', () => assert.equal(refusedAloneAfter(before('x', 'A'), [], 0, true, T), null));
  test('nothing refused, nothing accepted (idle, outage): unchanged', () => assert.equal(refusedAloneAfter(before('x', 'A'), [], 0, false, T), undefined));
  test('a lone refusal: remembered with the earlier rows of the same reason', () =>
    assert.deepEqual(refusedAloneAfter(before('x', 'A'), [r('B', 'x')], 0, false, T), { reason: 'x', ids: ['B', 'A'], at: T }));
  test('a lone refusal for a new reason: the earlier rows are forgotten', () =>
    assert.deepEqual(refusedAloneAfter(before('x', 'A'), [r('B', 'y')], 0, false, T), { reason: 'y', ids: ['B'], at: T }));
  test('at most five ids', () =>
    assert.equal(refusedAloneAfter(before('x', 'A', 'B', 'C', 'D', 'E'), [r('F', 'x')], 0, false, T)!.ids.length, 5));
});

describe('penaliseWaiting', () => {
  test('a lone row never refused before is not penalised', () => assert.equal(penaliseWaiting([r('A', 'x')]), false));
  test('a lone row refused before (judged bad then) is', () => assert.equal(penaliseWaiting([r('A', 'x', true)]), true));
});
