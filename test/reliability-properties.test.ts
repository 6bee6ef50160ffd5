// Fuzzing the edges: fast-check properties for the pure decisions a lost or doubled sale
// would come from. They complement the tables and properties of the unit tests (domain-*.test.ts,
// breaker.test.ts, state-file.test.ts) with end-to-end invariants: random settings through the
// real resolver, random SQLite values through a real table and the real pending-row query, random
// `rejected` bodies through classification, a refusing central through the whole split
// recursion, random breaker histories through the state file and back.
//
// Each property runs with a fixed seed (POS_SYNC_TEST_SEED overrides it; fast-check prints the
// seed and the shrunk counterexample of a failure).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import fc from 'fast-check';
import { buildConfig } from '../src/config/load.js';
import { resolveSettings } from '../src/config/resolve.js';
import { SETTINGS, type SettingSpec } from '../src/config/schema.js';
import { splitBatch } from '../src/domain/backoff.js';
import { admit, CLOSED, enter, leave, onAnswer, onFailure, type BreakerSettings, type BreakerState } from '../src/domain/breaker.js';
import { classifyResponse } from '../src/domain/classify.js';
import { toEvent, type CentralEvent } from '../src/domain/events.js';
import type { Entity } from '../src/domain/rows.js';
import { ConfigError } from '../src/errors.js';
import { parseState, serializeState, type SavedState } from '../src/state/format.js';
import { migrate } from '../src/store/migrations.js';
import { Queue } from '../src/store/queue.js';
import { SOAK, testSeed } from './helpers/torture.js';

const SEED = testSeed(7_006);
const RUNS = SOAK ? 20_000 : 500;
const params = { seed: SEED, numRuns: RUNS };

// --- configuration ---------------------------------------------------------------------------

/** What the setting's own description promises, checked independently of its parser. */
function assertKindHolds(spec: SettingSpec, value: unknown): void {
  let describe = spec.kind.describe;
  if (describe.endsWith(', or null')) {
    if (value === null) return;
    describe = describe.slice(0, -', or null'.length);
  }
  const range = /^an? (integer|number) from (\S+) to (\S+)$/.exec(describe);
  if (range) {
    const [, kind, min, max] = range;
    assert.equal(typeof value, 'number', `${spec.key}: ${String(value)} is not a number`);
    assert.ok(kind === 'integer' ? Number.isInteger(value) : Number.isFinite(value), `${spec.key}: ${String(value)} is not ${kind === 'integer' ? 'an integer' : 'finite'}`);
    assert.ok((value as number) >= Number(min) && (value as number) <= Number(max), `${spec.key}: ${String(value)} outside ${min}..${max}`);
    return;
  }
  if (describe === 'true or false') return assert.equal(typeof value, 'boolean', spec.key);
  if (describe.startsWith('an http')) {
    assert.equal(typeof value, 'string');
    assert.match(new URL(value as string).protocol, /^https?:$/, spec.key);
    return;
  }
  if (describe.startsWith('an object')) {
    assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), spec.key);
    for (const v of Object.values(value as object)) assert.equal(typeof v, 'string', `${spec.key}: a map value is not text`);
    return;
  }
  if (describe.startsWith('one of ')) {
    const options = [...describe.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    assert.ok(options.includes(value as string), `${spec.key}: ${String(value)} not one of ${options.join(', ')}`);
    return;
  }
  assert.equal(typeof value, 'string', `${spec.key}: not text`);
  assert.notEqual((value as string).trim(), '', `${spec.key}: empty text`);
}

/** {Sync: {CircuitBreaker: {BreakSeconds: raw}}} for "Sync.CircuitBreaker.BreakSeconds". */
function nested(key: string, raw: unknown): Record<string, unknown> {
  return key.split('.').reduceRight<unknown>((inner, part) => ({ [part]: inner }), raw) as Record<string, unknown>;
}

