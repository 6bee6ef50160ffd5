// `pos-sync config`: every value with its source, secrets redacted, human and --json; the token's
// order of preference; the warning for an inline token in a file others can read; bad input.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { lines, runCli } from './helpers/cli.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('config-cmd');
after(tmp.cleanup);

interface Row {
  key: string;
  value: unknown;
  source: { kind: string; name: string };
  ignored?: true;
}

function writeJson(dir: string, name: string, content: object, mode = 0o600): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(content, null, 2), { mode });
  fs.chmodSync(file, mode); // the umask must not decide what the test checks
  return file;
}

async function configJson(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ rows: Map<string, Row>; stderr: string; stdout: string }> {
  const r = await runCli([...args, '--json', 'config'], { cwd, env });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { command: string; exitCode: number; settings: Row[] };
  assert.equal(doc.command, 'config');
  return { rows: new Map(doc.settings.map((s) => [s.key, s])), stderr: r.stderr, stdout: r.stdout };
}

describe('pos-sync config', () => {
  test('names the source of every value: default, file, environment, flag, derived', async () => {
    const dir = tmp.make();
    const file = writeJson(dir, 'appsettings.json', { Sync: { BatchSize: 200, MaxRunSeconds: 5 }, Logging: { LogLevel: { Default: 'Information' } } });
    const { rows } = await configJson(dir, ['--config', file, '--store-id', 'STORE042'], { Sync__MaxRunSeconds: '7' });
    assert.deepEqual(rows.get('Sync.BatchSize'), { key: 'Sync.BatchSize', value: 200, source: { kind: 'file', name: file }, doc: 'Rows per request.' });
    assert.deepEqual(rows.get('Sync.MaxRunSeconds')?.source, { kind: 'environment', name: 'Sync__MaxRunSeconds' });
    assert.equal(rows.get('Sync.MaxRunSeconds')?.value, 7);
    assert.deepEqual(rows.get('Sync.StoreId')?.source, { kind: 'flag', name: '--store-id' });
    assert.equal(rows.get('Sync.StoreId')?.value, 'STORE042');
    assert.deepEqual(rows.get('Sync.MaxRejections')?.source, { kind: 'default', name: 'default' });
    assert.equal(rows.get('Sync.StateFile')?.source.kind, 'derived');
    assert.equal(rows.get('Sync.StateFile')?.value, path.join(dir, 'data', 'POS_Local.db.pos-sync.state.json'));
    assert.equal(rows.get('Database.Path')?.value, path.join(dir, 'data', 'POS_Local.db'));
    assert.equal(rows.get('Sync.CleanupIntervalHours')?.ignored, true);
  });

  test('the human table is aligned: one row per setting, columns at the same offsets', async () => {
    const dir = tmp.make();
    const r = await runCli(['--db', path.join(dir, 'pos.db'), 'config'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.match(out[0]!, /^config file: none found/);
    const header = out[1]!;
    const valueAt = header.indexOf('VALUE');
    const sourceAt = header.indexOf('SOURCE');
    assert.ok(valueAt > 0 && sourceAt > valueAt, header);
    const db = out.find((l) => l.startsWith('Database.Path'));
    assert.ok(db, r.stdout);
    assert.equal(db.slice(valueAt, sourceAt).trim(), path.join(dir, 'pos.db'));
    assert.equal(db.slice(sourceAt), 'flag --db');
    for (const l of out.slice(2)) assert.equal(l[valueAt - 1], ' ', `aligned: ${l}`);
  });

  test('secrets are redacted: token, secret headers, Kafka passwords; everything else shown', async () => {
    const dir = tmp.make();
    const file = writeJson(dir, 'appsettings.json', {
      Sync: { ApiToken: 'inline-token-7c1e', ApiHeaders: { 'X-Api-Key': 'header-key-55aa', 'X-Team': 'tills' } },
      Kafka: { ProducerConfig: { 'sasl.password': 'kafka-pass-9d2f', 'ssl.key.password': 'key-pass-0b0b', 'client.id': 'pos-sync-1' } },
    });
    const { rows, stdout, stderr } = await configJson(dir, ['--config', file]);
    for (const secret of ['inline-token-7c1e', 'header-key-55aa', 'kafka-pass-9d2f', 'key-pass-0b0b']) {
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret), `${secret} leaked`);
    }
    assert.equal(rows.get('Sync.ApiToken')?.value, '<redacted>');
    assert.deepEqual(rows.get('Sync.ApiHeaders')?.value, { 'X-Api-Key': '<redacted>', 'X-Team': 'tills' });
    assert.deepEqual(rows.get('Kafka.ProducerConfig')?.value, { 'sasl.password': '<redacted>', 'ssl.key.password': '<redacted>', 'client.id': 'pos-sync-1' });
    const human = await runCli(['--config', file, 'config'], { cwd: dir });
    assert.equal(human.code, 0);
    for (const secret of ['inline-token-7c1e', 'header-key-55aa', 'kafka-pass-9d2f']) assert.ok(!human.stdout.includes(secret), `${secret} leaked`);
  });

  test('token order: ApiTokenFile > $CREDENTIALS_DIRECTORY/api-token > POS_SYNC_API_TOKEN > inline Sync.ApiToken', async () => {
    const dir = tmp.make();
    const tokenFile = path.join(dir, 'token.txt');
    fs.writeFileSync(tokenFile, 'from-token-file\n', { mode: 0o600 });
    const creds = path.join(dir, 'creds');
    fs.mkdirSync(creds);
    fs.writeFileSync(path.join(creds, 'api-token'), 'from-credential\n', { mode: 0o600 });
    const inline = writeJson(dir, 'inline.json', { Sync: { ApiToken: 'from-inline' } });
    const withFile = writeJson(dir, 'with-file.json', { Sync: { ApiToken: 'from-inline', ApiTokenFile: 'token.txt' } });
    const cases: { config: string; env: Record<string, string>; source: { kind: string; name: string } }[] = [
      { config: withFile, env: { CREDENTIALS_DIRECTORY: creds, POS_SYNC_API_TOKEN: 'from-env' }, source: { kind: 'file', name: tokenFile } },
      { config: inline, env: { CREDENTIALS_DIRECTORY: creds, POS_SYNC_API_TOKEN: 'from-env' }, source: { kind: 'file', name: path.join(creds, 'api-token') } },
      { config: inline, env: { POS_SYNC_API_TOKEN: 'from-env' }, source: { kind: 'environment', name: 'POS_SYNC_API_TOKEN' } },
      { config: inline, env: {}, source: { kind: 'file', name: inline } },
    ];
    for (const c of cases) {
      const { rows, stdout } = await configJson(dir, ['--config', c.config], c.env);
      assert.deepEqual(rows.get('Sync.ApiToken')?.source, c.source, JSON.stringify(c.env));
      assert.equal(rows.get('Sync.ApiToken')?.value, '<redacted>');
      assert.ok(!/from-(token-file|credential|env|inline)/.test(stdout), stdout);
    }
    const none = await configJson(dir, ['--db', path.join(dir, 'x.db')]);
    assert.equal(none.rows.get('Sync.ApiToken')?.value, null);
  });

  test('an inline token in a config file others can read gets one warning; a private file none', async () => {
    const dir = tmp.make();
    const open = writeJson(dir, 'open.json', { Sync: { ApiToken: 'readable-token-1' } }, 0o644);
    const r = await runCli(['--config', open, 'config'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const warnings = lines(r.stderr).map((l) => JSON.parse(l) as { level: string; message: string; command: string });
    assert.equal(warnings.length, 1, r.stderr);
    assert.equal(warnings[0]!.level, 'warn');
    assert.equal(warnings[0]!.command, 'config');
    assert.match(warnings[0]!.message, /Sync\.ApiToken is written in .*open\.json, which others can read/);
    assert.ok(!r.stderr.includes('readable-token-1'));

    const closed = writeJson(dir, 'closed.json', { Sync: { ApiToken: 'private-token-1' } }, 0o600);
    const quiet = await runCli(['--config', closed, 'config'], { cwd: dir });
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stderr, '');
  });

  test("the seed's acks=1 is a note of config, never a log line of sync; an unknown producer key is exit 78", async () => {
    const dir = tmp.make();
    const seedLike = writeJson(dir, 'appsettings.json', { Kafka: { Enabled: true, ProducerConfig: { 'client.id': 'pos-sync-service', acks: '1', retries: '3' } } });
    const shown = await runCli(['--config', seedLike, '--json', 'config'], { cwd: dir });
    assert.equal(shown.code, 0, shown.stderr);
    const notes = (JSON.parse(shown.stdout) as { notes: string[] }).notes;
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /acks=1 is raised to all/);
    assert.equal(shown.stderr, '');
    const human = await runCli(['--config', seedLike, 'config'], { cwd: dir });
    assert.match(human.stdout, /^note: Kafka\.ProducerConfig\.acks=1 is raised to all/m);
    const wrong = writeJson(dir, 'wrong.json', { Kafka: { ProducerConfig: { 'client.idd': 'x' } } });
    const refused = await runCli(['--config', wrong, 'config'], { cwd: dir });
    assert.equal(refused.code, 78);
    assert.equal(lines(refused.stderr).length, 1, refused.stderr);
    assert.match(refused.stderr, /client\.idd.*client\.id/);
  });

  test('bad input: every invalid value marked in the table, one closing line, exit 78; an unknown option is exit 64', async () => {
    const dir = tmp.make();
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { MaxRejections: 0, ApiToken: 'file-token-wxyz' }, Kafka: { Enabled: 'maybe' } }));
    const r = await runCli(['--config', 'appsettings.json', 'config'], { cwd: dir, env: { Sync__BatchSize: 'lots', POS_SYNC_API_TOKEN: 'env-token-abcd' } });
    assert.equal(r.code, 78);
    assert.deepEqual(lines(r.stderr), ['pos-sync: Sync.BatchSize = "lots" from environment Sync__BatchSize is invalid: expected an integer from 1 to 10000 (and 2 more) — pos-sync config marks every invalid value']);
    const out = lines(r.stdout);
    assert.equal(out[0], '3 invalid values, marked ✗:');
    const marked = out.filter((l) => l.startsWith('✗'));
    assert.deepEqual(marked.map((l) => l.split(/\s+/)[1]), ['Sync.BatchSize', 'Sync.MaxRejections', 'Kafka.Enabled']);
    assert.match(marked[1]!, /^✗ Sync\.MaxRejections +0 +file .*appsettings\.json — expected an integer from 1 to 1000$/);
    assert.match(out.find((l) => l.includes('Sync.StoreId'))!, /^ {2}Sync\.StoreId +STORE001 +default$/);
    assert.ok(!r.stdout.includes('file-token-wxyz') && !r.stderr.includes('env-token-abcd'), 'secrets stay out');
    const bad = await runCli(['config', '--bogus'], { cwd: dir });
    assert.equal(bad.code, 64);
    assert.equal(lines(bad.stderr).length, 1, bad.stderr);
  });
});
