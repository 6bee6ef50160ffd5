// pos-sync-central(7)'s response table, row by row, as a pure function of status, body and Retry-After.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { classifyNetworkError, classifyResponse, parseRejectedList, parseRetryAfter, type Outcome } from '../src/domain/classify.js';

const NOW = Date.parse('2025-10-21T14:00:00.000Z');
const SENT = new Set(['A', 'B', 'C']);

describe('classifyResponse: every row of the pos-sync-central(7) table', () => {
  const table: Array<{ status: number; kind: Outcome['kind']; why: string }> = [
    { status: 200, kind: 'accepted', why: '2xx accepted' },
    { status: 201, kind: 'accepted', why: '2xx accepted' },
    { status: 202, kind: 'accepted', why: '2xx accepted' },
    { status: 204, kind: 'accepted', why: '2xx without a body' },
    { status: 299, kind: 'accepted', why: 'any 2xx' },
    { status: 400, kind: 'notAboutRows', why: 'an empty 400 is not the central refusing rows' },
    { status: 422, kind: 'notAboutRows', why: 'an empty 422 is not the central refusing rows' },
    { status: 413, kind: 'tooLarge', why: 'split, not a rejection' },
    { status: 401, kind: 'credentials', why: 'stop, exit 77' },
    { status: 403, kind: 'credentials', why: 'stop, exit 77' },
    { status: 404, kind: 'misconfigured', why: 'wrong endpoint, exit 78' },
    { status: 405, kind: 'misconfigured', why: 'wrong method, exit 78' },
    { status: 410, kind: 'misconfigured', why: 'other 4xx' },
    { status: 415, kind: 'misconfigured', why: 'other 4xx' },
    { status: 428, kind: 'misconfigured', why: 'other 4xx' },
    { status: 451, kind: 'misconfigured', why: 'other 4xx' },
    { status: 408, kind: 'temporary', why: 'request timeout' },
    { status: 409, kind: 'temporary', why: 'conflict (central busy with the same key)' },
    { status: 425, kind: 'temporary', why: 'too early' },
    { status: 429, kind: 'temporary', why: 'rate limited' },
    { status: 500, kind: 'temporary', why: '5xx' },
    { status: 502, kind: 'temporary', why: '5xx' },
    { status: 503, kind: 'temporary', why: '5xx' },
    { status: 504, kind: 'temporary', why: '5xx' },
    { status: 599, kind: 'temporary', why: '5xx' },
    { status: 301, kind: 'misconfigured', why: 'a moved endpoint is fixed in the config, not followed' },
    { status: 302, kind: 'misconfigured', why: 'redirects are not followed' },
  ];
  for (const row of table) {
    test(`${row.status} → ${row.kind} (${row.why})`, () => {
      const outcome = classifyResponse(row.status, '', null, SENT, NOW);
      assert.equal(outcome.kind, row.kind);
      // Anything but an acknowledgement carries an error line that starts with the status.
      assert.equal(outcome.kind === 'accepted' ? null : /^HTTP \d+/.exec(outcome.error)?.[0], row.kind === 'accepted' ? null : `HTTP ${row.status}`);
    });
  }

  for (const status of [400, 422]) {
    test(`${status} with the central's JSON error body → refused (split and isolate)`, () => {
      for (const body of ['{"error":"quantity must be whole"}', '{"message":"bad"}', '{"errors":[]}', '{"rejected":[{"id":"A"}]}']) {
        assert.equal(classifyResponse(status, body, null, SENT, NOW).kind, 'refused', body);
      }
    });
    test(`${status} that is HTML, text, empty or other JSON → not about the rows, naming the page`, () => {
      const html = classifyResponse(status, '<html><head><title>400 Bad Request</title></head><body>The plain HTTP request was sent to HTTPS port</body></html>', null, SENT, NOW);
      assert.deepEqual(html.kind, 'notAboutRows');
      assert.match(html.kind === 'notAboutRows' ? html.error : '', new RegExp(`^HTTP ${status} from something other than the central API \\("400 Bad Request"\\)`));
      const text = classifyResponse(status, '\n\nRequest Header Or Cookie Too Large\nmore', null, SENT, NOW);
      assert.match(text.kind === 'notAboutRows' ? text.error : '', /"Request Header Or Cookie Too Large"/);
      for (const body of ['', 'Bad Request', '[1,2]', '{"ok":false}', 'null']) assert.equal(classifyResponse(status, body, null, SENT, NOW).kind, 'notAboutRows', body);
    });
    test(`${status} cut short cannot be judged → temporary`, () => {
      assert.equal(classifyResponse(status, '{"error":"x"}', null, SENT, NOW, { complete: false, problem: 'cut short' }).kind, 'temporary');
    });
  }

  test('a 422 whose rejected list names every row sent carries the rows (no splitting); otherwise none', () => {
    const all = classifyResponse(422, JSON.stringify({ error: '3 of 3', rejected: [{ id: 'A', error: 'x' }, { id: 'B', error: 'x' }, { id: 'C', error: 'y' }] }), null, SENT, NOW);
    assert.deepEqual(all.kind === 'refused' && all.rows, [{ id: 'A', error: 'HTTP 422: x' }, { id: 'B', error: 'HTTP 422: x' }, { id: 'C', error: 'HTTP 422: y' }]);
    const some = classifyResponse(422, JSON.stringify({ error: '1 of 3', rejected: [{ id: 'A', error: 'x' }] }), null, SENT, NOW);
    assert.equal(some.kind === 'refused' && some.rows, undefined);
    const bad = classifyResponse(422, JSON.stringify({ error: 'e', rejected: [{ id: 'A' }, { id: 'B' }, { id: 'Z' }] }), null, SENT, NOW);
    assert.equal(bad.kind === 'refused' && bad.rows, undefined, 'an id that was not sent: split instead');
  });

  test('413 from a proxy (not JSON) is marked foreign; from the central it is not', () => {
    const proxy = classifyResponse(413, '<html><head><title>413 Request Entity Too Large</title></head></html>', null, SENT, NOW);
    assert.ok(proxy.kind === 'tooLarge' && proxy.foreign === true);
    assert.match(proxy.kind === 'tooLarge' ? proxy.error : '', /413 Request Entity Too Large/);
    const own = classifyResponse(413, '{"error":"batch too large"}', null, SENT, NOW);
    assert.ok(own.kind === 'tooLarge' && own.foreign === undefined);
  });

  test('a connection error or timeout is temporary with no status', () => {
    assert.deepEqual(classifyNetworkError('cannot reach http://x: ECONNRESET'), {
      kind: 'temporary',
      status: null,
      error: 'cannot reach http://x: ECONNRESET',
      retryAfterMs: null,
    });
  });

  test('the error carries a short, one-line snippet of the body', () => {
    const outcome = classifyResponse(422, `{"error":\n  "quantity must be whole",\t"detail": "${'x '.repeat(500)}"}`, null, SENT, NOW);
    assert.equal(outcome.kind, 'refused');
    assert.ok(outcome.kind === 'refused' && !outcome.error.includes('\n'));
    assert.ok(outcome.kind === 'refused' && outcome.error.startsWith('HTTP 422: {"error": "quantity must be whole", "detail": "x x'));
    assert.ok(outcome.kind === 'refused' && outcome.error.length <= 'HTTP 422: '.length + 200);
  });

  test('Retry-After is read for temporary answers only', () => {
    const t = classifyResponse(429, '', '7', SENT, NOW);
    assert.deepEqual(t.kind === 'temporary' && t.retryAfterMs, 7000);
    const t503 = classifyResponse(503, '', 'Tue, 21 Oct 2025 14:00:30 GMT', SENT, NOW);
    assert.deepEqual(t503.kind === 'temporary' && t503.retryAfterMs, 30_000);
    assert.equal(classifyResponse(200, '{}', '7', SENT, NOW).kind, 'accepted');
  });
});

