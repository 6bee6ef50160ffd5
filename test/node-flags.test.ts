// Node's flags are given where Node takes them, never set at run time: bin/pos-sync's first line
// and the Debian package's /usr/bin/pos-sync start Node with the same ones, and the executable
// starts through its shebang.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helpers/tmp.js';

const BIN = path.join(REPO_ROOT, 'bin', 'pos-sync');

test("bin/pos-sync's shebang and the Debian wrapper give Node the same flags", () => {
  const shebang = fs.readFileSync(BIN, 'utf8').split('\n')[0]!;
  const flags = /^#!\/usr\/bin\/env -S node((?: --[\w-]+=\S+)*)$/.exec(shebang)?.[1]?.trim();
  assert.equal(flags, '--max-semi-space-size=4', shebang);
  const deb = fs.readFileSync(path.join(REPO_ROOT, 'examples', 'debian', 'build-deb.sh'), 'utf8');
  assert.ok(deb.includes(`exec /usr/lib/pos-sync/node ${flags} /usr/lib/pos-sync/bin/pos-sync`), 'build-deb.sh starts the packaged node with the same flags');
  assert.doesNotMatch(fs.readFileSync(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'pos-sync.cjs'), 'utf8'), /setFlagsFromString/);
});

test('run as an executable (the shebang, env -S), pos-sync starts with those flags', () => {
  const r = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
});
