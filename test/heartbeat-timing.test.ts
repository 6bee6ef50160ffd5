// When a heartbeat is due (src/domain/heartbeat.ts) — the decision the idle tick makes with only the
// state file and the clock — and how its memory survives the state file.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { afterHeartbeat, clockOffset, heartbeatDue, heartbeatMayBeDue, NO_HEARTBEAT, UNSUPPORTED_RETRY_MS, type HeartbeatMemory } from '../src/domain/heartbeat.js';
import { loadConfig } from '../src/config/load.js';
import { configHash } from '../src/heartbeat/document.js';
import { tmpDirs } from './helpers/tmp.js';
import { EMPTY_STATE, parseState, serializeState } from '../src/state/format.js';

const T = Date.parse('2026-12-07T10:00:00.000Z');
const MIN = 60_000;
const sent = (over: Partial<HeartbeatMemory> = {}): HeartbeatMemory => ({ ...NO_HEARTBEAT, lastAt: T, verdict: 'OK', verdictSince: T - 3600_000, ...over });

describe('heartbeatDue', () => {
  const cases: Array<[string, HeartbeatMemory, number, number, 'OK' | 'DEGRADED' | 'NOT SYNCING' | null, boolean, string]> = [
    ['never sent: at once', NO_HEARTBEAT, T, MIN, null, true, 'first'],
    ['HeartbeatSeconds 0: never', NO_HEARTBEAT, T, 0, 'DEGRADED', false, 'off'],
    ['59 s after the last, verdict unknown: not yet', sent(), T + 59_000, MIN, null, false, 'recent'],
    ['60 s after the last: due', sent(), T + 60_000, MIN, null, true, 'interval'],
    ['10 s after, the same verdict: not yet', sent(), T + 10_000, MIN, 'OK', false, 'recent'],
    ['10 s after, the verdict changed: at once', sent(), T + 10_000, MIN, 'DEGRADED', true, 'verdict'],
    ['the clock stepped back before the last one: due', sent(), T - 5000, MIN, null, true, 'clockStep'],
    ['no endpoint, an hour later: silent', sent({ unsupportedUntil: T + UNSUPPORTED_RETRY_MS }), T + 3600_000, MIN, 'DEGRADED', false, 'unsupported'],
    ['no endpoint, a day later: asked again', sent({ unsupportedUntil: T + UNSUPPORTED_RETRY_MS }), T + UNSUPPORTED_RETRY_MS, MIN, null, true, 'interval'],
    ['no endpoint, the clock stepped back over a day: asked again', sent({ unsupportedUntil: T + UNSUPPORTED_RETRY_MS }), T - 2 * 3600_000, MIN, null, true, 'clockStep'],
  ];
  for (const [name, memory, now, interval, verdict, send, reason] of cases) {
    test(name, () => assert.deepEqual(heartbeatDue(memory, now, interval, verdict), { send, reason }));
  }
});

describe('afterHeartbeat', () => {
  test('the verdict keeps its "since" while it holds, and a new verdict starts its own', () => {
    const kept = afterHeartbeat(sent(), T + MIN, 'OK', { kind: 'accepted', clockOffsetMs: 2000 });
    assert.deepEqual(kept, { lastAt: T + MIN, verdict: 'OK', verdictSince: T - 3600_000, unsupportedUntil: null, clockOffsetMs: 2000 });
    const changed = afterHeartbeat(kept, T + 2 * MIN, 'DEGRADED', { kind: 'failed' });
    assert.deepEqual(changed, { lastAt: T + 2 * MIN, verdict: 'DEGRADED', verdictSince: T + 2 * MIN, unsupportedUntil: null, clockOffsetMs: 2000 });
  });
  test('404/405: left alone for a day', () => {
    assert.equal(afterHeartbeat(NO_HEARTBEAT, T, 'OK', { kind: 'unsupported' }).unsupportedUntil, T + UNSUPPORTED_RETRY_MS);
  });
});

