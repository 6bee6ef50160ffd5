// The stat-only look at cosmiconfig's search places that lets a run without a config file skip loading cosmiconfig (pos-sync-internals(7) PERFORMANCE):
// its places must stay those of the installed cosmiconfig, and it may only ever say "nothing"
// when cosmiconfig's search would find nothing.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { GLOBAL_PLACES, META_PLACES, globalConfigDir, mightFindConfig, searchedDirs } from '../src/config/search-places.js';
import { fileURLToPath } from 'node:url';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('config-search-places');
after(tmp.cleanup);

// cosmiconfig's internals, reached the way cosmiconfig itself reaches them.
const fromCosmiconfig = createRequire(createRequire(import.meta.url).resolve('cosmiconfig'));
const cosmiDefaults = fromCosmiconfig('./defaults') as { metaSearchPlaces: string[]; globalConfigSearchPlaces: string[] };
const envPaths = fromCosmiconfig('env-paths') as (name: string, options: { suffix: string }) => { config: string };

const PLACES = ['package.json', '.pos-syncrc', '.pos-syncrc.json', '.pos-syncrc.yaml', 'pos-sync.config.yml', 'pos-sync.config.mjs'];

/** Runs `fn` with XDG_CONFIG_HOME pointing at an empty folder, so the developer's own ~/.config plays no part. */
function withConfigHome<T>(fn: (configHome: string) => T): T {
  const saved = process.env['XDG_CONFIG_HOME'];
  const configHome = tmp.make('xdg');
  process.env['XDG_CONFIG_HOME'] = configHome;
  try {
    return fn(configHome);
  } finally {
    if (saved === undefined) delete process.env['XDG_CONFIG_HOME'];
    else process.env['XDG_CONFIG_HOME'] = saved;
  }
}

function tree(): { top: string; start: string } {
  const top = tmp.make('tree');
  const start = path.join(top, 'a', 'b');
  fs.mkdirSync(start, { recursive: true });
  return { top, start };
}

describe('the search places mirror cosmiconfig', () => {
  test('the meta-config and global places are those of the installed cosmiconfig', () => {
    assert.deepEqual([...META_PLACES], cosmiDefaults.metaSearchPlaces);
    assert.deepEqual([...GLOBAL_PLACES], cosmiDefaults.globalConfigSearchPlaces);
  });

  test('the global config folder is env-paths(name, { suffix: "" }).config, as cosmiconfig computes it', () => {
    assert.equal(globalConfigDir('pos-sync'), envPaths('pos-sync', { suffix: '' }).config);
    assert.equal(globalConfigDir('pos-sync', { XDG_CONFIG_HOME: '/x/cfg' }, '/home/till', 'linux'), '/x/cfg/pos-sync');
    assert.equal(globalConfigDir('pos-sync', {}, '/home/till', 'linux'), '/home/till/.config/pos-sync');
    assert.equal(globalConfigDir('pos-sync', {}, '/Users/till', 'darwin'), '/Users/till/Library/Preferences/pos-sync');
  });

  test('the folders searched run from the start up to home, or up to the root outside home', () => {
    assert.deepEqual(searchedDirs('/home/till/store/a', '/home/till'), ['/home/till/store/a', '/home/till/store', '/home/till']);
    assert.deepEqual(searchedDirs('/srv/pos', '/home/till'), ['/srv/pos', '/srv', '/']);
    assert.deepEqual(searchedDirs('/home/till', '/home/till'), ['/home/till']);
  });
});

describe('mightFindConfig', () => {
  test('nothing anywhere: false, and cosmiconfig is not needed', () => {
    withConfigHome(() => {
      const { start } = tree();
      assert.equal(mightFindConfig('pos-sync', PLACES, start), false);
    });
  });

  for (const place of PLACES.filter((p) => p !== 'package.json')) {
    test(`${place} in a parent folder: true`, () => {
      withConfigHome(() => {
        const { top, start } = tree();
        fs.writeFileSync(path.join(top, 'a', place), 'Sync:\n  StoreId: X\n');
        assert.equal(mightFindConfig('pos-sync', PLACES, start), true);
      });
    });
  }

  test('package.json: only with a "pos-sync" key, or when it cannot be read as JSON', () => {
    withConfigHome(() => {
      const { start } = tree();
      const pkg = path.join(start, 'package.json');
      fs.writeFileSync(pkg, JSON.stringify({ name: 'till' }));
      assert.equal(mightFindConfig('pos-sync', PLACES, start), false);
      fs.writeFileSync(pkg, JSON.stringify({ name: 'till', 'pos-sync': { Sync: { StoreId: 'PKG' } } }));
      assert.equal(mightFindConfig('pos-sync', PLACES, start), true);
      fs.writeFileSync(pkg, '{ "name": ');
      assert.equal(mightFindConfig('pos-sync', PLACES, start), true);
    });
  });

  test('a file in the global config folder: true', () => {
    withConfigHome((configHome) => {
      const { start } = tree();
      fs.mkdirSync(path.join(configHome, 'pos-sync'));
      fs.writeFileSync(path.join(configHome, 'pos-sync', 'config.yaml'), 'Sync:\n  StoreId: G\n');
      assert.equal(mightFindConfig('pos-sync', PLACES, start), true);
    });
  });

  test('.config/config.json in the working directory (cosmiconfig meta configuration): true', () => {
    withConfigHome(() => {
      const { top, start } = tree();
      fs.mkdirSync(path.join(top, '.config'));
      fs.writeFileSync(path.join(top, '.config', 'config.json'), '{}');
      const cwd = process.cwd();
      process.chdir(top);
      try {
        assert.equal(mightFindConfig('pos-sync', PLACES, start), true);
      } finally {
        process.chdir(cwd);
      }
      // Elsewhere, the same .config folder is nothing cosmiconfig looks at.
      assert.equal(mightFindConfig('pos-sync', PLACES, start), false);
    });
  });

  test('a config file in a folder that can be searched but not listed: true', () => {
    // cosmiconfig finds a file by name in a folder it may not list (mode 711): so must mightFindConfig.
    // root may list anything, so as root the check runs in a child as nobody.
    const { top, start } = tree();
    fs.writeFileSync(path.join(top, 'a', 'pos-sync.config.yml'), 'Sync:\n  StoreId: X\n');
    fs.chmodSync(path.join(top, 'a', 'pos-sync.config.yml'), 0o644);
    for (let dir = start; dir !== path.dirname(top); dir = path.dirname(dir)) fs.chmodSync(dir, 0o711);
    const searchPlaces = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'config', 'search-places.js');
    const script = `import('${searchPlaces}').then((m) => process.stdout.write(String(m.mightFindConfig('pos-sync', ${JSON.stringify(PLACES)}, ${JSON.stringify(start)}))))`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const configHome = tmp.make('xdg');
    fs.chmodSync(configHome, 0o755);
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: os.tmpdir(), env: { PATH: process.env['PATH'] ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome }, ...asNobody });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'true');
    // The same folder listable again, without the file: false (the child saw the file, not noise).
    fs.rmSync(path.join(top, 'a', 'pos-sync.config.yml'));
    const again = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: os.tmpdir(), env: { PATH: process.env['PATH'] ?? '', HOME: configHome, XDG_CONFIG_HOME: configHome }, ...asNobody });
    assert.equal(again.stdout, 'false');
  });
});