describe('parseRetryAfter', () => {
  const table: Array<{ header: string | null; ms: number | null; why: string }> = [
    { header: null, ms: null, why: 'absent' },
    { header: '0', ms: 0, why: 'zero seconds' },
    { header: '5', ms: 5000, why: 'seconds' },
    { header: ' 120 ', ms: 120_000, why: 'seconds with spaces' },
    { header: 'Tue, 21 Oct 2025 14:01:00 GMT', ms: 60_000, why: 'HTTP-date in the future' },
    { header: 'Tue, 21 Oct 2025 13:59:00 GMT', ms: 0, why: 'HTTP-date in the past waits nothing' },
    { header: 'Tuesday, 21-Oct-25 14:00:10 GMT', ms: 10_000, why: 'obsolete RFC 850 date' },
    { header: '', ms: null, why: 'empty' },
    { header: 'soon', ms: null, why: 'garbage' },
    { header: '1.5', ms: null, why: 'fractional seconds are not allowed (and not a date)' },
    { header: '-5', ms: null, why: 'negative seconds' },
    { header: '2025', ms: 2_025_000, why: 'a whole number is seconds, never a year' },
    { header: 'Mon, 99 Foo 2025 25:61:61 GMT', ms: null, why: 'a broken date' },
  ];
  for (const row of table) {
    test(`${JSON.stringify(row.header)} → ${row.ms} (${row.why})`, () => {
      assert.equal(parseRetryAfter(row.header, NOW), row.ms);
    });
  }
});