test('clockOffset: local minus the Date header, to the second; null for none or garbage', () => {
  assert.equal(clockOffset('Mon, 07 Dec 2026 10:00:00 GMT', T + 3400), 3000);
  assert.equal(clockOffset('Mon, 07 Dec 2026 10:00:05 GMT', T + 999), -5000);
  assert.equal(clockOffset(null, T), null);
  assert.equal(clockOffset('yesterday', T), null);
});

describe('the state file keeps the heartbeat', () => {
  test('round trip', () => {
    const memory = sent({ unsupportedUntil: T + UNSUPPORTED_RETRY_MS, clockOffsetMs: -1000 });
    const parsed = parseState(serializeState({ ...EMPTY_STATE, heartbeat: memory }));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.state.heartbeat, memory);
  });
  test('a file written before the heartbeat existed reads as before (no heartbeat)', () => {
    const parsed = parseState(serializeState(EMPTY_STATE));
    assert.ok(parsed.ok);
    assert.equal(parsed.state.heartbeat, undefined);
    assert.equal(heartbeatDue(parsed.state.heartbeat ?? NO_HEARTBEAT, T, MIN, null).send, true);
  });
  test('a bad heartbeat object makes the file unusable like any other bad field', () => {
    const text = serializeState({ ...EMPTY_STATE, heartbeat: sent() }).replace('"verdict": "OK"', '"verdict": "FINE"');
    assert.deepEqual(parseState(text), { ok: false, reason: 'heartbeat.verdict is not a verdict' });
  });
});

describe('heartbeatMayBeDue: what an idle tick asks (state file and clock only)', () => {
  test('nothing due 10 s after the last heartbeat when no pass ended differently since', () => {
    assert.equal(heartbeatMayBeDue(sent(), T - 3600_000, T + 10_000, MIN), false);
  });
  test('a pass that ended differently after the last heartbeat: the verdict may have changed', () => {
    assert.equal(heartbeatMayBeDue(sent(), T + 5000, T + 10_000, MIN), true);
  });
  test('due by time, or never sent: yes; off or no endpoint: no', () => {
    assert.equal(heartbeatMayBeDue(sent(), null, T + MIN, MIN), true);
    assert.equal(heartbeatMayBeDue(NO_HEARTBEAT, null, T, MIN), true);
    assert.equal(heartbeatMayBeDue(NO_HEARTBEAT, T, T, 0), false);
    assert.equal(heartbeatMayBeDue(sent({ unsupportedUntil: T + UNSUPPORTED_RETRY_MS }), T + 5000, T + 10_000, MIN), false);
  });
});

describe('configHash', () => {
  const tmp = tmpDirs('heartbeat-config-hash');
  after(tmp.cleanup);
  // One folder for every till here: the database's path is part of the settings.
  const cwd = tmp.make();
  const hashOf = async (env: Record<string, string>): Promise<string> => configHash((await loadConfig({ flags: {}, env: { Sync__AutoCreateDatabase: 'true', ...env }, cwd })).config);
  test('the same settings on two tills of two stores: the same hash; another setting: another hash', async () => {
    const a = await hashOf({ STORE_ID: 'S1', Sync__TillId: 'till-1', CENTRAL_API_URL: 'http://127.0.0.1:9' });
    const b = await hashOf({ STORE_ID: 'S2', Sync__TillId: 'till-2', CENTRAL_API_URL: 'http://127.0.0.1:9' });
    const c = await hashOf({ STORE_ID: 'S1', Sync__TillId: 'till-1', CENTRAL_API_URL: 'http://127.0.0.1:9', Sync__BatchSize: '200' });
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });
  test('secrets do not show: another token or secret header value, the same hash; a token or none, another', async () => {
    const base = { CENTRAL_API_URL: 'http://127.0.0.1:9' };
    const one = await hashOf({ ...base, Sync__ApiToken: 'token-one' });
    const two = await hashOf({ ...base, Sync__ApiToken: 'token-two' });
    const none = await hashOf(base);
    assert.equal(one, two);
    assert.notEqual(one, none);
  });
});
