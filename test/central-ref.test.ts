// The reference central API (examples/central): real requests over 127.0.0.1.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';

import { parseInPieces, parseJsonBody } from '../examples/central/body.js';
import { decideFault, NO_FAULTS, seededRandom, type Faults } from '../examples/central/faults.js';
import { startCentral, tokenFingerprint, type RunningCentral } from '../examples/central/server.js';
import { checkBatchEvent, checkDateTime, checkSingleEvent } from '../examples/central/validate.js';
import { answerOf, inventoryEvent, nextId, post, singleEvent, transactionEvent, useCentral } from './helpers/central.js';

const SERVER_JS = fileURLToPath(new URL('../examples/central/server.js', import.meta.url));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'central-ref-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const answer = await answerOf(response);
  return { status: answer.status, json: answer.json };
}

/** Posts `count` one-event batches and returns the statuses (or "dropped" for a lost connection). */
async function statuses(central: RunningCentral, count: number): Promise<Array<number | string>> {
  const seen: Array<number | string> = [];
  for (let i = 0; i < count; i++) {
    try {
      seen.push((await post(central, [transactionEvent()], {}, AbortSignal.timeout(2000))).status);
    } catch {
      seen.push('dropped');
    }
  }
  return seen;
}

describe('routes', () => {
  test('GET /health answers 200 {"status":"ok"}; unknown routes 404; GET on the events endpoint 405', async (t) => {
    const central = await useCentral(t);
    assert.match(central.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(await getJson(central.healthUrl), { status: 200, json: { status: 'ok' } });
    assert.equal((await getJson(`${central.url}/api/other`)).status, 404);
    const wrongMethod = await fetch(central.eventsUrl, { signal: AbortSignal.timeout(5000) });
    await wrongMethod.text();
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    assert.equal(central.stats().healthChecks, 1);
  });
});

describe('batch format', () => {
  test('stores a valid batch with money text exactly as sent, in arrival order', async (t) => {
    const central = await useCentral(t);
    const events = [
      transactionEvent({ unitPrice: '54.99', totalAmount: '109.98', quantity: 2, metadata: '{"register":"R2"}' }),
      inventoryEvent({ previousStock: 0, newStock: 24, quantityChange: 24, transactionId: 'T-1' }),
      transactionEvent({ unitPrice: '0.10', totalAmount: '-3.00', quantity: -30, metadata: { register: 'R1' } }),
    ];
    const answer = await post(central, events, { 'idempotency-key': 'k1' });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json, { accepted: 3, duplicates: 0 });
    assert.deepEqual(central.receivedIds(), events.map((e) => e.id));
    const stored = central.events();
    assert.deepEqual(stored.map((e) => e.event), events);
    assert.equal((stored[0]?.event as { unitPrice: string }).unitPrice, '54.99');
    assert.equal(stored[2]?.idempotencyKey, 'k1');
    assert.equal(stored[2]?.storeHeader, 'STORE001');
    assert.equal(stored[2]?.format, 'batch');
    const stats = central.stats();
    assert.equal(stats.eventsStored, 3);
    assert.equal(stats.eventsReceived, 3);
    assert.equal(stats.byStatus['200'], 1);
  });

  test('a repeated id is answered 2xx, stored once, and counted as a duplicate on the wire', async (t) => {
    const central = await useCentral(t);
    const batch = [transactionEvent(), transactionEvent()];
    assert.equal((await post(central, batch, { 'idempotency-key': 'a' })).status, 200);
    const again = await post(central, batch, { 'idempotency-key': 'a' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { accepted: 2, duplicates: 2 });
    // One new event beside a known one, and an id twice inside one batch.
    const fresh = transactionEvent();
    const mixed = await post(central, [batch[0], fresh, fresh], { 'idempotency-key': 'b' });
    assert.deepEqual(mixed.json, { accepted: 3, duplicates: 2 });
    assert.deepEqual(central.receivedIds(), [batch[0]?.['id'], batch[1]?.['id'], fresh['id']]);
    assert.equal(central.events().length, 3, 'each id stored once');
    assert.deepEqual(
      central.events().map((e) => e.receipts),
      [3, 2, 2],
    );
    assert.deepEqual(central.duplicateIds().sort(), [batch[0]?.['id'], batch[1]?.['id'], fresh['id']].sort());
    const stats = central.stats();
    assert.equal(stats.eventsStored, 3);
    assert.equal(stats.eventsReceived, 7);
    assert.equal(stats.duplicateReceipts, 4);
    assert.equal(stats.duplicateIds, 3);
  });

  test('an id again with the same content hash is a duplicate; with a new one an update that replaces what is stored', async (t) => {
    const central = await useCentral(t);
    const sale = transactionEvent({ totalAmount: '10.00', contentHash: 'AAAAAAAAAAAAAAAA' });
    assert.deepEqual((await post(central, [sale], { 'idempotency-key': 'k1' })).json, { accepted: 1, duplicates: 0 });
    assert.deepEqual((await post(central, [sale], { 'idempotency-key': 'k1' })).json, { accepted: 1, duplicates: 1 }, 'a repeat');
    const edit = { ...sale, totalAmount: '8.00', contentHash: 'BBBBBBBBBBBBBBBB' };
    assert.deepEqual((await post(central, [edit], { 'idempotency-key': 'k2' })).json, { accepted: 1, duplicates: 0, updated: 1 }, 'an edit');
    assert.deepEqual((await post(central, [edit], { 'idempotency-key': 'k2' })).json, { accepted: 1, duplicates: 1 }, 'the edit repeated');
    const stored = central.events();
    assert.equal(stored.length, 1, 'one event per id');
    assert.deepEqual(stored[0]!.event, edit, 'the edit replaced the first content, exactly');
    assert.equal(central.stats().eventsUpdated, 1);
    assert.equal(central.stats().eventsStored, 1);
    const bad = await post(central, [{ ...edit, contentHash: 7 }], { 'idempotency-key': 'k3' });
    assert.equal(bad.status, 422, 'a content hash that is not text is refused');
  });

  test('money as a .NET decimal holds it (29 significant digits) is stored exactly as sent', async (t) => {
    const central = await useCentral(t);
    const sale = transactionEvent({ unitPrice: '3.3333333333333333333333333333', totalAmount: '-79228162514264337593543950335' });
    assert.equal((await post(central, [sale], { 'idempotency-key': 'm' })).status, 200);
    const event = central.events()[0]!.event as Record<string, unknown>;
    assert.equal(event['unitPrice'], '3.3333333333333333333333333333');
    assert.equal(event['totalAmount'], '-79228162514264337593543950335');
  });

  test('an invalid event makes the whole batch 422, naming the bad ids, and nothing of it is stored', async (t) => {
    const central = await useCentral(t);
    const good = transactionEvent();
    const floatMoney = transactionEvent({ unitPrice: 12.5 });
    const noId = transactionEvent({ id: undefined });
    const answer = await post(central, [good, floatMoney, noId]);
    assert.equal(answer.status, 422);
    assert.equal(answer.json.error, '2 of 3 events refused');
    assert.deepEqual(
      answer.json.rejected.map((r: { id: unknown; index: number }) => [r.id, r.index]),
      [
        [floatMoney['id'], 1],
        [null, 2],
      ],
    );
    assert.match(answer.json.rejected[0].error, /unitPrice must be a JSON string holding a decimal/);
    assert.deepEqual(central.receivedIds(), []);
    assert.equal(central.stats().eventsRejected, 2);
  });

  test('an empty batch is accepted and counted', async (t) => {
    const central = await useCentral(t);
    assert.deepEqual((await post(central, [])).json, { accepted: 0, duplicates: 0 });
    assert.equal(central.stats().emptyBatches, 1);
  });

  test('a body that is not JSON is 400, a JSON scalar is 400, a wrong Content-Type is 415', async (t) => {
    const central = await useCentral(t);
    assert.equal((await post(central, '[{"id": ')).status, 400);
    assert.equal((await post(central, '42')).status, 400);
    assert.equal((await post(central, [transactionEvent()], { 'content-type': 'text/plain' })).status, 415);
    assert.equal(central.stats().eventsStored, 0);
  });
});

describe('event validation (pure)', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp | null]> = [
    ['a valid transaction', transactionEvent(), null],
    ['a valid inventory update', inventoryEvent(), null],
    ['money as a number', transactionEvent({ totalAmount: 25 }), /totalAmount must be a JSON string/],
    ['money in exponent form', transactionEvent({ unitPrice: '1e3' }), /unitPrice must be a JSON string holding a decimal/],
    ['an empty id', transactionEvent({ id: '' }), /id must be a non-empty string/],
    ['an unknown entity', transactionEvent({ entity: 'sale' }), /entity must be "transaction" or "inventory"/],
    ['a time without zone', transactionEvent({ occurredAt: '2025-10-21T14:03:11' }), /occurredAt must be in UTC/],
    ['a time in another zone', transactionEvent({ occurredAt: '2025-10-21T14:03:11+02:00' }), /occurredAt must be in UTC/],
    ['the seed datetime text', transactionEvent({ occurredAt: '2025-10-21 14:03:11.1234567' }), /occurredAt must be ISO 8601/],
    ['29 February of a common year', transactionEvent({ occurredAt: '2025-02-29T00:00:00Z' }), /not a real date/],
    ['a fractional quantity', transactionEvent({ quantity: 1.5 }), /quantity must be a whole JSON number/],
    ['a missing nullable field', transactionEvent({ notes: undefined }), /notes is missing/],
    ['metadata as a number', transactionEvent({ metadata: 7 }), /metadata must be a string, an object or null/],
    ['stock change that does not add up', inventoryEvent({ quantityChange: 2 }), /quantityChange must be newStock - previousStock \(-2\)/],
    ['a missing inventory reason', inventoryEvent({ reason: undefined }), /reason is missing/],
  ];
  for (const [name, event, expected] of cases) {
    test(name, () => {
      const problems = checkBatchEvent(event);
      if (expected === null) assert.deepEqual(problems, []);
      else assert.match(problems.join('; '), expected);
    });
  }

  test('29 February of a leap year and +00:00 are fine; a single timestamp may lack its zone', () => {
    assert.equal(checkDateTime('2024-02-29T23:59:59.9Z', 'utc'), null);
    assert.equal(checkDateTime('2024-02-29T23:59:59+00:00', 'utc'), null);
    assert.equal(checkDateTime('2025-10-21T14:05:42.5', 'any'), null);
    assert.match(checkDateTime('2025-10-21T24:00:00Z', 'utc') ?? '', /not a real time/);
    for (const bad of ['2025-10-21T14:03:11.Z', '2025-10-21T14:03:11.1234567890Z', '2025-10-21T14:03:11+0200', '2025-10-21T14:03:11Zx', '2025-1O-21T14:03:11Z', '2025-10-21T14:03', '']) {
      assert.match(checkDateTime(bad, 'any') ?? 'accepted', /must be ISO 8601/, bad);
    }
    assert.equal(checkDateTime('2025-10-21T14:03:11.123456789-05:30', 'any'), null);
    assert.deepEqual(checkSingleEvent(singleEvent()), []);
    assert.match(checkSingleEvent(singleEvent({ price: '54.99' })).join(), /price must be a JSON number/);
  });
});