const TRICKY = [
  '', ' ', 'true', 'FALSE', ' 5 ', '5.0', '1e3', '0x10', '-1', '0', '10001', '3600.5', 'NaN', 'Infinity', '-0',
  'http://central:8080/api', 'https://a', 'ftp://x', 'http://', 'Data Source=/tmp/x.db', 'Data Source=', 'Filename=a;Pooling=x;Bogus=1',
  'batch', 'single', 'Batch', 'STORE-7', 'a b', '9'.repeat(400), 'host:9092,other:9093', 'bad topic!',
];
const tricky = fc.constantFrom(...TRICKY);
const rawValue = fc.oneof(
  tricky,
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 24 }),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

describe('configuration: any value for any setting is a valid typed value or a ConfigError naming the key', () => {
  const withIndex = fc.nat({ max: SETTINGS.length - 1 });

  test('every setting × every tricky value, from the file and from the environment', () => {
    for (const spec of SETTINGS) {
      for (const raw of [...TRICKY, null, 0, -1, 1.5, true, [], {}]) {
        for (const where of ['file', 'environment'] as const) checkSetting(spec, raw, where);
      }
    }
  });

  test('property: from the config file (native JSON types) and from the environment (text)', () => {
    fc.assert(
      fc.property(withIndex, rawValue, fc.constantFrom('file', 'environment'), (index, raw, where) => checkSetting(SETTINGS[index]!, raw, where)),
      params,
    );
  });

  /** One value for one setting: a value its kind promises, or a ConfigError naming the key. */
  function checkSetting(spec: SettingSpec, raw: unknown, where: 'file' | 'environment'): void {
    const env: Record<string, string> = {};
    let content: Record<string, unknown> = {};
    if (where === 'file') content = nested(spec.key, raw);
    else env[spec.key.replace(/\./g, '__')] = typeof raw === 'string' ? raw : JSON.stringify(raw);
    let value: unknown;
    try {
      const resolved = resolveSettings({ file: { path: '/nonexistent/pos-sync/appsettings.json', content }, env, flags: {}, cwd: '/nonexistent/pos-sync' });
      buildConfig(resolved, {}, [], null);
      value = resolved.get(spec.key)!.value;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw new Error(`${spec.key} = ${JSON.stringify(raw)} from the ${where}: ${String(err)} is not a ConfigError`);
      assert.ok(err.message.includes(spec.key), `${spec.key} = ${JSON.stringify(raw)} from the ${where}: "${err.message}" does not name the key`);
      // A refused secret is never quoted: <redacted> stands in its place, and only there.
      assert.equal(err.message.includes('<redacted>'), spec.secret === true, `${spec.key} = ${JSON.stringify(raw)} from the ${where}: "${err.message}"`);
      return;
    }
    assertKindHolds(spec, value);
  }

  test('property: an unknown key in a section is a ConfigError naming it, never accepted', () => {
    const known = new Set(SETTINGS.map((s) => s.key.toLowerCase()));
    fc.assert(
      fc.property(fc.constantFrom('Sync', 'Database', 'Kafka'), fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/), rawValue, (section, name, raw) => {
        const key = `${section}.${name}`;
        fc.pre(!known.has(key.toLowerCase()) && ![...known].some((k) => k.startsWith(`${key.toLowerCase()}.`)));
        assert.throws(
          () => resolveSettings({ file: { path: '/nonexistent/appsettings.json', content: nested(key, raw) }, env: {}, flags: {}, cwd: '/nonexistent' }),
          (err: unknown) => err instanceof ConfigError && err.message.includes(key),
        );
      }),
      params,
    );
  });
});

// --- event mapping through a real SQLite table -----------------------------------------------

const TX_BASE: Record<string, unknown> = {
  TransactionId: 'TX-1', StoreId: 'STORE001', ProductId: 'PROD001', TransactionType: 'Sale', Quantity: 2, UnitPrice: '12.50', TotalAmount: '25.00',
  TransactionDate: '2025-10-21 14:03:11.1234567', CreatedAt: '2025-10-21 14:03:11.13', Metadata: null, Reference: 'REF', Notes: null,
};
const INV_BASE: Record<string, unknown> = {
  StoreId: 'STORE001', ProductId: 'PROD001', PreviousStock: 10, NewStock: 9, UpdateType: 'Sale', UpdateDate: '2025-10-21 14:03:11.1234567', CreatedAt: '2025-10-21 14:03:11.13', Reason: null, TransactionId: null,
};
const NULLABLE: Record<Entity, ReadonlySet<string>> = { transaction: new Set(['Metadata', 'Reference', 'Notes']), inventory: new Set(['Reason', 'TransactionId']) };

