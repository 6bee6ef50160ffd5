// Exit-code precedence (pos-sync(1) EXIT STATUS): when several apply, the first of 78, 77, 74, 75, 65, 0 wins.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ExitCode, exitCodeOf, LocalIoError, TempFailError, worstExitCode } from '../src/errors.js';

const table: Array<{ codes: number[]; exit: number }> = [
  { codes: [], exit: 0 },
  { codes: [0], exit: 0 },
  { codes: [0, 65], exit: 65 },
  { codes: [65, 75], exit: 75 },
  { codes: [75, 65], exit: 75 },
  { codes: [75, 74], exit: 74 },
  { codes: [74, 77], exit: 77 },
  { codes: [77, 78, 65], exit: 78 },
  { codes: [65, 0, 65], exit: 65 },
];
for (const row of table) {
  test(`worstExitCode([${row.codes.join(', ')}]) = ${row.exit}`, () => assert.equal(worstExitCode(row.codes), row.exit));
}

test('property: the result is one of the codes, and none of them ranks before it', () => {
  const order = [78, 77, 74, 75, 65, 0];
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...order), { minLength: 1 }), (codes) => {
      const worst = worstExitCode(codes);
      assert.ok(codes.includes(worst));
      for (const c of codes) assert.ok(order.indexOf(worst) <= order.indexOf(c));
    }),
    { seed: 9, numRuns: 300 },
  );
});

test('the named codes are the sysexits values the man page lists', () => {
  assert.deepEqual(ExitCode, { ok: 0, internal: 1, usage: 64, rejected: 65, io: 74, tempFail: 75, noPermission: 77, config: 78 });
});

// What a failed pass records in the state file is what the process exits with (a
// failure recorded as 1, "a bug", while the process exited 75).
const thrown: Array<{ name: string; err: unknown; exit: number }> = [
  { name: 'a TempFailError (the lock is held)', err: new TempFailError('another pos-sync sync holds the lock'), exit: 75 },
  { name: 'a LocalIoError', err: new LocalIoError('database missing'), exit: 74 },
  { name: 'SQLite busy past the timeout', err: Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), exit: 75 },
  { name: 'SQLite locked', err: Object.assign(new Error('database table is locked'), { code: 'SQLITE_LOCKED_SHAREDCACHE' }), exit: 75 },
  { name: 'SQLite full', err: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), exit: 74 },
  { name: 'a full disk', err: Object.assign(new Error('no space'), { code: 'ENOSPC' }), exit: 74 },
  { name: 'a bug', err: new TypeError('x is undefined'), exit: 1 },
  { name: 'a thrown string', err: 'oops', exit: 1 },
  { name: 'an unrelated error code', err: Object.assign(new Error('x'), { code: 'ERR_SOMETHING' }), exit: 1 },
];
for (const row of thrown) {
  test(`exitCodeOf: ${row.name} → ${row.exit}`, () => assert.equal(exitCodeOf(row.err), row.exit));
}
