// The configuration as a till installed from the package has it: `pos-sync config --check` (what
// install.sh validates with) and the system-wide file /etc/pos-sync/appsettings.json, found after
// every place searched before it. The installed product itself is exercised in
// test/systemd-live.test.ts (a plain `pos-sync status` there reads /etc/pos-sync/appsettings.json).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { runCli } from './helpers/cli.js';
import { REPO_ROOT, tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('config-installed');
after(tmp.cleanup);

function write(dir: string, name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('pos-sync config --check', () => {
  test('a valid configuration: exit 0 and one line naming the file', async () => {
    const dir = tmp.make();
    const file = write(dir, 'appsettings.json', JSON.stringify({ Sync: { StoreId: 'STORE042', BatchSize: 200 } }));
    const r = await runCli(['--config', file, 'config', '--check'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `configuration valid: ${file}\n`);
    assert.equal(r.stderr, '');
  });

  test('an invalid one: exit 78, nothing on stdout, one line on stderr naming the key and the file', async () => {
    const dir = tmp.make();
    const file = write(dir, 'appsettings.json', JSON.stringify({ Sync: { BatchSize: 'lots' } }));
    const r = await runCli(['--config', file, 'config', '--check'], { cwd: dir });
    assert.equal(r.code, 78);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^pos-sync: Sync\.BatchSize = "lots" from config file .*appsettings\.json is invalid/);
  });

  test('a file that is not JSON: exit 78, one line', async () => {
    const dir = tmp.make();
    const file = write(dir, 'appsettings.json', '{ "Sync": ');
    const r = await runCli(['--config', file, 'config', '--check'], { cwd: dir });
    assert.equal(r.code, 78);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^pos-sync: cannot read the config file: /);
  });
});

test('the example configuration the package ships passes config --check', async () => {
  const dir = tmp.make();
  const r = await runCli(['--config', path.join(REPO_ROOT, 'examples', 'systemd', 'appsettings.json'), 'config', '--check'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

describe('the system-wide config file (/etc/pos-sync/appsettings.json)', () => {
  test('found when no --config, POS_SYNC_CONFIG or searched place names one', async () => {
    const etc = tmp.make();
    const system = write(etc, 'appsettings.json', JSON.stringify({ Database: { ConnectionString: 'Data Source=/var/lib/pos/POS_Local.db' }, Sync: { StoreId: 'STORE777' } }));
    const loaded = await loadConfig({ flags: {}, env: {}, cwd: tmp.make(), systemConfigFile: system });
    assert.equal(loaded.file, system);
    assert.equal(loaded.config.storeId, 'STORE777');
    assert.equal(loaded.config.db.path, '/var/lib/pos/POS_Local.db');
  });

  test('after the searched places: a pos-sync.config.json in the working directory wins', async () => {
    const etc = tmp.make();
    const system = write(etc, 'appsettings.json', JSON.stringify({ Sync: { StoreId: 'SYSTEM' } }));
    const cwd = tmp.make();
    const local = write(cwd, 'pos-sync.config.json', JSON.stringify({ Sync: { StoreId: 'LOCAL' } }));
    const loaded = await loadConfig({ flags: {}, env: {}, cwd, systemConfigFile: system });
    assert.equal(loaded.file, local);
    assert.equal(loaded.config.storeId, 'LOCAL');
  });

  test('--config and POS_SYNC_CONFIG win over it', async () => {
    const etc = tmp.make();
    const system = write(etc, 'appsettings.json', JSON.stringify({ Sync: { StoreId: 'SYSTEM' } }));
    const dir = tmp.make();
    const named = write(dir, 'till2.json', JSON.stringify({ Sync: { StoreId: 'NAMED' } }));
    assert.equal((await loadConfig({ flags: { config: named }, env: {}, cwd: dir, systemConfigFile: system })).config.storeId, 'NAMED');
    assert.equal((await loadConfig({ flags: {}, env: { POS_SYNC_CONFIG: named }, cwd: dir, systemConfigFile: system })).config.storeId, 'NAMED');
  });

  test('absent: defaults, as before', async () => {
    const loaded = await loadConfig({ flags: {}, env: {}, cwd: tmp.make(), systemConfigFile: path.join(tmp.make(), 'none', 'appsettings.json') });
    assert.equal(loaded.file, null);
  });
});

test('a till\'s installed token: /etc/pos-sync/NAME.json has /etc/pos-sync/NAME.api-token, the shared config the shared token', async () => {
  const { installedTokenFile } = await import('../src/config/load.js');
  assert.equal(installedTokenFile('/etc/pos-sync/appsettings.json'), '/etc/pos-sync/api-token');
  assert.equal(installedTokenFile('/etc/pos-sync/till2.json'), '/etc/pos-sync/till2.api-token');
  assert.equal(installedTokenFile('/home/tech/till2.json'), '/etc/pos-sync/api-token');
  assert.equal(installedTokenFile(null), '/etc/pos-sync/api-token');
});
