// bin/pos-sync has one way to start: the bundle `npm run build` makes, with Node's own compile
// cache beside it. Checked on a copy of bin/ beside a tiny stand-in bundle.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO_ROOT, tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('bin-start');
after(tmp.cleanup);

/** A copy of bin/ with dist/src/cli/ beside it, holding `bundle` (if any) as pos-sync.cjs. */
function install(bundle: string | null): { bin: string; cli: string } {
  const root = tmp.make();
  fs.cpSync(path.join(REPO_ROOT, 'bin'), path.join(root, 'bin'), { recursive: true });
  const cli = path.join(root, 'dist', 'src', 'cli');
  fs.mkdirSync(cli, { recursive: true });
  if (bundle !== null) fs.writeFileSync(path.join(cli, 'pos-sync.cjs'), bundle);
  return { bin: path.join(root, 'bin', 'pos-sync'), cli };
}

/** A stand-in bundle whose main() prints `word` and exits with `code`. */
const standIn = (word: string, code: number): string =>
  `exports.main = async (io) => { io.stdout.write(${JSON.stringify(`${word}\n`)}); return ${code}; };\nexports.processStdio = () => ({ stdout: process.stdout, stderr: process.stderr });\n`;

function run(bin: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, 'status'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/pos-sync starts the bundle, and only the bundle', () => {
  test('runs the bundle and returns its exit code', () => {
    const { bin } = install(standIn('alpha', 3));
    assert.deepEqual(run(bin), { status: 3, stdout: 'alpha\n', stderr: '' });
  });

  test("Node's compile cache beside the bundle is written on a first run and used on the next", () => {
    const { bin, cli } = install(standIn('alpha', 0));
    assert.equal(run(bin).stdout, 'alpha\n');
    const cache = path.join(cli, 'compile-cache');
    assert.ok(fs.readdirSync(cache).length > 0, 'a cache folder of this Node');
    const r = spawnSync(process.execPath, [bin, 'status'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' } });
    assert.match(r.stderr, /cache for (?:CommonJS )?\S*pos-sync\.cjs was accepted/); // Node 24 and 22 word it differently
  });

  test('a rebuilt bundle of the same length never meets the old entry: the new code runs', () => {
    const { bin, cli } = install(standIn('alpha', 0));
    run(bin);
    fs.writeFileSync(path.join(cli, 'pos-sync.cjs'), standIn('omega', 0));
    assert.deepEqual(run(bin), { status: 0, stdout: 'omega\n', stderr: '' });
  });

  test('a cache folder that cannot be written (a read-only package) costs nothing: the bundle runs', () => {
    const { bin, cli } = install(standIn('alpha', 4));
    fs.writeFileSync(path.join(cli, 'compile-cache'), 'not a folder');
    assert.deepEqual(run(bin), { status: 4, stdout: 'alpha\n', stderr: '' });
  });

  test('no bundle is an error naming the fix, not a silent second path', () => {
    const { bin } = install(null);
    const r = run(bin);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^pos-sync: internal error: pos-sync is not built \(.*pos-sync\.cjs is missing\): run npm run build\n$/);
  });

  test('under journald (JOURNAL_STREAM names stderr) the internal error line has priority err', () => {
    const { bin } = install(null);
    const file = path.join(path.dirname(path.dirname(bin)), 'stderr.log');
    const fd = fs.openSync(file, 'w');
    const st = fs.fstatSync(fd, { bigint: true });
    const r = spawnSync(process.execPath, [bin, 'status'], { stdio: ['ignore', 'pipe', fd], env: { PATH: process.env['PATH'] ?? '', JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    fs.closeSync(fd);
    assert.equal(r.status, 1);
    assert.match(fs.readFileSync(file, 'utf8'), /^<3>pos-sync: internal error: pos-sync is not built/);
  });

  test('a bundle that throws while loading is an error, not a fallback', () => {
    const { bin } = install('throw new Error("broken bundle");\n');
    const r = run(bin);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'pos-sync: internal error: broken bundle\n');
  });
});

describe('bin/pos-sync on a Node.js too old for it', () => {
  // Debian 12's own Node is 20: exactly what a till may run pos-sync with by mistake.
  const old = spawnSync('/usr/bin/node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const oldMajor = old.status === 0 ? Number(old.stdout.split('.')[0]) : NaN;
  const reason = Number.isNaN(oldMajor) ? 'no /usr/bin/node on this machine' : oldMajor >= 22 ? `/usr/bin/node is ${old.stdout.trim()}, not older than 22` : false;

  test('says which Node it needs in one line and exits 78, instead of crashing in the SQLite module', { skip: reason }, () => {
    const r = spawnSync('/usr/bin/node', [path.join(REPO_ROOT, 'bin', 'pos-sync'), 'status'], { encoding: 'utf8' });
    assert.equal(r.status, 78);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^pos-sync: needs Node\.js 22\.21\+ or 24\.5\+, this is v\d+\.\d+\.\d+ \(\/usr\/bin\/node\) — install the pos-sync Debian package, which brings its own Node, or run it with Node 22 or 24\n$/);
  });
});
