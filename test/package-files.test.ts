// The Debian package is the product: one version everywhere (package.json's), and the files the
// package ships come from the build (examples/debian/runtime-files.ts), so what the commands load
// at run time is in it. The package itself is built, installed and every command run from it in
// test/systemd-live.test.ts.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { VERSION } from '../src/version.js';
import { runtimeFiles, startedByPath } from '../examples/debian/runtime-files.js';
import { cleanEnv, runCli } from './helpers/cli.js';
import { REPO_ROOT, makeTmpDir, removeDir } from './helpers/tmp.js';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

test('one version: package.json\'s, in src/version.ts, in pos-sync --version and in the man page', async () => {
  assert.equal(VERSION, pkg.version);
  const dir = makeTmpDir('version');
  try {
    const r = await runCli(['--version'], { cwd: dir, env: cleanEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  } finally {
    removeDir(dir);
  }
  const th = fs.readFileSync(path.join(REPO_ROOT, 'man', 'pos-sync.1'), 'utf8').split('\n').find((l) => l.startsWith('.TH '));
  assert.match(th ?? '', new RegExp(`"pos-sync ${pkg.version.replaceAll('.', '\\.')}"`));
});

test('the files a package ships come from the build: the bundle and health\'s database worker with what it imports', async () => {
  const { files, modules } = await runtimeFiles();
  for (const f of ['dist/src/cli/pos-sync.cjs', 'dist/src/cli/idle.cjs', 'dist/src/store/inspect.js', 'dist/src/store/history.js', 'dist/src/store/migrations.js', 'dist/src/domain/rows.js']) {
    assert.ok(files.includes(f), `${f} is listed: ${files.join(' ')}`);
  }
  for (const f of files) assert.ok(fs.existsSync(path.join(REPO_ROOT, f)), f);
  for (const m of ['better-sqlite3', 'kafkajs', 'cosmiconfig']) assert.ok(modules.includes(m), `${m}: ${modules.join(' ')}`);
  assert.ok(!modules.includes('typescript'));
});

test('a worker the bundle starts by path is found in the bundle\'s text', () => {
  const text = 'x;const w=new Worker(new URL("../store/inspect.js",__bundle_url),{});new URL("../other/thing.js", __bundle_url);new URL(t.url);';
  assert.deepEqual(
    startedByPath(text).map((f) => path.relative(REPO_ROOT, f)),
    ['dist/src/other/thing.js', 'dist/src/store/inspect.js'],
  );
});
