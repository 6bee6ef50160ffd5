// The fetch over node:http(s) that every request to the central goes through (src/central/node-fetch.ts),
// against a real HTTP server on 127.0.0.1: what arrives on the wire, how failures look to the
// client's classification, and that close() ends kept-alive connections.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createNodeFetch } from '../src/central/node-fetch.js';

interface Seen {
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

describe('node-fetch', () => {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  let server: http.Server;
  let url = '';
  before(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('X-Answer', 'yes');
        res.statusCode = req.url === '/redirect' ? 302 : 200;
        if (req.url === '/redirect') res.setHeader('Location', '/elsewhere');
        res.end('{"rejected":[]}');
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const text = JSON.stringify([{ id: 'A', notes: 'héllo ✓' }]);

  for (const [kind, body] of [
    ['a string', text],
    ['bytes', Buffer.from(text)],
    ['bytes in a larger buffer', Buffer.from(`xx${text}yy`).subarray(2, 2 + Buffer.byteLength(text))],
  ] as const) {
    test(`a POST with ${kind} sends exactly those UTF-8 bytes with their length, and hands back the answer`, async () => {
      const f = createNodeFetch();
      try {
        seen.length = 0;
        const res = await f(`${url}/events`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' } });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-answer'), 'yes');
        assert.equal(await res.text(), '{"rejected":[]}');
        assert.equal(seen.length, 1);
        assert.equal(seen[0]!.method, 'POST');
        assert.equal(seen[0]!.body.toString('utf8'), text);
        assert.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength(text)));
        assert.equal(seen[0]!.headers['transfer-encoding'], undefined);
        assert.equal(seen[0]!.headers['idempotency-key'], 'k1');
      } finally {
        f.close();
      }
    });
  }

  test('a Request (as ky passes one) is sent with its body and headers', async () => {
    const f = createNodeFetch();
    try {
      seen.length = 0;
      const res = await f(new Request(`${url}/summary`, { method: 'POST', body: text, headers: { 'X-Store-Id': 'S1' } }));
      assert.equal(res.status, 200);
      assert.equal(seen[0]!.body.toString('utf8'), text);
      assert.equal(seen[0]!.headers['x-store-id'], 'S1');
    } finally {
      f.close();
    }
  });

  test('a redirect is handed back, not followed', async () => {
    const f = createNodeFetch();
    try {
      seen.length = 0;
      const res = await f(`${url}/redirect`, { method: 'GET', redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/elsewhere');
      assert.equal(seen.length, 1);
    } finally {
      f.close();
    }
  });

  test('a refused connection fails like fetch: a TypeError with the socket error as cause', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const f = createNodeFetch();
    try {
      await assert.rejects(f(`http://127.0.0.1:${port}/events`, { method: 'POST', body: text }), (err: unknown) => {
        assert.ok(err instanceof TypeError);
        assert.equal((err.cause as { code?: unknown }).code, 'ECONNREFUSED');
        return true;
      });
    } finally {
      f.close();
    }
  });

  test('an aborted signal rejects with its reason, before and during the request', async () => {
    const f = createNodeFetch();
    try {
      const reason = new DOMException('too slow', 'TimeoutError');
      await assert.rejects(f(`${url}/events`, { method: 'POST', body: text, signal: AbortSignal.abort(reason) }), (err: unknown) => err === reason);
      const stalled = net.createServer(() => undefined); // accepts, never answers
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      try {
        const port = (stalled.address() as net.AddressInfo).port;
        await assert.rejects(
          f(`http://127.0.0.1:${port}/events`, { method: 'POST', body: text, signal: AbortSignal.timeout(100) }),
          (err: unknown) => (err as { name?: unknown }).name === 'TimeoutError',
        );
      } finally {
        stalled.close();
      }
    } finally {
      f.close();
    }
  });

  test('close() ends the kept-alive connection', async () => {
    const f = createNodeFetch();
    const res = await f(`${url}/events`, { method: 'POST', body: text });
    await res.text();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(sockets.size >= 1, 'the connection is kept alive after the answer');
    f.close();
    const deadline = Date.now() + 2000;
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sockets.size, 0);
  });
});
