// Secrets in URLs (man page, The API token): the user info and every query value of an endpoint
// (an Azure Functions key in ?code=…, a signed URL) never appear in errors, the state file,
// `config`, `health` or log lines. The pure parts as tables; then the real bin/pos-sync against
// a real central on 127.0.0.1 that is down, so every path that names the URL runs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { redactUrls, scrub, urlSecrets } from '../src/domain/redact.js';
import { runCli } from './helpers/cli.js';
import { buildFixtureDb } from './helpers/db.js';
import { closedPort } from './helpers/central.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('url-secrets');
after(tmp.cleanup);

describe('urlSecrets and redactUrls', () => {
  const rows: { url: string; shown: string; scrubbed: string }[] = [
    { url: 'https://central.example/api/events?code=K3y-Secr3t%3D%3D', shown: 'https://central.example/api/events?code=<redacted>', scrubbed: 'https://central.example/api/events?<redacted>' },
    { url: 'https://u:pa55word@central.example/x', shown: 'https://u:<redacted>@central.example/x', scrubbed: 'https://<redacted>@central.example/x' },
    { url: 'https://central.example/x?a=1&sig=abcdef0123&empty=', shown: 'https://central.example/x?a=<redacted>&sig=<redacted>&empty=', scrubbed: 'https://central.example/x?<redacted>' },
    { url: 'https://central.example/x', shown: 'https://central.example/x', scrubbed: 'https://central.example/x' },
  ];
  for (const r of rows) {
    test(r.url, () => {
      assert.equal(redactUrls(`cannot reach ${r.url}: ECONNREFUSED`), `cannot reach ${r.shown}: ECONNREFUSED`);
      assert.equal(scrub(`cannot reach ${r.url}: ECONNREFUSED`, urlSecrets(r.url)), `cannot reach ${r.scrubbed}: ECONNREFUSED`);
    });
  }
  test('a decoded value is a secret too, and text that is not a URL has none', () => {
    assert.ok(urlSecrets('https://h/x?code=K3y-Secr3t%3D%3D').includes('K3y-Secr3t=='));
    assert.deepEqual(urlSecrets('not a url'), []);
  });
});

test('a function key in the endpoint: never in errors, the state file, config, health or logs', async () => {
  const dir = tmp.make();
  const db = buildFixtureDb(path.join(dir, 'POS_Local.db'));
  const key = 'FuNcTiOnKeY-0123456789';
  const url = `http://127.0.0.1:${await closedPort()}/api/inventory/events?code=${key}`;
  const args = ['--db', db, '--central-url', url];
  const outputs: string[] = [];
  for (const command of [['sync', '--max-run-seconds', '3'], ['-v', 'sync', '--force', '--max-run-seconds', '3'], ['config'], ['--json', 'config'], ['health'], ['--json', 'health'], ['status'], ['--json', 'status']]) {
    const r = await runCli([...args, ...command], { cwd: dir });
    outputs.push(r.stdout, r.stderr);
  }
  assert.ok(outputs.some((o) => o.includes('?<redacted>') || o.includes('code=<redacted>')), 'the URL is shown, redacted');
  for (const o of outputs) assert.ok(!o.includes(key), o);
  const state = fs.readFileSync(`${db}.pos-sync.state.json`, 'utf8');
  assert.match(state, /cannot reach/);
  assert.ok(!state.includes(key), state);
});
