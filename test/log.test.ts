// The logger: JSON lines with time, level, message, context and fields when stderr is not a
// terminal; human lines on one; levels; and secrets scrubbed in every form they can take.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, scrub, type LoggerOptions } from '../src/log.js';

function capture(options: Partial<LoggerOptions> = {}) {
  const out: string[] = [];
  const log = createLogger({ json: true, verbose: false, quiet: false, write: (l) => out.push(l), now: () => Date.UTC(2025, 9, 21, 14, 3, 11, 120), ...options });
  return { log, out };
}

describe('log lines', () => {
  test('JSON: one object per line with time, level, message, then context, then fields', () => {
    const { log, out } = capture({ context: { command: 'sync', store: 'STORE001', pass: 'p1' } });
    log.info('batch delivered', { entity: 'transaction', rows: 50 });
    assert.equal(out.length, 1);
    assert.ok(out[0]!.endsWith('\n') && !out[0]!.slice(0, -1).includes('\n'));
    assert.deepEqual(JSON.parse(out[0]!), {
      time: '2025-10-21T14:03:11.120Z', level: 'info', message: 'batch delivered', command: 'sync', store: 'STORE001', pass: 'p1', entity: 'transaction', rows: 50,
    });
    assert.deepEqual(Object.keys(JSON.parse(out[0]!) as object).slice(0, 3), ['time', 'level', 'message']);
  });

  test('a field cannot overwrite time, level or message; errors and bigints become text', () => {
    const { log, out } = capture();
    log.warn('real message', { message: 'spoof', level: 'debug', err: new Error('disk full'), big: 12n });
    const line = JSON.parse(out[0]!) as Record<string, unknown>;
    assert.equal(line['message'], 'real message');
    assert.equal(line['level'], 'warn');
    assert.equal(line['field_message'], 'spoof');
    assert.equal(line['field_level'], 'debug');
    assert.equal(line['err'], 'disk full');
    assert.equal(line['big'], '12');
  });

  test('a circular field does not lose the line', () => {
    const { log, out } = capture();
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    log.error('still logged', { loop });
    assert.equal((JSON.parse(out[0]!) as { message: string }).message, 'still logged');
  });

  test('human lines (a TTY): level, message and fields; no context', () => {
    const { log, out } = capture({ json: false, context: { command: 'sync', pass: 'p1' } });
    log.warn('row refused', { id: 'A1', refusals: 2 });
    assert.deepEqual(out, ['warn: row refused (id=A1 refusals=2)\n']);
  });

  const levels = [
    { name: 'normal', verbose: false, quiet: false, shown: ['info', 'warn', 'error'] },
    { name: '--verbose', verbose: true, quiet: false, shown: ['debug', 'info', 'warn', 'error'] },
    { name: '--quiet', verbose: false, quiet: true, shown: ['warn', 'error'] },
  ];
  for (const row of levels) {
    test(`levels shown with ${row.name}: ${row.shown.join(', ')}`, () => {
      const { log, out } = capture({ verbose: row.verbose, quiet: row.quiet });
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');
      assert.deepEqual(out.map((l) => (JSON.parse(l) as { level: string }).level), row.shown);
    });
  }
});

describe('scrubbing secrets', () => {
  test('in messages, fields and context, raw and JSON-escaped', () => {
    const secret = 'p"a\\ss-w0rd';
    const { log, out } = capture({ secrets: [secret], context: { odd: `ctx ${secret}` } });
    log.error(`failed with ${secret}`, { detail: `header Authorization: Bearer ${secret}` });
    const { log: human, out: humanOut } = capture({ json: false, secrets: [secret] });
    human.error(`failed with ${secret}`, { detail: secret });
    for (const line of [...out, ...humanOut]) {
      assert.ok(!line.includes(secret), line);
      assert.ok(!line.includes(JSON.stringify(secret).slice(1, -1)), line);
      assert.ok(line.includes('<redacted>'), line);
    }
  });

  test('a secret inside a longer one: the longer is replaced whole when listed first', () => {
    assert.equal(scrub('Authorization: Bearer abcd1234', ['Bearer abcd1234', 'abcd1234']), 'Authorization: <redacted>');
  });

  test('very short "secrets" are not scrubbed (they would garble every line)', () => {
    assert.equal(scrub('abc', ['ab']), 'abc');
  });
});
