// The pure and edge pieces of "trust nothing the network says" (pos-sync-central(7)): bounded body reads with
// a byte cap and a deadline, secrets scrubbed before any cut, the shared-refusal judgement,
// terminal escaping, credential-looking header names, URLs with credentials, and the plain-http
// token warning.

import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { readBounded, requestSignal } from '../src/central/bounded.js';
import { createCentralClient } from '../src/central/client.js';
import { runSync } from '../src/pass/pass.js';
import { hideUrlPassword, isSecretHeader, plainHttpCredentialWarning } from '../src/config/secrets.js';
import { judgeHeld, reasonOf } from '../src/domain/refusals.js';
import { escapeControl, scrub, scrubCutText } from '../src/domain/redact.js';
import { parseState, serializeState, EMPTY_STATE } from '../src/state/format.js';
import { centralForFile } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, query } from './helpers/db.js';
import { syncDeps, testConfig } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('network-trust');
after(tmp.cleanup);
const central = centralForFile({ seed: 11 });

/** A Response whose body is the given chunks, then (optionally) an error or a stall. */
function streamed(chunks: readonly string[], end: 'close' | 'error' | 'stall' = 'close'): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      if (end === 'close') controller.close();
      if (end === 'error') controller.error(new Error('socket hang up'));
    },
  });
  return new Response(body, { status: 200 });
}

