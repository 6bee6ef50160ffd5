// HTTPS to the central API against a real server on 127.0.0.1 with certificates made by openssl
// at test time: verified by default, a private CA (Sync.CaFile), mutual TLS (Sync.ClientCertFile +
// Sync.ClientKeyFile); a trust failure is a configuration error (exit 78, no retries, no breaker
// failure), and every bad TLS file is one line naming its key, exit 78.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { lines, runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds, query } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('tls');
let pki: TestPki;

interface Central {
  readonly url: string;
  /** Requests that got through the handshake. */
  readonly requests: { method: string; url: string; clientCn: string | null }[];
  /** Handshakes the server saw fail. */
  readonly handshakeErrors: string[];
  close(): Promise<void>;
}

async function startHttpsCentral(options: { mutual: boolean }): Promise<Central> {
  const requests: Central['requests'] = [];
  const handshakeErrors: string[] = [];
  const server = https.createServer(
    {
      key: fs.readFileSync(pki.serverKey),
      cert: fs.readFileSync(pki.serverCert),
      ca: fs.readFileSync(pki.caCert),
      requestCert: options.mutual,
      rejectUnauthorized: options.mutual,
    },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      requests.push({ method: req.method ?? '', url: req.url ?? '', clientCn: peer && 'subject' in peer && peer.subject ? String(peer.subject.CN) : null });
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    },
  );
  server.on('tlsClientError', (err) => handshakeErrors.push((err as NodeJS.ErrnoException).code ?? err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    handshakeErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let plain: Central;
let mutual: Central;

before(() => {
  pki = makeTestPki(path.join(tmp.make('pki'), 'pki'));
});
before(async () => {
  plain = await startHttpsCentral({ mutual: false });
  mutual = await startHttpsCentral({ mutual: true });
});
after(async () => {
  await plain?.close();
  await mutual?.close();
  tmp.cleanup();
});

/** A fixture database (5 pending rows) and a config file with the given Sync keys. */
function store(sync: Record<string, unknown>): { dir: string; db: string; config: string; state: string } {
  const dir = tmp.make('store');
  const db = buildFixtureDb(path.join(dir, 'pos.db'));
  const config = path.join(dir, 'appsettings.json');
  fs.writeFileSync(config, JSON.stringify({ Sync: { MaxRetryAttempts: 2, MaxRunSeconds: 20, ...sync } }), { mode: 0o600 });
  return { dir, db, config, state: path.join(dir, 'pos.db.pos-sync.state.json') };
}

function sync(s: ReturnType<typeof store>, central: Central, extra: string[] = []) {
  return runCli(['--config', s.config, '--db', s.db, '--state-file', s.state, '--central-url', central.url, ...extra, 'sync'], { cwd: s.dir });
}

const ALL = [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory].sort();

/** A trust failure must not count against the central: the breaker stays closed with no failures. */
function assertBreakerUntouched(stateFile: string): void {
  if (!fs.existsSync(stateFile)) return; // no state written: nothing was counted either
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { breaker?: { state?: string; consecutiveFailures?: number } };
  assert.equal(state.breaker?.state, 'closed', JSON.stringify(state));
  assert.equal(state.breaker?.consecutiveFailures, 0, JSON.stringify(state));
}

describe('HTTPS to the central API', () => {
  test('the right CA (Sync.CaFile): every row delivered', async () => {
    const s = store({ CaFile: pki.caCert });
    const before = plain.requests.length;
    const r = await sync(s, plain);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pendingIds(s.db), []);
    assert.ok(plain.requests.length > before);
  });

  test('a certificate from a CA we do not trust: exit 78, one clear line, no retry, breaker untouched', async () => {
    const s = store({ CaFile: pki.otherCaCert });
    const handshakes = plain.handshakeErrors.length;
    const requests = plain.requests.length;
    const r = await sync(s, plain, ['--json']);
    assert.equal(r.code, 78, r.stderr);
    const result = JSON.parse(r.stdout) as { exitCode: number; stoppedBy: string; error: string };
    assert.equal(result.exitCode, 78);
    assert.equal(result.stoppedBy, 'misconfigured');
    assert.match(result.error, /TLS: check Sync\.CaFile/);
    assert.match(result.error, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.equal(plain.requests.length, requests, 'no request got through');
    assert.equal(plain.handshakeErrors.length - handshakes, 1, 'one handshake, no retries');
    assert.deepEqual(pendingIds(s.db).sort(), ALL);
    assertBreakerUntouched(s.state);
  });

  test('verified by default: without Sync.CaFile a private CA is not trusted (exit 78)', async () => {
    const s = store({});
    const r = await sync(s, plain);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /TLS: check Sync\.CaFile/);
    assert.deepEqual(pendingIds(s.db).sort(), ALL);
    assertBreakerUntouched(s.state);
  });

  test('mutual TLS: the client certificate is presented and accepted', async () => {
    const s = store({ CaFile: pki.caCert, ClientCertFile: pki.clientCert, ClientKeyFile: pki.clientKey });
    const r = await sync(s, mutual);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pendingIds(s.db), []);
    assert.ok(mutual.requests.length > 0 && mutual.requests.every((q) => q.clientCn === 'STORE001'), JSON.stringify(mutual.requests));
  });

  test('mutual TLS without a client certificate: refused, exit 78 naming the client certificate keys', async () => {
    const s = store({ CaFile: pki.caCert });
    const requests = mutual.requests.length;
    const r = await sync(s, mutual, ['--json']);
    assert.equal(r.code, 78, r.stderr);
    const result = JSON.parse(r.stdout) as { error: string };
    assert.match(result.error, /Sync\.ClientCertFile/);
    assert.equal(mutual.requests.length, requests);
    assert.deepEqual(pendingIds(s.db).sort(), ALL);
    assertBreakerUntouched(s.state);
  });
});

