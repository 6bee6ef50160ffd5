// Secrets never leak: the API token (from POS_SYNC_API_TOKEN, from Sync.ApiTokenFile, written
// inline in the config file), a secret header and a Kafka SASL password are set; pos-sync runs
// against a central that refuses the credentials (401) and echoes our headers back, one that
// refuses content (400) and echoes them, one that is down, one that accepts (with Kafka enabled
// and unreachable), plus `config`, `status`, `health`, --verbose and --json. Every stdout, every
// stderr, the state file, the metrics file, every text column of every table and the raw bytes
// of the database files are searched for each secret.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { runCli, type CliResult } from './helpers/cli.js';
import { buildFixtureDb } from './helpers/db.js';
import { tmpDirs } from './helpers/tmp.js';
import { closedPort } from './helpers/central.js';

const tmp = tmpDirs('secrets');

const SECRETS = {
  envToken: 'env-token-5f0c1d2e3a4b',
  fileToken: 'file-token-9a8b7c6d5e4f',
  inlineToken: 'inline-token-1234abcd5678',
  apiKey: 'header-key-0a1b2c3d4e5f',
  kafkaPassword: 'kafka-sasl-pw-feedbeef42',
} as const;

/** The forms a secret may take on its way out: raw, in a header, JSON-escaped is the same here. */
function forms(secret: string): string[] {
  return [secret, `Bearer ${secret}`, Buffer.from(secret).toString('base64')];
}

interface Central {
  readonly url: string;
  /** Authorization headers received, to prove the token was really sent. */
  readonly authorizations: string[];
  close(): Promise<void>;
}

/** A central that answers `status` and echoes every request header in the body (as some proxies' error pages do). */
async function echoingCentral(status: number): Promise<Central> {
  const authorizations: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.headers.authorization) authorizations.push(req.headers.authorization);
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
      res.end(JSON.stringify({ error: 'nope', youSent: req.headers }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}


let refusing: Central; // 401
let refusingContent: Central; // 400
let accepting: Central; // 200
let downUrl: string;
let kafkaDown: string;

before(async () => {
  refusing = await echoingCentral(401);
  refusingContent = await echoingCentral(400);
  accepting = await echoingCentral(200);
  downUrl = `http://127.0.0.1:${await closedPort()}`;
  kafkaDown = `127.0.0.1:${await closedPort()}`;
});
after(async () => {
  await refusing?.close();
  await refusingContent?.close();
  await accepting?.close();
  tmp.cleanup();
});

type TokenVia = 'environment' | 'token file' | 'inline';

interface Store {
  readonly dir: string;
  readonly db: string;
  readonly config: string;
  readonly state: string;
  readonly prom: string;
  readonly env: Record<string, string>;
  readonly token: string;
}

function store(via: TokenVia): Store {
  const dir = tmp.make('store');
  const db = buildFixtureDb(path.join(dir, 'pos.db'));
  const sync: Record<string, unknown> = {
    MaxRetryAttempts: 0,
    MaxRunSeconds: 4,
    MaxRejections: 1,
    ApiHeaders: { 'X-Api-Key': SECRETS.apiKey },
    MetricsFile: 'pos_sync.prom',
    StateFile: 'pos-sync.state.json',
  };
  let token: string;
  const env: Record<string, string> = {};
  if (via === 'environment') {
    token = SECRETS.envToken;
    env['POS_SYNC_API_TOKEN'] = token;
  } else if (via === 'token file') {
    token = SECRETS.fileToken;
    fs.writeFileSync(path.join(dir, 'api-token'), `${token}\n`, { mode: 0o600 });
    sync['ApiTokenFile'] = 'api-token';
  } else {
    token = SECRETS.inlineToken;
    sync['ApiToken'] = token;
  }
  const config = path.join(dir, 'appsettings.json');
  const kafka = {
    Enabled: true,
    BootstrapServers: kafkaDown,
    ProducerConfig: { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'pos', 'sasl.password': SECRETS.kafkaPassword, 'request.timeout.ms': '1000', 'socket.connection.setup.timeout.ms': '1000' },
  };
  // Readable by others on purpose for the inline token: the warning must not quote it either.
  fs.writeFileSync(config, JSON.stringify({ Sync: sync, Kafka: kafka }, null, 2), { mode: 0o644 });
  fs.chmodSync(config, 0o644);
  return { dir, db, config, state: path.join(dir, 'pos-sync.state.json'), prom: path.join(dir, 'pos_sync.prom'), env, token };
}

async function pos(s: Store, args: string[], centralUrl: string): Promise<CliResult> {
  return runCli(['--config', s.config, '--db', s.db, '--central-url', centralUrl, ...args], { cwd: s.dir, env: s.env, timeoutMs: 30_000 });
}

/** Every text value of every column of every table, and the raw bytes of the database files. */
function databaseText(db: string): string[] {
  const out: string[] = [];
  const conn = new Sqlite(db, { readonly: true });
  try {
    const tables = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    for (const table of tables) {
      for (const row of conn.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]) {
        for (const [column, value] of Object.entries(row)) {
          if (typeof value === 'string') out.push(`${table}.${column}: ${value}`);
          if (Buffer.isBuffer(value)) out.push(`${table}.${column}: ${value.toString('latin1')}`);
        }
      }
    }
  } finally {
    conn.close();
  }
  for (const file of [db, `${db}-wal`, `${db}-shm`]) if (fs.existsSync(file)) out.push(`${path.basename(file)} bytes: ${fs.readFileSync(file).toString('latin1')}`);
  return out;
}

