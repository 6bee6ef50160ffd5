// The one transport every request to the central goes through (src/central/transport.ts), against
// a real HTTP server on 127.0.0.1: what arrives on the wire, compressed answers decoded and capped
// after decoding, how failures look to the client's classification, and that close() ends
// kept-alive connections.

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { createTransport, curlNoProxy, type Sent } from '../src/central/transport.js';
import { closedPort } from './helpers/central.js';

interface Seen {
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

const ACK = '{"rejected":[]}';
/** 8 MiB of JSON that gzip makes ~8 KiB: a decompression bomb against a 1 MiB cap. */
const BOMB = `{"rejected":[],"pad":"${'a'.repeat(8 * 1024 * 1024)}"}`;

describe('the transport', () => {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  let server: http.Server;
  let url = '';
  before(async () => {
    const bomb = zlib.gzipSync(BOMB);
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.setHeader('Content-Type', 'application/json');
        res.setHeader('X-Answer', 'yes');
        const path = req.url ?? '';
        if (path === '/redirect') {
          res.writeHead(302, { Location: '/elsewhere' }).end(ACK);
        } else if (path === '/gzip') {
          res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(zlib.gzipSync(ACK));
        } else if (path === '/deflate') {
          res.writeHead(200, { 'Content-Encoding': 'deflate' }).end(zlib.deflateSync(ACK));
        } else if (path === '/br') {
          res.writeHead(200, { 'Content-Encoding': 'br' }).end(zlib.brotliCompressSync(ACK));
        } else if (path === '/bomb') {
          res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(bomb);
        } else if (path === '/not-gzip') {
          res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(ACK);
        } else if (path === '/zz') {
          res.writeHead(200, { 'Content-Encoding': 'zz-unknown' }).end(ACK);
        } else {
          res.end(ACK);
        }
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
  const send = (path: string, extra: Partial<Sent> = {}): Sent => ({
    url: `${url}${path}`,
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: text,
    signal: new AbortController().signal,
    timeoutMs: 5000,
    capBytes: 1024 * 1024,
    secrets: [],
    ...extra,
  });

  for (const [kind, body] of [
    ['a string', text],
    ['bytes', Buffer.from(text)],
    ['bytes in a larger buffer', Buffer.from(`xx${text}yy`).subarray(2, 2 + Buffer.byteLength(text))],
  ] as const) {
    test(`a POST with ${kind} sends exactly those UTF-8 bytes with their length, and hands back the answer`, async () => {
      const t = createTransport();
      try {
        seen.length = 0;
        const answer = await t.send(send('/events', { body, headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'k1' } }));
        assert.equal(answer.status, 200);
        assert.equal(answer.headers['x-answer'], 'yes');
        assert.deepEqual(answer.body, { text: ACK, complete: true });
        assert.equal(seen.length, 1);
        assert.equal(seen[0]!.method, 'POST');
        assert.equal(seen[0]!.body.toString('utf8'), text);
        assert.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength(text)));
        assert.equal(seen[0]!.headers['transfer-encoding'], undefined);
        assert.equal(seen[0]!.headers['idempotency-key'], 'k1');
        assert.equal(seen[0]!.headers['accept-encoding'], 'gzip, deflate, br');
      } finally {
        t.close();
      }
    });
  }

  for (const encoding of ['gzip', 'deflate', 'br']) {
    test(`a ${encoding} answer is decoded`, async () => {
      const t = createTransport();
      try {
        const answer = await t.send(send(`/${encoding}`));
        assert.deepEqual(answer.body, { text: ACK, complete: true });
      } finally {
        t.close();
      }
    });
  }

  test('a gzip answer that expands past the cap is cut at the cap, counted after decoding', async () => {
    const t = createTransport();
    try {
      const answer = await t.send(send('/bomb'));
      assert.equal(answer.status, 200);
      assert.equal(answer.body.complete, false);
      assert.equal(answer.body.problem, 'larger than 1048576 bytes once decoded');
      assert.equal(Buffer.byteLength(answer.body.text), 1024 * 1024);
    } finally {
      t.close();
    }
  });

  test('an answer that says gzip but is not, or an encoding pos-sync cannot read: incomplete, saying why', async () => {
    const t = createTransport();
    try {
      const bad = await t.send(send('/not-gzip'));
      assert.deepEqual({ complete: bad.body.complete, problem: bad.body.problem }, { complete: false, problem: 'not valid gzip data' });
      const unknown = await t.send(send('/zz'));
      assert.deepEqual({ complete: unknown.body.complete, problem: unknown.body.problem }, { complete: false, problem: 'in an encoding pos-sync cannot read (Content-Encoding: zz-unknown)' });
    } finally {
      t.close();
    }
  });

  test('a redirect is handed back, not followed', async () => {
    const t = createTransport();
    try {
      seen.length = 0;
      const answer = await t.send(send('/redirect', { method: 'GET' }));
      assert.equal(answer.status, 302);
      assert.equal(answer.headers['location'], '/elsewhere');
      assert.equal(seen.length, 1);
    } finally {
      t.close();
    }
  });

  test('a refused connection fails like fetch: a TypeError with the socket error as cause', async () => {
    const port = await closedPort();
    const t = createTransport();
    try {
      await assert.rejects(t.send(send('/events', { url: `http://127.0.0.1:${port}/events` })), (err: unknown) => {
        assert.ok(err instanceof TypeError);
        assert.equal((err.cause as { code?: unknown }).code, 'ECONNREFUSED');
        return true;
      });
    } finally {
      t.close();
    }
  });

  test('an aborted signal rejects with its reason, before and during the request', async () => {
    const t = createTransport();
    try {
      const reason = new DOMException('too slow', 'TimeoutError');
      await assert.rejects(t.send(send('/events', { signal: AbortSignal.abort(reason) })), (err: unknown) => err === reason);
      const stalled = net.createServer(() => undefined); // accepts, never answers
      await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
      try {
        const port = (stalled.address() as net.AddressInfo).port;
        await assert.rejects(
          t.send(send('/events', { url: `http://127.0.0.1:${port}/events`, signal: AbortSignal.timeout(100) })),
          (err: unknown) => (err as { name?: unknown }).name === 'TimeoutError',
        );
      } finally {
        stalled.close();
      }
    } finally {
      t.close();
    }
  });

  test('close() ends the kept-alive connection', async () => {
    const t = createTransport();
    await t.send(send('/events'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(sockets.size >= 1, 'the connection is kept alive after the answer');
    t.close();
    const deadline = Date.now() + 2000;
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(sockets.size, 0);
  });
});

test('NO_PROXY as curl reads it: a bare name covers its subdomains; *, .domain, host:port and ranges pass as they are', () => {
  assert.equal(curlNoProxy('example.org, .shop.example, *, 127.0.0.1:8080,10.0.0.1-10.0.0.9,'), 'example.org,.example.org,.shop.example,*,127.0.0.1:8080,10.0.0.1-10.0.0.9');
});
