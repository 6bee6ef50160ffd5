// A central (or a proxy in front of it) that compresses its answers, through bin/pos-sync: a gzip
// acknowledgement is read and the rows marked; a gzip answer that expands past the byte cap (a
// decompression bomb) is cut at the cap after decoding, nothing is marked, and the pass says why.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('compressed');
let server: http.Server;
let url = '';
/** 64 MiB of JSON once decoded, ~64 KiB on the wire. */
const bomb = zlib.gzipSync(`{"rejected":[],"pad":"${'a'.repeat(64 * 1024 * 1024)}"}`, { level: 9 });

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const accepts = String(req.headers['accept-encoding'] ?? '');
      if (!accepts.includes('gzip')) return res.writeHead(400).end('ask for gzip');
      const body = req.url?.startsWith('/bomb') ? bomb : zlib.gzipSync('{"rejected":[]}');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tmp.cleanup();
});

function store(): { dir: string; db: string } {
  const dir = tmp.make('store');
  return { dir, db: buildFixtureDb(path.join(dir, 'pos.db')) };
}

test('a gzip acknowledgement is decoded: every row delivered and marked', async () => {
  const s = store();
  const r = await runCli(['--db', s.db, '--central-url', `${url}/ok`, 'sync'], { cwd: s.dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(pendingIds(s.db), []);
});

test('a gzip answer that expands past the cap: cut at the cap, nothing marked, exit 75 naming the cap', async () => {
  const s = store();
  const r = await runCli(['--db', s.db, '--central-url', `${url}/bomb`, '--json', 'sync'], { cwd: s.dir, env: { Sync__MaxRetryAttempts: '0' } });
  assert.equal(r.code, 75, r.stderr);
  const result = JSON.parse(r.stdout) as { error: string };
  assert.match(result.error, /HTTP 200 but the answer was larger than 1048576 bytes once decoded/);
  assert.deepEqual(pendingIds(s.db).sort(), [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory].sort());
  assert.ok(fs.existsSync(s.db));
});
