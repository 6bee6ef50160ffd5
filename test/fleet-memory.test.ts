// The reference head office keeps heartbeats in bounded memory (examples/central/README.md, "The
// fleet"): at most historySize per till and maxTills tills, the till silent longest forgotten
// first; the page's order is worst first; the program's silence flag is checked.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FleetBook, type Heartbeat } from '../examples/central/fleet.js';
import { fleetHtml, parseFilter } from '../examples/central/fleet-page.js';
import { parseProgramArgs } from '../examples/central/server.js';

const T = Date.parse('2026-12-07T10:00:00.000Z');

function heartbeat(storeId: string, tillId: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    schemaVersion: 1,
    sentAt: new Date(T).toISOString(),
    version: '0.1.0',
    storeId,
    tillId,
    verdict: 'OK',
    verdictSince: new Date(T - 60_000).toISOString(),
    headline: 'syncing, nothing pending',
    problems: [],
    pending: { transaction: { pending: 0, oldestPendingAt: null }, inventory: { pending: 0, oldestPendingAt: null } },
    oldestPendingAgeSeconds: null,
    deadLettered: 0,
    breaker: { state: 'closed' },
    lastSuccessAt: null,
    lastPass: null,
    kafka: { enabled: false, backlog: null, trouble: null },
    disk: { freeBytes: 1, totalBytes: 2 },
    clockOffsetMs: 0,
    configHash: '0123456789abcdef',
    ...over,
  };
}

describe('bounded memory', () => {
  test('at most historySize heartbeats per till, the latest kept', () => {
    const book = new FleetBook({ silenceMs: 300_000, historySize: 3, maxTills: 10 });
    for (let i = 0; i < 7; i++) book.receive(heartbeat('S', 't', { deadLettered: i }), T + i);
    assert.deepEqual(book.history('S', 't')!.map((r) => r.heartbeat.deadLettered), [6, 5, 4]);
  });
  test('at most maxTills tills: a new one forgets the till heard from longest ago', () => {
    const book = new FleetBook({ silenceMs: 300_000, historySize: 2, maxTills: 3 });
    book.receive(heartbeat('S', 'a'), T);
    book.receive(heartbeat('S', 'b'), T + 1);
    book.receive(heartbeat('S', 'c'), T + 2);
    book.receive(heartbeat('S', 'a'), T + 3); // a is fresh again
    book.receive(heartbeat('S', 'd'), T + 4);
    assert.equal(book.size, 3);
    assert.equal(book.history('S', 'b'), null, 'b was heard from longest ago');
    assert.deepEqual(book.rows(T + 5).map((r) => r.tillId).sort(), ['a', 'c', 'd']);
  });
  test('refused heartbeats: the latest 200 claimed store/till pairs, counted', () => {
    const book = new FleetBook({ silenceMs: 300_000, historySize: 2, maxTills: 3 });
    for (let i = 0; i < 250; i++) book.refuse('S', `t${i}`, 401, T);
    book.refuse('S', 't249', 401, T + 1);
    const list = book.refusedList();
    assert.equal(list.length, 200);
    assert.deepEqual(list[0], { storeId: 'S', tillId: 't249', status: 401, at: new Date(T + 1).toISOString(), count: 2 });
    assert.equal(book.refusedTotal, 251);
  });
});

test('worst first: NOT SYNCING, NOT REPORTING, DEGRADED, OK; then the oldest pending row', () => {
  const book = new FleetBook({ silenceMs: 60_000, historySize: 2, maxTills: 10 });
  book.receive(heartbeat('S', 'ok'), T + 120_000);
  book.receive(heartbeat('S', 'silent', { verdict: 'DEGRADED', oldestPendingAgeSeconds: 5 }), T);
  book.receive(heartbeat('S', 'deg-young', { verdict: 'DEGRADED', oldestPendingAgeSeconds: 10 }), T + 120_000);
  book.receive(heartbeat('S', 'deg-old', { verdict: 'DEGRADED', oldestPendingAgeSeconds: 900 }), T + 120_000);
  book.receive(heartbeat('T', 'ns', { verdict: 'NOT SYNCING' }), T + 120_000);
  const rows = book.rows(T + 120_000);
  assert.deepEqual(rows.map((r) => [r.shown, r.tillId]), [
    ['NOT SYNCING', 'ns'],
    ['NOT REPORTING', 'silent'],
    ['DEGRADED', 'deg-old'],
    ['DEGRADED', 'deg-young'],
    ['OK', 'ok'],
  ]);
  // The silent till's oldest pending row keeps ageing from its last heartbeat.
  assert.equal(rows[1]!.oldestPendingAgeSeconds, 5 + 120);
  assert.deepEqual(book.rows(T + 120_000, { store: 'T' }).map((r) => r.tillId), ['ns']);
  assert.deepEqual(book.rows(T + 120_000, { verdicts: ['OK', 'NOT REPORTING'] }).map((r) => r.tillId), ['silent', 'ok']);
});

test('what a till sends is escaped on the page', () => {
  const book = new FleetBook({ silenceMs: 60_000, historySize: 2, maxTills: 10 });
  book.receive(heartbeat('S', 't', { headline: '<script>alert(1)</script>', version: '"><b>' }), T);
  const html = fleetHtml(book, T, {});
  assert.doesNotMatch(html, /<script>|"><b>/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('filters: an unknown verdict is refused, the rest read', () => {
  assert.deepEqual(parseFilter(new URL('http://x/fleet?verdict=OK&verdict=DEGRADED&store=S1')), { verdicts: ['OK', 'DEGRADED'], store: 'S1' });
  assert.deepEqual(parseFilter(new URL('http://x/fleet?verdict=&store=')), {});
  assert.match(String(parseFilter(new URL('http://x/fleet?verdict=FINE'))), /verdict must be one of NOT SYNCING, NOT REPORTING, DEGRADED, OK/);
});

test('the program: --silence-seconds, CENTRAL_SILENCE_SECONDS, --no-heartbeat', () => {
  const read = (args: string[], env: Record<string, string> = {}): ReturnType<typeof parseProgramArgs> => parseProgramArgs(args, env);
  assert.deepEqual((read([]) as { fleet: unknown }).fleet, { heartbeat: true, silenceSeconds: 300 });
  assert.deepEqual((read(['--silence-seconds', '90', '--no-heartbeat']) as { fleet: unknown }).fleet, { heartbeat: false, silenceSeconds: 90 });
  assert.deepEqual((read([], { CENTRAL_SILENCE_SECONDS: '45' }) as { fleet: unknown }).fleet, { heartbeat: true, silenceSeconds: 45 });
  assert.throws(() => read(['--silence-seconds', '0']), /--silence-seconds \(or CENTRAL_SILENCE_SECONDS\) must be a number of seconds above 0, got "0"/);
  assert.throws(() => read([], { CENTRAL_SILENCE_SECONDS: 'soon' }), /got "soon"/);
});