describe('body parsing in pieces (pure)', () => {
  // Large enough to be cut into several pieces; notes that look like a cut point, nested values
  // and non-ASCII text must all come out exactly as JSON.parse gives them.
  const tricky = (i: number): Record<string, unknown> =>
    transactionEvent({
      notes: i % 7 === 0 ? 'a},{"id":"fake"},{b' : i % 5 === 0 ? 'crème brûlée ☕ \\"},{' : 'x'.repeat(200),
      metadata: i % 3 === 0 ? { nested: [{ a: 1 }, { b: [{ c: '},{' }] }] } : null,
    });
  const events = Array.from({ length: 900 }, (_, i) => tricky(i));

  test('a large compact array parses to exactly what JSON.parse gives', () => {
    const body = Buffer.from(JSON.stringify(events));
    assert.ok(body.length > 200_000);
    assert.deepEqual(parseJsonBody(body), events);
    // What pos-sync sends takes the fast path itself, without falling back.
    const plain = Array.from({ length: 900 }, () => transactionEvent({ notes: 'é'.repeat(150) }));
    assert.deepEqual(parseInPieces(Buffer.from(JSON.stringify(plain))), plain);
  });

  test('indented JSON, a lone object and bad JSON behave as JSON.parse', () => {
    assert.deepEqual(parseJsonBody(Buffer.from(JSON.stringify(events, null, 2))), events);
    assert.deepEqual(parseJsonBody(Buffer.from('{"a":1}')), { a: 1 });
    const broken = Buffer.from(`${JSON.stringify(events)}x`);
    assert.throws(() => parseJsonBody(broken), SyntaxError);
    const truncated = Buffer.from(JSON.stringify(events).slice(0, 150_000));
    assert.throws(() => parseJsonBody(truncated), SyntaxError);
  });

  test('over HTTP, a 900-event batch is stored byte for byte', async (t) => {
    const central = await useCentral(t);
    const answer = await post(central, events);
    assert.deepEqual(answer.json, { accepted: 900, duplicates: 0 });
    assert.deepEqual(
      central.events().map((e) => e.event),
      events,
    );
  });
});