/** Decimal text as EF Core writes it: what must reach the central character for character. */
const decimalText = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }), fc.option(fc.stringMatching(/^\d{1,10}$/), { nil: undefined }))
  .map(([negative, whole, fraction]) => `${negative ? '-' : ''}${whole}${fraction === undefined ? '' : `.${fraction}`}`);

const sqliteValue = fc.oneof(
  decimalText,
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
  fc.constant(null),
  fc.constantFrom('2025-10-21 14:03:11', '2025-02-30 10:00:00', '2025-10-21T14:03:11Z', '21/10/2025', '54,99', '1e3', ' 12.50', '12.50 '),
);

describe('event mapping: random SQLite values written by a POS, read back by the real pending-row query', () => {
  test('property: never throws; a valid row keeps its money text exactly; a refused row names a column the POS got wrong', () => {
    const db = new Sqlite(':memory:');
    migrate(db);
    const queue = new Queue(db);
    const far = '9999-12-31 23:59:59';
    let n = 0;
    try {
      fc.assert(
        fc.property(fc.constantFrom<Entity>('transaction', 'inventory'), fc.dictionary(fc.constantFrom(...Object.keys(TX_BASE), ...Object.keys(INV_BASE)), sqliteValue, { maxKeys: 4 }), (entity, overrides) => {
          const table = entity === 'transaction' ? 'PosTransactions' : 'InventoryUpdates';
          const base = entity === 'transaction' ? TX_BASE : INV_BASE;
          const changes = Object.fromEntries(Object.entries(overrides).filter(([k, v]) => k in base && (v !== null || NULLABLE[entity].has(k))));
          const row: Record<string, unknown> = { Id: `ID-${++n}`, ...base, ...changes, Synced: 0, SyncAttempts: 0 };
          const columns = Object.keys(row);
          db.prepare(`DELETE FROM "${table}"`).run();
          db.prepare(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})`).run(row);
          const stored = db.prepare(`SELECT * FROM "${table}"`).get() as Record<string, unknown>;
          const [pending] = queue.nextPending(entity, 0, far, 10);
          assert.ok(pending, 'the pending-row query did not return the row');
          const mapped = toEvent(entity, pending);
          if (mapped.ok) {
            const event = JSON.parse(JSON.stringify(mapped.value)) as CentralEvent;
            if (event.entity === 'transaction') {
              assert.equal(event.unitPrice, stored['UnitPrice'], 'UnitPrice changed on the way');
              assert.equal(event.totalAmount, stored['TotalAmount'], 'TotalAmount changed on the way');
              assert.equal(typeof event.unitPrice, 'string');
            } else {
              assert.equal(event.quantityChange, event.newStock - event.previousStock);
            }
            const decimalTexts = Object.entries(changes).filter(([k, v]) => (k === 'UnitPrice' || k === 'TotalAmount') && typeof v === 'string');
            assert.deepEqual(decimalTexts.map(([k]) => [k, stored[k]]), decimalTexts, 'decimal text not kept');
          } else {
            const column = /^invalid row: (\w+) /.exec(mapped.error)?.[1];
            assert.ok(column, `a refusal without a column: ${mapped.error}`);
            assert.ok(column in changes, `${column} refused, but the POS only changed ${Object.keys(changes).join(', ') || 'nothing'}: ${mapped.error}`);
          }
        }),
        params,
      );
    } finally {
      db.close();
    }
  });
});

// --- classification of random answers --------------------------------------------------------

describe('classification: a random 2xx body can refuse only ids that were sent', () => {
  test('property: every refused id was in the request, once; the rest of the batch counts as delivered', () => {
    const sentIds = fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(sentIds, fc.uniqueArray(fc.uuid(), { maxLength: 5 }), fc.integer({ min: 200, max: 299 }), fc.nat(), (sent, others, status, pick) => {
        const idFrom = fc.oneof(fc.constantFrom(...sent), fc.constantFrom(...(others.length > 0 ? others : ['NOT-SENT'])), fc.jsonValue({ maxDepth: 1 }));
        const item = fc.oneof(fc.record({ id: idFrom, error: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 2 }));
        const body = fc.oneof(
          fc.record({ rejected: fc.array(item, { maxLength: 12 }), accepted: fc.nat() }).map((o) => JSON.stringify(o)),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
          fc.string(),
          fc.record({ rejected: fc.array(item) }).map((o) => JSON.stringify(o).slice(0, 1 + (pick % 40))),
        );
        fc.assert(
          fc.property(body, (text) => {
            const set = new Set(sent);
            const outcome = classifyResponse(status, text, null, set, Date.now());
            // Not a well-formed acknowledgement: temporary, nothing marked (pos-sync-central(7)).
            if (outcome.kind !== 'accepted') return assert.equal(outcome.kind, 'temporary');
            const refused = outcome.rejected.map((r) => r.id);
            assert.equal(new Set(refused).size, refused.length, 'an id refused twice');
            for (const r of outcome.rejected) {
              assert.ok(set.has(r.id), `${r.id} refused but never sent`);
              assert.equal(typeof r.error, 'string');
              assert.ok(r.error.length > 0 && r.error.length <= 500);
            }
          }),
          { seed: SEED + pick, numRuns: 20 },
        );
      }),
      { seed: SEED, numRuns: Math.max(50, RUNS / 10) },
    );
  });

  test('property: no status outside 2xx is ever "accepted", whatever the body says', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }).filter((s) => s < 200 || s > 299), fc.string(), (status, body) => {
        assert.notEqual(classifyResponse(status, body, null, new Set(['A']), Date.now()).kind, 'accepted');
      }),
      params,
    );
  });
});

// --- splitting against a refusing central ----------------------------------------------------

describe('batch splitting against a central that refuses some rows (400 for a batch holding any)', () => {
  test('property: every other row is delivered exactly once, every refused row is isolated exactly once, in few requests', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }).chain((n) => fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 8 }))),
        ([n, refusedIndexes]) => {
          const rows = Array.from({ length: n }, (_, i) => `ROW-${i}`);
          const refused = new Set(refusedIndexes.map((i) => rows[i]!));
          const delivered: string[] = [];
          const isolated: string[] = [];
          let requests = 0;
          const deliver = (batch: readonly string[]): void => {
            requests++;
            if (!batch.some((r) => refused.has(r))) return void delivered.push(...batch);
            if (batch.length === 1) return void isolated.push(batch[0]!);
            for (const half of splitBatch(batch)) deliver(half);
          };
          deliver(rows);
          assert.deepEqual(delivered, rows.filter((r) => !refused.has(r)), 'not every accepted row delivered once, in order');
          assert.deepEqual(isolated.sort(), [...refused].sort(), 'not every refused row isolated once');
          const depth = Math.ceil(Math.log2(n)) + 1;
          assert.ok(requests <= 1 + 2 * refused.size * depth, `${requests} requests for ${n} rows with ${refused.size} refused`);
        },
      ),
      params,
    );
  });
});

// --- the breaker over random histories, through the state file --------------------------------

const breakerSettings = fc
  .tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 100, max: 600_000 }), fc.integer({ min: 0, max: 3_000_000 }))
  .map(([failureThreshold, breakMs, extra]): BreakerSettings => ({ failureThreshold, breakMs, maxBreakMs: breakMs + extra }));

const passEvent = fc.record({
  dt: fc.oneof(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 4_000_000 })),
  force: fc.boolean(),
  outcomes: fc.array(fc.oneof(fc.constant<'answer'>('answer'), fc.constant<'failure'>('failure')), { maxLength: 6 }),
  error: fc.string({ unit: 'binary', maxLength: 40 }),
});

/** `failureThreshold`: Infinity where it is not known (a state read back from a file). */
function assertValidBreaker(b: BreakerState, failureThreshold: number, where: string): void {
  assert.ok(['closed', 'open', 'halfOpen'].includes(b.state), `${where}: state ${b.state}`);
  for (const n of [b.consecutiveFailures, b.consecutiveOpens]) assert.ok(Number.isSafeInteger(n) && n >= 0, `${where}: count ${n}`);
  if (b.state === 'closed') {
    assert.equal(b.openedAt, null, `${where}: a closed breaker with openedAt`);
    assert.equal(b.nextProbeAt, null, `${where}: a closed breaker with nextProbeAt`);
    assert.ok(b.consecutiveFailures < failureThreshold, `${where}: closed with ${b.consecutiveFailures} failures`);
  } else {
    assert.ok(Number.isFinite(b.openedAt) && Number.isFinite(b.nextProbeAt), `${where}: open without times`);
  }
}

describe('circuit breaker: random histories of passes, answers and failures', () => {
  test('property: opens only at the threshold, breaks stay within [0.8 × BreakSeconds, MaxBreakSeconds], an answer closes, and the state file round-trips every state', () => {
    fc.assert(
      fc.property(breakerSettings, fc.array(passEvent, { maxLength: 25 }), fc.integer({ min: 1, max: 2 ** 31 }), (settings, events, seed) => {
        let draws = seed;
        const random = (): number => ((draws = (Math.imul(draws, 1103515245) + 12345) >>> 0) / 2 ** 32);
        let state: BreakerState = CLOSED;
        let now = Date.parse('2026-11-25T12:00:00.000Z');
        for (const [i, ev] of events.entries()) {
          now += ev.dt;
          const admission = admit(state, now, settings, ev.force);
          if (admission.kind === 'refuse') {
            assert.equal(state.state, 'open', `event ${i}: a ${state.state} breaker refused a pass`);
            assert.ok(admission.nextProbeAt > now && admission.nextProbeAt <= now + settings.maxBreakMs, `event ${i}: the next probe is not within MaxBreakSeconds`);
            assert.ok(!ev.force, 'a forced pass was refused');
            continue;
          }
          assert.equal(admission.kind === 'closed', state.state === 'closed', `event ${i}: a ${state.state} breaker admitted as ${admission.kind}`);
          let s = enter(state, admission);
          for (const outcome of ev.outcomes) {
            const before = s;
            if (outcome === 'answer') {
              s = onAnswer(s);
              assert.deepEqual(s, CLOSED, 'an answer must close the breaker and reset everything');
              continue;
            }
            s = onFailure(s, now, settings, random, ev.error);
            if (before.state === 'closed' && before.consecutiveFailures + 1 < settings.failureThreshold) {
              assert.equal(s.state, 'closed', 'opened below the threshold');
              assert.equal(s.consecutiveFailures, before.consecutiveFailures + 1);
            } else {
              assert.equal(s.state, 'open', `did not open (was ${before.state} with ${before.consecutiveFailures} failures, threshold ${settings.failureThreshold})`);
              assert.equal(s.consecutiveOpens, before.consecutiveOpens + 1);
              const breakMs = s.nextProbeAt! - now;
              assert.ok(breakMs <= settings.maxBreakMs + 1e-6, `a break of ${breakMs} ms beyond MaxBreakSeconds ${settings.maxBreakMs}`);
              assert.ok(breakMs >= Math.min(settings.maxBreakMs, 0.8 * settings.breakMs) - 1e-6, `a break of ${breakMs} ms below 0.8 × BreakSeconds`);
            }
            assertValidBreaker(s, settings.failureThreshold, `event ${i}`);
          }
          state = leave(s);
          assert.notEqual(state.state, 'halfOpen', 'half-open outlived its pass');
          assertValidBreaker(state, settings.failureThreshold, `after event ${i}`);

          // What the next invocation reads back is this state (times to the millisecond).
          const saved: SavedState = { breaker: state, lastPass: { at: now, exitCode: 75, outcome: 'unavailable', delivered: 0, refused: 0, durationMs: ev.dt, error: ev.error, since: now }, lastSuccessAt: null };
          const parsed = parseState(serializeState(saved));
          assert.ok(parsed.ok, `the state file of a reachable state does not parse: ${parsed.ok ? '' : parsed.reason}`);
          const b = parsed.state.breaker;
          assert.deepEqual([b.state, b.consecutiveFailures, b.consecutiveOpens], [state.state, state.consecutiveFailures, state.consecutiveOpens]);
          for (const [a, c] of [[b.openedAt, state.openedAt], [b.nextProbeAt, state.nextProbeAt]] as const) {
            if (c === null) assert.equal(a, null);
            else assert.ok(a !== null && Math.abs(a - c) < 1, `a time changed on its way through the file: ${a} vs ${c}`);
          }
        }
      }),
      params,
    );
  });
});

// --- the state file, damaged ------------------------------------------------------------------

describe('state file: damaged copies of a real one', () => {
  const valid = serializeState({
    breaker: { state: 'open', consecutiveFailures: 4, openedAt: Date.parse('2026-11-25T12:00:00Z'), nextProbeAt: Date.parse('2026-11-25T12:00:30Z'), consecutiveOpens: 2, lastFailure: 'HTTP 503' },
    lastPass: { at: Date.parse('2026-11-25T12:00:00Z'), exitCode: 75, outcome: 'unavailable', delivered: 0, refused: 0, durationMs: 1200, error: 'HTTP 503', since: Date.parse('2026-11-25T11:59:30Z') },
    lastSuccessAt: Date.parse('2026-11-25T11:59:00Z'),
  });
  const paths: string[][] = [];
  const walk = (v: unknown, at: string[]): void => {
    paths.push(at);
    if (v !== null && typeof v === 'object') for (const [k, child] of Object.entries(v)) walk(child, [...at, k]);
  };
  walk(JSON.parse(valid), []);

  const damage = fc.oneof(
    fc.nat({ max: valid.length }).map((cut) => valid.slice(0, cut)),
    fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => Buffer.concat([Buffer.from(valid.slice(0, at)), Buffer.from([byte]), Buffer.from(valid.slice(at + 1))]).toString('utf8')),
    fc.tuple(fc.constantFrom(...paths.filter((p) => p.length > 0)), fc.jsonValue({ maxDepth: 2 })).map(([at, value]) => {
      const doc = JSON.parse(valid) as Record<string, unknown>;
      let target = doc as Record<string, unknown>;
      for (const k of at.slice(0, -1)) target = target[k] as Record<string, unknown>;
      target[at.at(-1)!] = value;
      return JSON.stringify(doc);
    }),
  );

  test('property: never throws; what it accepts is a valid state, anything else reads as "corrupt" (a closed breaker)', () => {
    // Both ways, and a last pass among what is accepted, must have come up: else it proved nothing.
    const seen = { refused: 0, accepted: 0, withLastPass: 0 };
    fc.assert(
      fc.property(damage, (text) => {
        const parsed = parseState(text);
        if (!parsed.ok) {
          seen.refused++;
          assert.equal(typeof parsed.reason, 'string');
          return;
        }
        seen.accepted++;
        const { breaker, lastPass, lastSuccessAt } = parsed.state;
        assertValidBreaker(breaker, Number.POSITIVE_INFINITY, 'parsed');
        assert.notEqual(breaker.state, 'halfOpen', 'a state file cannot say half-open');
        assert.ok(lastSuccessAt === null || Number.isFinite(lastSuccessAt));
        if (lastPass !== null) {
          seen.withLastPass++;
          assert.ok(Number.isFinite(lastPass.at));
          for (const n of [lastPass.exitCode, lastPass.delivered, lastPass.refused, lastPass.durationMs]) assert.ok(Number.isSafeInteger(n) && n >= 0);
          assert.ok(lastPass.error === null || typeof lastPass.error === 'string');
        }
      }),
      params,
    );
    assert.ok(seen.refused > 0 && seen.accepted > 0 && seen.withLastPass > 0, JSON.stringify(seen));
  });
});
