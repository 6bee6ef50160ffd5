// The other leg of the drain's physical bound (README → Performance): how fast the reference
// central accepts the very bodies a drain sends, with a client that does nothing else. The bodies
// come from a file bound-sqlite.js wrote (a 4-byte length, then the bytes); each is POSTed over
// one kept-alive node:http connection (as pos-sync's client does), one at a time, answer read to the
// end. It prints how long the posting took, without its start or the file's first read.
//
//   node dist/test/bench/bound-central.js --bodies FILE --url EVENTS_URL [--store STORE001]
//
// Without --bodies it prints its usage and exits 0.

import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

function post(agent: http.Agent, url: URL, body: Buffer, key: string, store: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length, 'idempotency-key': key, 'x-store-id': store },
      },
      (res) => {
        res.on('data', () => undefined);
        res.on('end', () => (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function postAll(file: string, url: URL, store: string): Promise<{ requests: number; loopMs: number }> {
  const fd = fs.openSync(file, 'r');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const size = Buffer.alloc(4);
  let requests = 0;
  const started = performance.now();
  try {
    for (;;) {
      if (fs.readSync(fd, size, 0, 4, null) < 4) break;
      const body = Buffer.allocUnsafe(size.readUInt32LE(0));
      fs.readSync(fd, body, 0, body.length, null);
      await post(agent, url, body, `bound-${requests}`, store);
      requests++;
    }
  } finally {
    fs.closeSync(fd);
    agent.destroy();
  }
  return { requests, loopMs: performance.now() - started };
}

const { values } = parseArgs({ options: { bodies: { type: 'string' }, url: { type: 'string' }, store: { type: 'string', default: 'STORE001' } } });
if (values.bodies === undefined || values.url === undefined) {
  process.stdout.write('usage: node dist/test/bench/bound-central.js --bodies FILE --url EVENTS_URL [--store STORE001]\n');
} else {
  process.stdout.write(`${JSON.stringify(await postAll(values.bodies, new URL(values.url), values.store!))}\n`);
}
