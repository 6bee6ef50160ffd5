// Delivery through a real forward proxy (tinyproxy on 127.0.0.1, test/helpers/tinyproxy.ts), as a
// store that reaches the central only through one has it: HTTP_PROXY / http_proxy for an http://
// central, a CONNECT tunnel with TLS to the central inside it for https:// (HTTPS_PROXY), and
// NO_PROXY's host, host:port and * rules going direct. No Node-specific switch is set.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { closedPort } from './helpers/central.js';
import { runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds } from './helpers/db.js';
import { startTinyproxy, type Tinyproxy } from './helpers/tinyproxy.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('proxy');
let proxy: Tinyproxy;
let central: RunningCentral;
let pki: TestPki;
let tlsCentral: { url: string; posts: () => number; close: () => Promise<void> };

before(async () => {
  proxy = await startTinyproxy(tmp.make('tinyproxy'));
  central = await startCentral({});
  pki = makeTestPki(path.join(tmp.make('pki'), 'pki'));
  let posts = 0;
  const server = https.createServer({ key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) }, (req, res) => {
    if (req.method === 'POST') posts++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"rejected":[]}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tlsCentral = {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts: () => posts,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
});
after(async () => {
  await proxy?.stop();
  await central?.close();
  await tlsCentral?.close();
  tmp.cleanup();
});

const ALL = [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory].sort();

function store(sync: Record<string, unknown> = {}): { dir: string; db: string; config: string } {
  const dir = tmp.make('store');
  const db = buildFixtureDb(path.join(dir, 'pos.db'));
  const config = path.join(dir, 'appsettings.json');
  fs.writeFileSync(config, JSON.stringify({ Sync: { MaxRetryAttempts: 0, MaxRunSeconds: 20, ...sync } }));
  return { dir, db, config };
}

function sync(s: ReturnType<typeof store>, url: string, env: Record<string, string>, command = 'sync') {
  return runCli(['--config', s.config, '--db', s.db, '--central-url', url, command], { cwd: s.dir, env });
}

const through = (kind: string, since: number): string[] => proxy.requests().slice(since).filter((r) => r.startsWith(kind));

describe('an http:// central through a forward proxy', () => {
  for (const name of ['HTTP_PROXY', 'http_proxy']) {
    test(`${name}: every row delivered, every POST seen by the proxy`, async () => {
      const s = store();
      const seen = proxy.requests().length;
      const r = await sync(s, central.url, { [name]: proxy.url });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(pendingIds(s.db), []);
      const posts = through('POST', seen);
      assert.ok(posts.length >= 1, proxy.requests().join('\n'));
      // The batches, and the heartbeat after them: every request to the central takes the proxy.
      assert.ok(posts.some((p) => p === `POST ${central.eventsUrl}`), posts.join('\n'));
      assert.ok(posts.every((p) => p === `POST ${central.eventsUrl}` || p === `POST ${central.url}/api/inventory/heartbeat`), posts.join('\n'));
    });
  }

  test('a proxy that is down: nothing delivered, exit 75 (the proxy is really used)', async () => {
    const s = store();
    const r = await sync(s, central.url, { HTTP_PROXY: `http://127.0.0.1:${await closedPort()}` });
    assert.equal(r.code, 75, r.stderr);
    assert.deepEqual(pendingIds(s.db).sort(), ALL);
  });

  for (const rule of ['127.0.0.1', '*', 'example.org, 127.0.0.1']) {
    test(`NO_PROXY=${rule}: the central is reached directly, past a proxy that is down`, async () => {
      const s = store();
      const r = await sync(s, central.url, { HTTP_PROXY: `http://127.0.0.1:${await closedPort()}`, NO_PROXY: rule });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(pendingIds(s.db), []);
    });
  }

  test('NO_PROXY with the central\'s port goes direct; another port does not', async () => {
    const port = new URL(central.url).port;
    const direct = store();
    const seen = proxy.requests().length;
    const r = await sync(direct, central.url, { HTTP_PROXY: proxy.url, no_proxy: `127.0.0.1:${port}` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pendingIds(direct.db), []);
    assert.deepEqual(through('POST', seen), []);
    const proxied = store();
    const r2 = await sync(proxied, central.url, { HTTP_PROXY: proxy.url, no_proxy: `127.0.0.1:${Number(port) === 1 ? 2 : 1}` });
    assert.equal(r2.code, 0, r2.stderr);
    assert.ok(through('POST', seen).length >= 1);
  });

  test('health checks the central through the proxy too', async () => {
    const s = store();
    const seen = proxy.requests().length;
    const r = await sync(s, central.url, { HTTP_PROXY: proxy.url }, 'health');
    assert.match(r.stdout, /OK +central API: HTTP 200/, r.stdout);
    assert.deepEqual(through('GET', seen), [`GET ${central.url}/health`]);
  });
});

describe('an https:// central through a CONNECT tunnel', () => {
  test('HTTPS_PROXY: a CONNECT to the central, TLS to the central inside it (its private CA trusted), every row delivered', async () => {
    const s = store({ CaFile: pki.caCert });
    const seen = proxy.requests().length;
    const posts = tlsCentral.posts();
    const r = await sync(s, tlsCentral.url, { HTTPS_PROXY: proxy.url });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pendingIds(s.db), []);
    assert.ok(tlsCentral.posts() > posts);
    const host = new URL(tlsCentral.url).host;
    const connects = through('CONNECT', seen);
    assert.ok(connects.length >= 1 && connects.every((c) => c === `CONNECT ${host}`), proxy.requests().slice(seen).join('\n'));
  });

  test('HTTPS_PROXY does not apply to an http:// central, nor HTTP_PROXY to an https:// one', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const plain = store();
    const r = await sync(plain, central.url, { HTTPS_PROXY: down });
    assert.equal(r.code, 0, r.stderr);
    const secure = store({ CaFile: pki.caCert });
    const r2 = await sync(secure, tlsCentral.url, { HTTP_PROXY: down });
    assert.equal(r2.code, 0, r2.stderr);
    assert.deepEqual(pendingIds(secure.db), []);
  });

  test('NO_PROXY: the https:// central is reached directly, past a proxy that is down', async () => {
    const s = store({ CaFile: pki.caCert });
    const r = await sync(s, tlsCentral.url, { HTTPS_PROXY: `http://127.0.0.1:${await closedPort()}`, NO_PROXY: '127.0.0.1' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(pendingIds(s.db), []);
  });
});