describe('a 2xx with a rejected list', () => {
  test('refuses exactly the listed ids that were sent, with their error', () => {
    const outcome = classifyResponse(200, JSON.stringify({ accepted: 2, rejected: [{ id: 'B', error: 'unknown product' }] }), null, SENT, NOW);
    assert.deepEqual(outcome, { kind: 'accepted', rejected: [{ id: 'B', error: 'unknown product' }] });
  });

  test('an empty body (204) or a JSON object without a list accepts every row', () => {
    for (const body of ['', '  \n', '{}', '{"accepted":3}', '{"rejected":null}', '{"rejected":[]}']) {
      assert.deepEqual(classifyResponse(200, body, null, SENT, NOW), { kind: 'accepted', rejected: [] }, body);
    }
  });

  test('a body cut short, unreadable or over the cap is temporary, even when what arrived parses', () => {
    for (const problem of ['cut short', 'larger than 1048576 bytes', 'not whole within 100 ms']) {
      const outcome = classifyResponse(200, '{}', null, SENT, NOW, { complete: false, problem });
      assert.equal(outcome.kind, 'temporary');
      assert.match(outcome.kind === 'temporary' ? outcome.error : '', new RegExp(`${problem}: nothing marked`));
    }
  });

  const malformed: Array<{ body: string; why: string }> = [
    { body: '<html>OK</html>', why: 'not JSON' },
    { body: '{"accepted": 3, "rejec', why: 'cut off' },
    { body: '[{"id":"A","error":"x"}]', why: 'an array, not an object' },
    { body: '{"rejected": "A"}', why: 'rejected is a string' },
    { body: '{"rejected": {"id": "A"}}', why: 'rejected is an object' },
    { body: '{"rejected": [null, "A", 12, ["A"], {"error": "no id"}, {"id": 12}, {"id": ""}]}', why: 'no usable item' },
    { body: '{"rejected": [{"id": "Z", "error": "not in this batch"}]}', why: 'an id that was not sent' },
    { body: '{"rejected": [{"id": "a", "error": "wrong case"}]}', why: 'ids are compared exactly' },
    { body: '"OK"', why: 'a JSON text, not an object' },
    { body: '{"rejected": [{"id": "A", "error": 42}]}', why: 'an error that is not text' },
    { body: '{"rejected": [{"id": "A"}, null]}', why: 'one good entry, one null' },
  ];
  for (const m of malformed) {
    test(`not an acknowledgement (${m.why}): temporary, no row marked or penalised`, () => {
      assert.equal(classifyResponse(200, m.body, null, SENT, NOW).kind, 'temporary');
    });
  }

  test('a key other than "rejected" is ignored (the key is case-sensitive)', () => {
    assert.deepEqual(classifyResponse(200, '{"Rejected": [{"id": "A"}]}', null, SENT, NOW), { kind: 'accepted', rejected: [] });
  });

  test('an id listed twice counts once; a missing or empty error gets a default text', () => {
    const body = JSON.stringify({ rejected: [{ id: 'C' }, { id: 'C', error: 'again' }, { id: 'A', error: '' }] });
    assert.deepEqual(parseRejectedList(body, SENT), [
      { id: 'C', error: 'rejected by the central API' },
      { id: 'A', error: 'rejected by the central API' },
    ]);
  });

  test('a huge error text is cut to 500 characters', () => {
    const [r] = parseRejectedList(JSON.stringify({ rejected: [{ id: 'A', error: 'e'.repeat(10_000) }] }), SENT);
    assert.equal(r?.error.length, 500);
  });

  test('leading whitespace before the object is fine', () => {
    assert.deepEqual(parseRejectedList('\n  {"rejected":[{"id":"A","error":"bad"}]}', SENT), [{ id: 'A', error: 'bad' }]);
  });
});