function assertNoSecret(where: string, text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const form of forms(secret)) assert.ok(!text.includes(form), `${name} (${form}) leaked into ${where}:\n${text.slice(Math.max(0, text.indexOf(form) - 300), text.indexOf(form) + 100)}`);
  }
}

describe('no secret in any output, file or column', () => {
  for (const via of ['environment', 'token file', 'inline'] as const) {
    test(`token from ${via}: 401, 400, down, accepted with Kafka down, config, status, health, --verbose, --json`, async () => {
      const s = store(via);
      const runs: [string, CliResult][] = [];
      const run = async (label: string, args: string[], url: string, expected: number): Promise<void> => {
        const r = await pos(s, args, url);
        assert.equal(r.code, expected, `${label}: ${r.stderr}`);
        runs.push([label, r]);
      };
      await run('sync against a 401 central', ['-v', 'sync'], refusing.url, 77);
      await run('sync --json against a 401 central', ['--json', 'sync'], refusing.url, 77);
      await run('sync against a central that is down', ['-v', 'sync', '--force'], downUrl, 75);
      await run('sync against a 400 central (refusals stored)', ['-v', 'sync', '--force'], refusingContent.url, 65);
      await run('requeue', ['requeue', '--all'], refusingContent.url, 0);
      await run('sync accepted, Kafka down', ['-v', '--json', 'sync', '--force'], accepting.url, 0);
      await run('config', ['-v', 'config'], accepting.url, 0);
      await run('config --json', ['--json', 'config'], accepting.url, 0);
      await run('status', ['-v', 'status'], accepting.url, 0);
      await run('status --json', ['--json', 'status'], accepting.url, 0);
      await run('health', ['-v', 'health'], refusing.url, 2);
      await run('health --json', ['--json', 'health'], downUrl, 2);

      // The token really was sent (so its absence from the output proves scrubbing, not silence).
      assert.ok(refusing.authorizations.includes(`Bearer ${s.token}`), 'the 401 central got our token');
      assert.ok(accepting.authorizations.includes(`Bearer ${s.token}`), 'the accepting central got our token');
      // The refusal bodies that echoed the token were stored somewhere: as LastSyncError / retry log.
      const dbText = databaseText(s.db);
      assert.ok(dbText.some((t) => t.includes('youSent')), 'the echoing 400 body reached the database (scrubbed)');
      assert.ok(dbText.some((t) => t.includes('<redacted>')), 'and was scrubbed there');

      for (const [label, r] of runs) {
        assertNoSecret(`${label}: stdout`, r.stdout);
        assertNoSecret(`${label}: stderr`, r.stderr);
      }
      assert.ok(fs.existsSync(s.state), 'a state file was written');
      assertNoSecret('the state file', fs.readFileSync(s.state, 'utf8'));
      assert.ok(fs.existsSync(s.prom), 'a metrics file was written');
      assertNoSecret('the metrics file', fs.readFileSync(s.prom, 'utf8'));
      for (const text of dbText) assertNoSecret(`the database (${text.slice(0, 60)}…)`, text);
      // Only a token written in a file others can read is warned about.
      const warned = runs.some(([, r]) => /Sync\.ApiToken is written in .* which others can read/.test(r.stderr));
      assert.equal(warned, via === 'inline', `the inline token in a readable file is warned about, and only it (token from ${via})`);
    });
  }
});
