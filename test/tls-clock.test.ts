// A clock not yet set at boot: until NTP runs, the central's certificate is "not yet valid". That
// passes by itself, so it is a temporary failure (75: rows stay pending, the unit stays
// successful), not a configuration error (78). A real HTTPS server on 127.0.0.1 serves a
// certificate whose validity starts tomorrow (made by `openssl ca -startdate`), which is exactly
// what a till whose clock is a day behind sees.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('tls-clock');
after(tmp.cleanup);

/** openssl's date format for -startdate/-enddate: YYYYMMDDHHMMSSZ. */
const opensslDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

function futurePki(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3', '-subj', '/CN=pos-sync clock CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(['req', ...key, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = this', '[this]', 'dir = .', 'database = index.txt', 'new_certs_dir = .', 'serial = serial',
    'default_md = sha256', 'policy = any', 'copy_extensions = none', 'x509_extensions = leaf',
    '[any]', 'commonName = supplied', '[leaf]', 'subjectAltName = IP:127.0.0.1', 'extendedKeyUsage = serverAuth', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'serial'), '01\n');
  const day = 86_400_000;
  run(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'server.csr', '-out', 'server.crt',
    '-startdate', opensslDate(Date.now() + day), '-enddate', opensslDate(Date.now() + 2 * day)]);
  return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
}

test('a certificate not yet valid (the clock is behind): exit 75, rows pending, not a configuration error', async () => {
  const dir = tmp.make();
  const pki = futurePki(dir);
  let requests = 0;
  const server = https.createServer({ key: fs.readFileSync(pki.key), cert: fs.readFileSync(pki.cert) }, (req, res) => {
    requests++;
    req.resume();
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const db = buildFixtureDb(path.join(dir, 'pos.db'));
    const config = path.join(dir, 'appsettings.json');
    fs.writeFileSync(config, JSON.stringify({ Sync: { CaFile: pki.ca, MaxRetryAttempts: 1, MaxRunSeconds: 5 } }), { mode: 0o600 });
    const r = await runCli(['--config', config, '--db', db, '--state-file', path.join(dir, 'state.json'), '--central-url', url, '--json', 'sync'], { cwd: dir });
    assert.equal(r.code, 75, `${r.stdout}${r.stderr}`);
    const result = JSON.parse(r.stdout) as { exitCode: number; error?: string };
    assert.match(result.error ?? r.stderr, /CERT_NOT_YET_VALID|not yet valid/i);
    assert.equal(requests, 0, 'no request got through the handshake');
    assert.deepEqual(pendingIds(db).sort(), [...FIXTURE.pendingTransactions, ...FIXTURE.pendingInventory].sort());
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