describe('classification properties', () => {
  const kinds = new Set(['accepted', 'refused', 'tooLarge', 'notAboutRows', 'credentials', 'misconfigured', 'temporary']);

  test('any status maps to exactly one outcome, and temporary is never a 2xx', () => {
    // Retry-After as the central sends it (seconds), or anything at all.
    const retryAfters = fc.option(fc.oneof(fc.nat({ max: 86_400 }).map(String), fc.string()), { nil: null });
    let waits = 0;
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.string(), retryAfters, (status, body, retryAfter) => {
        const outcome = classifyResponse(status, body, retryAfter, SENT, NOW);
        assert.ok(kinds.has(outcome.kind));
        const is2xx = status >= 200 && status < 300;
        // A 2xx is an acknowledgement, or temporary (a body that is none); nothing else is ever accepted.
        assert.ok(is2xx ? outcome.kind === 'accepted' || outcome.kind === 'temporary' : outcome.kind !== 'accepted', `${status} → ${outcome.kind}`);
        // Every 5xx is temporary, and a temporary outcome is a 5xx, a 2xx without an acknowledgement, or one of the 4xx that pass.
        assert.equal(outcome.kind === 'temporary', status >= 500 || (is2xx && outcome.kind !== 'accepted') || [408, 409, 425, 429].includes(status), `${status} → ${outcome.kind}`);
        const retryAfterMs = outcome.kind === 'temporary' ? outcome.retryAfterMs : null;
        assert.ok(retryAfterMs === null || retryAfterMs >= 0, `a wait of ${retryAfterMs} ms`);
        if (retryAfterMs !== null) waits++;
      }),
      { seed: 20251021, numRuns: 2000 },
    );
    assert.ok(waits > 0, 'no Retry-After was ever read: the wait was never checked');
  });

  test('a rejected list never names a row that was not sent', () => {
    const id = fc.constantFrom('A', 'B', 'C', 'D', 'E', '', 'a');
    const item = fc.oneof(
      fc.record({ id, error: fc.oneof(fc.string(), fc.integer()) }),
      fc.record({ id: fc.integer() }),
      fc.constant(null),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(item), (items) => {
        const rejected = parseRejectedList(JSON.stringify({ rejected: items }), SENT);
        for (const r of rejected) assert.ok(SENT.has(r.id));
        assert.equal(new Set(rejected.map((r) => r.id)).size, rejected.length);
      }),
      { seed: 7, numRuns: 1000 },
    );
  });
});