describe('single format', () => {
  test('the Idempotency-Key is the id: stored once, repeats counted; without it 428', async (t) => {
    const central = await useCentral(t);
    const id = nextId();
    const first = await post(central, singleEvent(), { 'idempotency-key': id });
    assert.equal(first.status, 200);
    assert.deepEqual(first.json, { accepted: 1, duplicates: 0 });
    assert.deepEqual((await post(central, singleEvent(), { 'idempotency-key': id })).json, { accepted: 1, duplicates: 1 });
    assert.deepEqual(central.receivedIds(), [id]);
    const [stored] = central.events();
    assert.equal(stored?.format, 'single');
    assert.equal(stored?.receipts, 2);
    assert.deepEqual(stored?.event, singleEvent());
    assert.equal((await post(central, singleEvent())).status, 428);
    assert.equal(central.stats().missingIdempotencyKey, 1);
  });

  test('price as a string is 422; a refused id is 422, or 200 with rejected under partialRejects', async (t) => {
    const central = await useCentral(t);
    const bad = await post(central, singleEvent({ price: '54.99' }), { 'idempotency-key': 'ROW-1' });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.rejected[0].id, 'ROW-1');
    central.setFaults({ refuseIds: ['ROW-2'] });
    assert.equal((await post(central, singleEvent(), { 'idempotency-key': 'ROW-2' })).status, 422);
    central.setFaults({ partialRejects: true });
    const partial = await post(central, singleEvent(), { 'idempotency-key': 'ROW-2' });
    assert.equal(partial.status, 200);
    assert.deepEqual(partial.json.rejected, [{ id: 'ROW-2', error: 'refused by the central (refuseIds)' }]);
    assert.deepEqual(central.receivedIds(), []);
  });
});