describe('bad TLS files: one line naming the key, exit 78', () => {
  const cases: { why: string; sync: () => Record<string, unknown>; message: RegExp }[] = [
    { why: 'a CA file that does not exist', sync: () => ({ CaFile: '/nonexistent/ca.pem' }), message: /^pos-sync: Sync\.CaFile \/nonexistent\/ca\.pem cannot be read: it does not exist — fix it; pos-sync config shows every setting and where it came from$/ },
    { why: 'a CA path that is a folder', sync: () => ({ CaFile: pki.dir }), message: /^pos-sync: Sync\.CaFile .* cannot be read: it is a folder — fix it; pos-sync config/ },
    { why: 'a CA file holding no certificate', sync: () => ({ CaFile: pki.serverKey }), message: /^pos-sync: Sync\.CaFile .* holds no PEM certificate — fix it; pos-sync config/ },
    { why: 'a client key that does not match the certificate', sync: () => ({ ClientCertFile: pki.clientCert, ClientKeyFile: pki.strayKey }), message: /^pos-sync: Sync\.ClientKeyFile .* does not match Sync\.ClientCertFile/ },
    { why: 'a client certificate that is not a certificate', sync: () => ({ ClientCertFile: pki.clientKey, ClientKeyFile: pki.clientKey }), message: /^pos-sync: Sync\.ClientCertFile .* is not a valid PEM certificate/ },
    { why: 'a client certificate without its key', sync: () => ({ ClientCertFile: pki.clientCert }), message: /^pos-sync: Sync\.ClientCertFile and Sync\.ClientKeyFile must be set together/ },
  ];
  for (const c of cases) {
    test(c.why, async () => {
      const s = store(c.sync());
      const r = await sync(s, plain);
      assert.equal(r.code, 78, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0]!, c.message);
      // Some are caught before the database is even opened (and migrated): count the seed's way.
      assert.deepEqual(query(s.db, 'SELECT count(*) AS n FROM "PosTransactions" WHERE "Synced" = 0'), [{ n: FIXTURE.pendingTransactions.length }]);
    });
  }

  test('an unreadable CA file is exit 78 even when nothing is pending (no HTTPS client is built)', async () => {
    const s = store({ CaFile: path.join(pki.dir, 'missing.pem') });
    const drained = await sync(store({ CaFile: pki.caCert }), plain);
    assert.equal(drained.code, 0);
    const empty = tmp.make('empty');
    const r = await runCli(['--config', s.config, '--db', path.join(empty, 'new.db'), '--central-url', plain.url, 'sync'], { cwd: empty });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /Sync\.CaFile .*missing\.pem cannot be read/);
  });
});