describe('readBounded', () => {
  test('a whole body is complete; secrets in it are scrubbed', async () => {
    const r = await readBounded(streamed(['{"a":', '"Bearer sec', 'ret-token"}']), new AbortController().signal, 1000, ['secret-token', 'Bearer secret-token']);
    assert.deepEqual(r, { text: '{"a":"<redacted>"}', complete: true });
  });

  test('past the byte cap: incomplete, the text cut at the cap', async () => {
    const r = await readBounded(streamed(['x'.repeat(60), 'y'.repeat(60)]), new AbortController().signal, 1000, [], 100);
    assert.equal(r.complete, false);
    assert.equal(r.problem, 'larger than 100 bytes');
    assert.equal(r.text, 'x'.repeat(60) + 'y'.repeat(40));
  });

  test('a body that errors mid-way is incomplete ("cut short"), never an empty success', async () => {
    const r = await readBounded(streamed(['{"rejected":[{"id":'], 'error'), new AbortController().signal, 1000, []);
    assert.deepEqual([r.complete, r.problem], [false, 'cut short']);
  });

  test('a stalled body ends with the signal', async () => {
    const bound = requestSignal(150);
    const t0 = Date.now();
    const r = await readBounded(streamed(['{"acc'], 'stall'), bound.signal, 150, []);
    bound.clear();
    assert.deepEqual([r.complete, r.problem], [false, 'not whole within 150 ms']);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('a secret cut by the cap at every offset leaves no part of it of 4 characters or more', async () => {
    const token = 'tok_9f8e7d6c5b4a3210';
    for (let offset = 0; offset <= 140; offset++) {
      const body = `${'x'.repeat(offset)}Authorization: Bearer ${token} trailing`;
      const r = await readBounded(streamed([body]), new AbortController().signal, 1000, [token, `Bearer ${token}`], 150);
      assert.equal(r.complete, offset + 22 + token.length + 9 <= 150);
      for (let i = 0; i + 4 <= token.length; i++) assert.ok(!r.text.includes(token.slice(i, i + 4)), `offset ${offset}: ${r.text.slice(-40)}`);
    }
  });
});

describe('scrub before cut', () => {
  test("scrubCutText redacts a secret's leading part left at the end of cut text", () => {
    assert.equal(scrubCutText('error: Bearer abcdefgh', ['abcdefghijkl']), 'error: Bearer <redacted>');
    assert.equal(scrubCutText('error: ab', ['abcdefghijkl']), 'error: ab', 'two characters tell nothing');
    assert.equal(scrub('x abcdefghijkl y', ['abcdefghijkl']), 'x <redacted> y');
  });

  test('a central echoing the token at every offset around the 200-character cut: no part of it in the row, the log, the retry log or the state file', async () => {
    const token = 'tk-4f1c9a7e2b8d6c3a5e0f';
    for (const offset of [150, 160, 170, 175, 178, 180, 182, 185, 190, 195, 199, 200, 205]) {
      const dir = tmp.make('echo');
      const db = buildFixtureDb(path.join(dir, 'pos.db'));
      const config = testConfig(db, central.url, { Sync: { ApiToken: token, MaxRetryAttempts: 0, RetryDelayMinutes: 0 } });
      central.setFaults({ echoAuthorizationAt: offset });
      const deps = syncDeps(config);
      const result = await runSync({}, deps);
      assert.equal(result.exitCode, 75);
      const everything = [
        JSON.stringify(result),
        JSON.stringify(deps.log.lines),
        JSON.stringify(query(db, `SELECT "LastSyncError" FROM "PosTransactions" UNION ALL SELECT "LastSyncError" FROM "InventoryUpdates"`)),
        JSON.stringify(query(db, `SELECT * FROM "SyncRetryLogs"`)),
        JSON.stringify(query(db, `SELECT * FROM "SyncServiceStatuses"`)),
        (await import('node:fs')).readFileSync(config.stateFile, 'utf8'),
      ].join('\n');
      assert.match(everything, /echoed|x{20}/, 'the answer was recorded at all');
      for (let i = 0; i + 4 <= token.length; i++) assert.ok(!everything.includes(token.slice(i, i + 4)), `offset ${offset}: "${token.slice(i, i + 4)}" leaked`);
    }
  });
});

describe('refusals shared by every row', () => {
  test('two or more, none accepted, one reason: shared; the row id inside the reason does not count', () => {
    assert.deepEqual(judgeHeld([{ id: 'A', error: 'unknown store' }, { id: 'B', error: 'unknown store' }], 0), { kind: 'shared', reason: 'unknown store' });
    assert.equal(judgeHeld([{ id: 'A', error: 'row A: unknown store' }, { id: 'B', error: 'row B: unknown store' }], 0).kind, 'shared');
    assert.equal(reasonOf({ id: 'A1', error: 'A1 bad' }), '<id> bad');
  });
  test('a row accepted, different reasons, or every row refused before: each row its own fault', () => {
    assert.equal(judgeHeld([{ id: 'A', error: 'x' }, { id: 'B', error: 'x' }], 1).kind, 'record');
    assert.equal(judgeHeld([{ id: 'A', error: 'x' }, { id: 'B', error: 'y' }], 0).kind, 'record');
    assert.equal(judgeHeld([{ id: 'A', error: 'x', refusedBefore: true }, { id: 'B', error: 'x', refusedBefore: true }], 0).kind, 'record');
    assert.equal(judgeHeld([{ id: 'A', error: 'x', refusedBefore: true }, { id: 'B', error: 'x' }], 0).kind, 'shared');
  });
  test('a single refusal is not yet known', () => {
    assert.equal(judgeHeld([{ id: 'A', error: 'x' }], 0).kind, 'wait');
  });
});

describe('genuinely bad rows that share a reason are still theirs', () => {
  for (const format of ['batch', 'single'] as const) {
    test(`${format}: two bad rows first in the queue, good ones after: both refused (65), the rest delivered`, async () => {
      const db = buildFixtureDb(path.join(tmp.make('two-bad'), 'pos.db'));
      const [first, second] = FIXTURE.pendingTransactions;
      central.resetFaults();
      central.setFaults({ refuseIds: [first!, second!] });
      const result = await runSync({}, syncDeps(testConfig(db, central.url, { Sync: { ApiFormat: format, RetryDelayMinutes: 0 } })));
      assert.equal(result.exitCode, 65, result.error ?? '');
      assert.equal(result.rejected.transaction, 2);
      assert.deepEqual(result.delivered, { transaction: FIXTURE.pendingTransactions.length - 2, inventory: FIXTURE.pendingInventory.length });
    });
  }
});

test("bad rows filling one entity's batch, good ones in the other entity: the bad ones are refused (65)", async () => {
  const db = buildFixtureDb(path.join(tmp.make('one-entity-bad'), 'pos.db'));
  central.resetFaults();
  central.setFaults({ refuseIds: [...FIXTURE.pendingTransactions] });
  const result = await runSync({}, syncDeps(testConfig(db, central.url, { Sync: { RetryDelayMinutes: 0 } })));
  assert.equal(result.exitCode, 65, result.error ?? '');
  assert.equal(result.rejected.transaction, FIXTURE.pendingTransactions.length);
  assert.equal(result.delivered.inventory, FIXTURE.pendingInventory.length);
});

describe('terminal safety', () => {
  test('control characters become visible escapes; tabs and ordinary text stay', () => {
    assert.equal(escapeControl('ok\tfine'), 'ok\tfine');
    assert.equal(escapeControl('\u001b[2J\u0007a\nb\rc\u009b\u007f'), '\\u001b[2J\\u0007a\\nb\\rc\\u009b\\u007f');
    assert.equal(escapeControl('é 中 €'), 'é 中 €');
    assert.equal(escapeControl('\u202eevil'), '\\u202eevil');
  });
});

describe('secrets in the configuration', () => {
  test('credential-looking header names are secret, ordinary ones are not', () => {
    for (const name of ['Authorization', 'Proxy-Authorization', 'Cookie', 'X-Api-Key', 'Ocp-Apim-Subscription-Key', 'x-functions-key', 'X-Access-Key', 'X-Auth-Token', 'X-Signature', 'X-Amz-Security-Token', 'X-Client-Secret', 'X-Password', 'X-Session-Id', 'apikey']) {
      assert.ok(isSecretHeader(name), name);
    }
    for (const name of ['X-Trace', 'Accept', 'X-Request-Id', 'User-Agent', 'X-Tenant']) assert.ok(!isSecretHeader(name), name);
  });

  test('a URL password is hidden wherever it is quoted', () => {
    assert.equal(hideUrlPassword('"http://admin:p4ss@host:1/x"'), '"http://admin:<redacted>@host:1/x"');
    assert.equal(hideUrlPassword('http://host/x'), 'http://host/x');
  });

  test('a token over plain http:// to another host warns; https or loopback does not', () => {
    const db = buildFixtureDb(path.join(tmp.make('warn'), 'pos.db'));
    const warn = (url: string, sync: Record<string, unknown>) => plainHttpCredentialWarning(testConfig(db, url, { Sync: sync }));
    assert.match(warn('http://10.1.2.3:8080', { ApiToken: 'abcdefgh' }) ?? '', /plain http:\/\/ to 10\.1\.2\.3:8080/);
    assert.match(warn('http://central.example', { ApiHeaders: { 'X-Api-Key': 'k1234567' } }) ?? '', /plain http/);
    assert.equal(warn('https://central.example', { ApiToken: 'abcdefgh' }), null);
    assert.equal(warn('http://127.0.0.1:8080', { ApiToken: 'abcdefgh' }), null);
    assert.equal(warn('http://localhost:8080', { ApiToken: 'abcdefgh' }), null);
    assert.equal(warn('http://10.1.2.3:8080', { ApiHeaders: { 'X-Trace': 'abc' } }), null, 'no credential, no warning');
  });
});

describe('through the binary', () => {
  test('a URL with user:password@ is a configuration error (78) that never echoes the password', async () => {
    const dir = tmp.make('url');
    const db = buildFixtureDb(path.join(dir, 'pos.db'));
    const flag = await runCli(['--db', db, '--central-url', 'http://admin:Sup3rS3cretPw@127.0.0.1:9', 'sync'], { cwd: dir });
    assert.equal(flag.code, 78, flag.stderr);
    assert.match(flag.stderr, /without user:password@/);
    assert.ok(!(flag.stdout + flag.stderr).includes('Sup3rS3cretPw'));
    const fs = await import('node:fs');
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { CentralApiEndpoint: 'https://svc:An0therPw@central.example/api/events' } }));
    for (const command of ['sync', 'config', 'health']) {
      const r = await runCli(['--config', 'appsettings.json', '--db', db, command], { cwd: dir });
      assert.equal(r.code, command === 'health' ? 3 : 78, `${command}: ${r.stderr}`);
      assert.ok(!(r.stdout + r.stderr).includes('An0therPw'), `${command} echoed the password`);
    }
  });

  test('config redacts the new header names and warns once about a token over plain http', async () => {
    const dir = tmp.make('config');
    const db = buildFixtureDb(path.join(dir, 'pos.db'));
    const fs = await import('node:fs');
    const values = { 'Ocp-Apim-Subscription-Key': 'subkey-123456', 'x-functions-key': 'fnkey-123456', 'X-Access-Key': 'access-123456', 'X-Trace': 'visible-trace' };
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { ApiHeaders: values, ApiToken: 'tok-abcdef123' } }));
    const r = await runCli(['--config', 'appsettings.json', '--db', db, '--central-url', 'http://10.9.8.7:8080', 'config'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    for (const secret of ['subkey-123456', 'fnkey-123456', 'access-123456', 'tok-abcdef123']) assert.ok(!(r.stdout + r.stderr).includes(secret), secret);
    assert.match(r.stdout, /visible-trace/);
    assert.equal((r.stdout.match(/plain http:\/\//g) ?? []).length, 1, r.stdout);
    const local = await runCli(['--config', 'appsettings.json', '--db', db, '--central-url', 'http://127.0.0.1:8080', 'config'], { cwd: dir });
    assert.doesNotMatch(local.stdout, /plain http:\/\//);
    // health says it once too (0.0.0.0 is not loopback by name, and refuses at once here).
    const health = await runCli(['--config', 'appsettings.json', '--db', db, '--central-url', 'http://0.0.0.0:9', 'health'], { cwd: dir });
    assert.equal((health.stderr.match(/plain http:\/\//g) ?? []).length, 1, health.stderr);
    assert.ok(!(health.stdout + health.stderr).includes('tok-abcdef123'));
  });
});

describe('the state file keeps the last answer that was not about the rows', () => {
  test('round trip, and a file without it still reads', () => {
    const state = { ...EMPTY_STATE, notAboutRows: { at: Date.parse('2026-01-02T03:04:05.000Z'), reason: 'HTTP 400 from something other than the central API ("400 Bad Request")' } };
    const parsed = parseState(serializeState(state));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.ok && parsed.state.notAboutRows, state.notAboutRows);
    const without = parseState(serializeState(EMPTY_STATE));
    assert.ok(without.ok && without.state.notAboutRows === undefined);
    assert.equal(parseState(serializeState(EMPTY_STATE).replace('"lastSuccessAt"', '"notAboutRows": {"at": 5}, "lastSuccessAt"')).ok, false);
  });
});

describe('the client closes what it opened', () => {
  test('a stalled body on a kept-alive server: post returns within the timeout, and close() lets the process end', async () => {
    const sockets = new Set<net.Socket>();
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"accep');
    });
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const client = createCentralClient({ eventsUrl: `${url}/e`, healthUrl: `${url}/h`, storeId: 'S', token: null, headers: {} });
      const t0 = Date.now();
      const outcome = await client.post({ body: '[]', idempotencyKey: 'k', ids: new Set(), timeoutMs: 300 }, Date.now);
      assert.equal(outcome.kind, 'temporary');
      assert.match(outcome.kind === 'temporary' ? outcome.error : '', /not whole within 300 ms: nothing marked/);
      assert.ok(Date.now() - t0 < 1500);
      const h = await client.health(300);
      assert.equal(h.ok, false);
      client.close?.();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