describe('headers and idempotency keys', () => {
  test('records Idempotency-Key, X-Store-Id, extra headers and a token fingerprint, never the token', async (t) => {
    const central = await useCentral(t);
    const event = transactionEvent();
    await post(central, [event], { 'idempotency-key': 'key-1', 'x-store-id': 'STORE042', 'x-tenant': 'north', authorization: 'Bearer s3cret' });
    const record = central.stats().lastRequest;
    assert.ok(record !== null);
    assert.equal(record.idempotencyKey, 'key-1');
    assert.equal(record.storeId, 'STORE042');
    assert.equal(record.headers['x-tenant'], 'north');
    assert.equal(record.headers['authorization'], '[redacted]');
    assert.equal(record.authorization, 'bearer');
    assert.equal(record.tokenFingerprint, tokenFingerprint('s3cret'));
    assert.equal(record.tokenMatched, null, 'no token required');
    assert.deepEqual(record.ids, [event['id']]);
    assert.equal(record.status, 200);
    const admin = await fetch(`${central.url}/_admin/requests`, { signal: AbortSignal.timeout(5000) });
    assert.doesNotMatch(await admin.text(), /s3cret/);
  });

  test('counts a key reused for other ids, a set of ids under a new key, and missing headers', async (t) => {
    const central = await useCentral(t);
    const [a, b] = [transactionEvent(), transactionEvent()];
    await post(central, [a, b], { 'idempotency-key': 'K1' });
    await post(central, [a, b], { 'idempotency-key': 'K1' }); // a proper retry
    assert.equal(central.stats().idempotencyKeyConflicts, 0);
    assert.equal(central.stats().idempotencyKeyChanges, 0);
    await post(central, [a], { 'idempotency-key': 'K1' });
    await post(central, [a, b], { 'idempotency-key': 'K2' });
    await fetch(central.eventsUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }).then((r) => r.text());
    const stats = central.stats();
    assert.equal(stats.idempotencyKeyConflicts, 1);
    assert.equal(stats.idempotencyKeyChanges, 1);
    assert.equal(stats.missingIdempotencyKey, 1);
    assert.equal(stats.missingStoreHeader, 1);
  });
});

describe('faults', () => {
  test('requireToken: missing or wrong bearer token is 401, the right one passes', async (t) => {
    const central = await useCentral(t, { faults: { requireToken: 'tok-1' } });
    assert.equal((await post(central, [transactionEvent()])).status, 401);
    assert.equal((await post(central, [transactionEvent()], { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await post(central, [transactionEvent()], { authorization: 'Basic dG9rLTE=' })).status, 401);
    assert.equal(central.stats().lastRequest?.tokenMatched, false);
    assert.equal((await post(central, [transactionEvent()], { authorization: 'Bearer tok-1' })).status, 200);
    assert.equal(central.stats().lastRequest?.tokenMatched, true);
    assert.equal(central.stats().eventsStored, 1);
  });

  test('maxBatch: a larger batch is 413, a batch at the limit passes; a body over maxBodyBytes is 413', async (t) => {
    const central = await useCentral(t, { faults: { maxBatch: 2 }, maxBodyBytes: 4000 });
    assert.equal((await post(central, [transactionEvent(), transactionEvent(), transactionEvent()])).status, 413);
    assert.equal((await post(central, [transactionEvent(), transactionEvent()])).status, 200);
    const big = Array.from({ length: 2 }, () => transactionEvent({ notes: 'x'.repeat(3000) }));
    const answer = await post(central, big);
    assert.equal(answer.status, 413);
    assert.match(answer.json.error, /larger than 4000 bytes/);
    assert.equal(central.stats().eventsStored, 2);
  });

  test('refuseIds: 422 naming the refused ids; partialRejects: 200 with rejected and the rest stored', async (t) => {
    const central = await useCentral(t);
    const [a, b, c] = [transactionEvent(), transactionEvent(), transactionEvent()];
    central.setFaults({ refuseIds: [b['id'] as string] });
    const refused = await post(central, [a, b, c]);
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.json.rejected, [{ id: b['id'], index: 1, error: 'refused by the central (refuseIds)' }]);
    assert.deepEqual(central.receivedIds(), []);
    central.setFaults({ partialRejects: true });
    const invalid = transactionEvent({ unitPrice: 1 });
    const partial = await post(central, [a, b, c, invalid]);
    assert.equal(partial.status, 200);
    assert.deepEqual(
      partial.json.rejected.map((r: { id: string }) => r.id),
      [b['id'], invalid['id']],
    );
    assert.equal(partial.json.accepted, 2);
    assert.deepEqual(central.receivedIds(), [a['id'], c['id']]);
    assert.deepEqual(
      central.events().map((e) => e.event),
      [a, c],
    );
  });

  test('failRate: the same seed gives the same statuses; failStatus picks the code', async (t) => {
    const runs: Array<Array<number | string>> = [];
    for (let run = 0; run < 2; run++) {
      const central = await useCentral(t, { seed: 42, faults: { failRate: 0.5, failStatus: 502 } });
      runs.push(await statuses(central, 24));
      await central.close();
    }
    assert.deepEqual(runs[0], runs[1]);
    assert.ok(runs[0]?.includes(502) && runs[0].includes(200), `both answers appear: ${runs[0]?.join(',')}`);
    assert.ok(runs[0]?.every((s) => s === 502 || s === 200));
    const other = await useCentral(t, { seed: 43, faults: { failRate: 0.5, failStatus: 502 } });
    assert.notDeepEqual(await statuses(other, 24), runs[0], 'another seed, another sequence');
  });

  test('setFaults({seed}) restarts the random sequence', async (t) => {
    const central = await useCentral(t, { faults: { failRate: 0.5 } });
    central.setFaults({ seed: 7 });
    const first = await statuses(central, 12);
    central.setFaults({ seed: 7 });
    assert.deepEqual(await statuses(central, 12), first);
  });

  test('429 with Retry-After in seconds, as an HTTP-date, or without', async (t) => {
    const now = Date.UTC(2025, 9, 21, 14, 0, 0);
    const central = await useCentral(t, { now: () => now, faults: { rateLimitRate: 1 } });
    let answer = await post(central, [transactionEvent()]);
    assert.equal(answer.status, 429);
    assert.equal(answer.headers.get('retry-after'), null);
    central.setFaults({ retryAfterSeconds: 3 });
    answer = await post(central, [transactionEvent()]);
    assert.equal(answer.headers.get('retry-after'), '3');
    central.setFaults({ retryAfterSeconds: 30, retryAfterFormat: 'http-date' });
    answer = await post(central, [transactionEvent()]);
    assert.equal(answer.headers.get('retry-after'), 'Tue, 21 Oct 2025 14:00:30 GMT');
    assert.equal(central.stats().byStatus['429'], 3);
    assert.equal(central.stats().eventsStored, 0);
  });

  test('drop: the connection is cut without an answer and nothing is stored', async (t) => {
    const central = await useCentral(t, { faults: { dropRate: 1 } });
    await assert.rejects(post(central, [transactionEvent()]));
    assert.equal(central.stats().byStatus['dropped'], 1);
    assert.equal(central.stats().eventsStored, 0);
  });

  test('drop-after-store: a lost 2xx; the re-send is 2xx and counted as a duplicate', async (t) => {
    const central = await useCentral(t, { faults: { dropAfterStoreRate: 1 } });
    const batch = [transactionEvent(), inventoryEvent()];
    await assert.rejects(post(central, batch, { 'idempotency-key': 'K' }));
    assert.deepEqual(central.receivedIds(), batch.map((e) => e.id));
    assert.equal(central.requests().at(-1)?.fault, 'drop-after-store');
    central.setFaults({ dropAfterStoreRate: 0 });
    const resent = await post(central, batch, { 'idempotency-key': 'K' });
    assert.deepEqual(resent.json, { accepted: 2, duplicates: 2 });
    assert.deepEqual(central.duplicateIds(), batch.map((e) => e.id));
    assert.equal(central.events().length, 2);
  });

  test('slow: the answer waits slowMs; the record shows it pending meanwhile', async (t) => {
    const central = await useCentral(t, { faults: { slowRate: 1, slowMs: 120 } });
    const started = performance.now();
    const pending = post(central, [transactionEvent()]);
    // The request is recorded before its answer goes out.
    for (let i = 0; i < 50 && central.requests().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(central.requests()[0]?.status, null);
    const answer = await pending;
    assert.equal(answer.status, 200);
    assert.ok(performance.now() - started >= 115, 'answered after the delay');
    assert.equal(central.requests()[0]?.status, 200);
  });

  test('hang: never answered; the client times out and close() still ends promptly', async (t) => {
    const central = await startCentral({ faults: { hangRate: 1, hangHealth: true } });
    t.after(() => central.close());
    await assert.rejects(post(central, [transactionEvent()], {}, AbortSignal.timeout(150)), { name: 'TimeoutError' });
    await assert.rejects(fetch(central.healthUrl, { signal: AbortSignal.timeout(150) }), { name: 'TimeoutError' });
    // A second hung request still open while closing.
    const stillHanging = post(central, [transactionEvent()], {}, AbortSignal.timeout(5000)).catch((error: unknown) => error);
    for (let i = 0; i < 50 && central.stats().byStatus['hung'] !== 2; i++) await new Promise((r) => setTimeout(r, 5));
    const closing = performance.now();
    await central.close();
    assert.ok(performance.now() - closing < 1000, 'close() does not wait for hung requests');
    assert.ok((await stillHanging) instanceof Error, 'the hung request ends with a connection error');
    assert.equal(central.stats().byStatus['hung'], 2);
  });

  test('truncated, not-json and malformed-rejected bodies come with 200 after storing', async (t) => {
    const central = await useCentral(t, { faults: { script: ['truncated', 'not-json', 'malformed-rejected'] } });
    const response = await fetch(central.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([transactionEvent()]),
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(response.status, 200);
    await assert.rejects(response.text(), 'the body is cut short');
    const notJson = await post(central, [transactionEvent()]);
    assert.equal(notJson.status, 200);
    assert.equal(notJson.json, undefined);
    const event = transactionEvent();
    const malformed = await post(central, [event]);
    assert.equal(malformed.status, 200);
    const entries = malformed.json.rejected as unknown[];
    assert.ok(Array.isArray(entries));
    const wellFormed = (e: unknown): boolean =>
      typeof e === 'object' && e !== null && typeof (e as { id?: unknown }).id === 'string' && typeof (e as { error?: unknown }).error === 'string';
    assert.ok(entries.some((e) => !wellFormed(e)), 'some entries are not {id, error}');
    assert.ok(!entries.some((e) => wellFormed(e) && (e as { id: string }).id === event['id']), 'no real id of the batch is named');
    assert.equal(central.stats().eventsStored, 3, 'all three batches were stored');
  });

  test('forceStatus answers every POST with its code; down answers POST and /health with 503', async (t) => {
    const central = await useCentral(t);
    for (const status of [403, 404, 405, 503]) {
      central.setFaults({ forceStatus: status });
      assert.equal((await post(central, [transactionEvent()])).status, status);
    }
    central.setFaults({ forceStatus: null, down: true });
    assert.equal((await post(central, [transactionEvent()])).status, 503);
    assert.equal((await getJson(central.healthUrl)).status, 503);
    assert.equal((await getJson(`${central.url}/_admin/stats`)).status, 200, 'admin routes work while down');
    central.setFaults({ down: false });
    assert.equal((await post(central, [transactionEvent()])).status, 200);
    assert.equal(central.stats().eventsStored, 1);
  });

  test('successStatus 204 answers without a body', async (t) => {
    const central = await useCentral(t, { faults: { successStatus: 204 } });
    const answer = await post(central, [transactionEvent()]);
    assert.equal(answer.status, 204);
    assert.equal(answer.text, '');
  });

  test('a script plays its steps in order, then the random faults take over', async (t) => {
    const central = await useCentral(t, { faults: { script: [503, 'drop', 429, 'ok'] } });
    assert.deepEqual(await statuses(central, 5), [503, 'dropped', 429, 200, 200]);
    assert.deepEqual(central.faults().script, []);
  });

  test('bad faults are refused with a clear message', async () => {
    await assert.rejects(startCentral({ faults: { failRate: 2 } }), /failRate must be a number from 0 to 1/);
  });
});

describe('fault decision (pure)', () => {
  const faults = (update: Partial<Faults>): Faults => ({ ...NO_FAULTS, ...update });
  test('shares are laid end to end on the draw', () => {
    const f = faults({ dropRate: 0.1, failRate: 0.2, rateLimitRate: 0.1 });
    assert.deepEqual(decideFault(f, 0.05, 0.5).action, { kind: 'drop', afterStore: false });
    assert.deepEqual(decideFault(f, 0.15, 0.5).action, { kind: 'status', status: 503, fault: 'fail' });
    assert.deepEqual(decideFault(f, 0.35, 0.5).action, { kind: 'status', status: 429, fault: 'rate-limit' });
    assert.deepEqual(decideFault(f, 0.45, 0.5).action, { kind: 'none' });
  });
  test('down and forceStatus win over the script and the draw; slow is drawn apart', () => {
    assert.deepEqual(decideFault(faults({ down: true, script: [200] }), 0.99, 0).action, { kind: 'status', status: 503, fault: 'down' });
    assert.equal(decideFault(faults({ forceStatus: 404, script: [200] }), 0.99, 0).scripted, false);
    assert.equal(decideFault(faults({ slowRate: 0.5, slowMs: 40 }), 0.9, 0.4).delayMs, 40);
    assert.equal(decideFault(faults({ slowRate: 0.5, slowMs: 40 }), 0.9, 0.6).delayMs, 0);
  });
  test('the seeded generator repeats for a seed and stays in [0, 1)', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    const drawn = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(drawn, Array.from({ length: 1000 }, () => b()));
    assert.ok(drawn.every((x) => x >= 0 && x < 1));
    const mean = drawn.reduce((s, x) => s + x, 0) / drawn.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  });
});

describe('admin routes', () => {
  test('faults are set, read and reset over HTTP; bad ones are 400', async (t) => {
    const central = await useCentral(t, { faults: { maxBatch: 100 } });
    const admin = `${central.url}/_admin/faults`;
    const set = await getJson(admin, { method: 'POST', body: JSON.stringify({ down: true, failRate: 0.25 }) });
    assert.equal(set.status, 200);
    assert.equal(set.json.down, true);
    assert.equal(set.json.maxBatch, 100, 'other faults stay');
    assert.equal((await post(central, [transactionEvent()])).status, 503);
    assert.equal((await getJson(admin)).json.failRate, 0.25);
    const unknown = await getJson(admin, { method: 'POST', body: JSON.stringify({ dwon: true }) });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error, /unknown fault "dwon"/);
    const tooMuch = await getJson(admin, { method: 'POST', body: JSON.stringify({ failRate: 0.7, dropRate: 0.5 }) });
    assert.equal(tooMuch.status, 400);
    assert.match(tooMuch.json.error, /add up to 1.2/);
    assert.equal((await getJson(admin, { method: 'POST', body: 'nope' })).status, 400);
    const reset = await getJson(admin, { method: 'DELETE' });
    assert.equal(reset.json.down, false);
    assert.equal(reset.json.maxBatch, 100, 'back to the faults it started with');
    assert.equal((await post(central, [transactionEvent()])).status, 200);
  });

  test('stats, events, ids and requests are readable; reset forgets everything', async (t) => {
    const central = await useCentral(t);
    const batch = [transactionEvent(), inventoryEvent()];
    await post(central, batch, { 'idempotency-key': 'K' });
    await post(central, batch.slice(0, 1), { 'idempotency-key': 'K2' });
    const stats = await getJson(`${central.url}/_admin/stats`);
    assert.equal(stats.json.eventsStored, 2);
    assert.equal(stats.json.duplicateReceipts, 1);
    assert.equal(stats.json.lastRequest.idempotencyKey, 'K2');
    const events = await getJson(`${central.url}/_admin/events?offset=1&limit=5`);
    assert.equal(events.json.total, 2);
    assert.deepEqual(
      events.json.events.map((e: { event: unknown }) => e.event),
      [batch[1]],
    );
    const ids = await getJson(`${central.url}/_admin/ids`);
    assert.deepEqual(ids.json, { ids: batch.map((e) => e.id), duplicates: { [batch[0]?.['id'] as string]: 2 } });
    const requests = await getJson(`${central.url}/_admin/requests?limit=1`);
    assert.equal(requests.json.requests.length, 1);
    assert.equal(requests.json.requests[0].idempotencyKey, 'K2');
    assert.equal((await getJson(`${central.url}/_admin/reset`, { method: 'POST' })).status, 200);
    assert.deepEqual(central.receivedIds(), []);
    assert.equal(central.stats().posts, 0);
    assert.equal(central.events().length, 0);
    assert.equal((await getJson(`${central.url}/_admin/nothing`)).status, 404);
  });
});

describe('its own database', () => {
  test('a restart on the same file keeps events and receipts, and still deduplicates', async (t) => {
    const dbPath = path.join(tempDir(t), 'central.db');
    const batch = [transactionEvent(), inventoryEvent()];
    let central = await startCentral({ dbPath });
    await post(central, batch);
    await post(central, batch.slice(1));
    await central.close();
    central = await useCentral(t, { dbPath });
    assert.deepEqual(central.receivedIds(), batch.map((e) => e.id));
    assert.equal(central.receipts().get(batch[1]?.['id'] as string), 2);
    assert.equal(central.stats().duplicateIds, 1);
    assert.deepEqual((await post(central, batch)).json, { accepted: 2, duplicates: 2 });
    assert.equal(central.events().length, 2);
    // The events view lets anyone look with sqlite3.
    await central.close();
    const db = new Database(dbPath, { readonly: true });
    t.after(() => db.close());
    const rows = db.prepare('SELECT id FROM events ORDER BY batch, idx').pluck().all();
    assert.deepEqual(rows, batch.map((e) => e.id));
  });

  test('refuses a database that holds other tables', async (t) => {
    const dbPath = path.join(tempDir(t), 'POS_Local.db');
    const db = new Database(dbPath);
    db.exec('CREATE TABLE PosTransactions (Id TEXT PRIMARY KEY)');
    db.close();
    await assert.rejects(startCentral({ dbPath }), /not a reference-central database \(it holds PosTransactions\)/);
  });
});

describe('program mode', () => {
  test('prints its ready line, serves, flips faults over HTTP and stops on SIGTERM', async (t) => {
    const dbPath = path.join(tempDir(t), 'central.db');
    const child = spawn(process.execPath, [SERVER_JS, '--port', '0', '--db', dbPath, '--token', 'T0K', '--seed', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout });
    const ready = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no ready line within 10 s')), 10_000).unref()),
    ]);
    const match = /^central listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(ready);
    assert.ok(match, `ready line: ${ready}`);
    const url = match[1] as string;
    const postTo = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${url}/api/inventory/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify([transactionEvent()]),
        signal: AbortSignal.timeout(5000),
      });
    assert.equal((await postTo({})).status, 401);
    assert.equal((await postTo({ authorization: 'Bearer T0K' })).status, 200);
    await getJson(`${url}/_admin/faults`, { method: 'POST', body: JSON.stringify({ down: true }) });
    assert.equal((await postTo({ authorization: 'Bearer T0K' })).status, 503);
    const stats = await getJson(`${url}/_admin/stats`);
    assert.equal(stats.json.eventsStored, 1);
    assert.deepEqual(stats.json.byStatus, { '200': 1, '401': 1, '503': 1 });
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 5000).unref())]);
    assert.equal(code, 0);
  });

  test('a bad flag is a one-line error and exit 64', async () => {
    const child = spawn(process.execPath, [SERVER_JS, '--fail-rate', 'lots'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 64);
    assert.match(stderr, /^central: --fail-rate must be a number, got "lots"$/m);
  });
});
