// bin/pos-sync has one way to start: the bundle `npm run build` makes, with a V8 code cache that
// is used only for the exact bytes it was made from. Checked on a copy of bin/ beside a tiny
// stand-in bundle, so the case V8 gets wrong (a same-length edit) can be made on purpose.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import vm from 'node:vm';
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

  test('a code cache made for other bytes of the same length is never used', () => {
    const { bin, cli } = install(standIn('alpha', 0));
    assert.equal(run(bin, { POS_SYNC_WRITE_CODE_CACHE: '1' }).stdout, 'alpha\n');
    const caches = fs.readdirSync(cli).filter((n) => n.endsWith('.cache'));
    assert.deepEqual(caches, ['pos-sync.cjs.cache']);
    const cache = fs.readFileSync(path.join(cli, 'pos-sync.cjs.cache'));
    // Stamped with the very bytes it was made from, then V8's data.
    assert.equal(cache.toString('latin1', 0, 8), 'PSCACHE1');
    assert.equal(cache.subarray(12, 12 + cache.readUInt32LE(8)).toString('utf8'), standIn('alpha', 0));
    // Same length, other code: V8 would accept alpha's cache for it (it checks the length only).
    fs.writeFileSync(path.join(cli, 'pos-sync.cjs'), standIn('omega', 0));
    assert.equal(fs.statSync(path.join(cli, 'pos-sync.cjs')).size, standIn('alpha', 0).length);
    assert.deepEqual(run(bin), { status: 0, stdout: 'omega\n', stderr: '' });
  });

  test('the code cache written is one V8 takes for that bundle', () => {
    const { bin, cli } = install(standIn('alpha', 0));
    run(bin, { POS_SYNC_WRITE_CODE_CACHE: '1' });
    const bundle = fs.readFileSync(path.join(cli, 'pos-sync.cjs'));
    const cache = fs.readFileSync(path.join(cli, 'pos-sync.cjs.cache'));
    // As bin/pos-sync compiles it: the module wrapper around the bundle's text, V8's data after the stamp.
    const script = new vm.Script(Module.wrap(bundle.toString('latin1')), { filename: path.join(cli, 'pos-sync.cjs'), cachedData: cache.subarray(12 + bundle.length) });
    assert.equal(script.cachedDataRejected, false);
  });

  test('a cache file cut short or not a cache at all is passed over: the bundle still runs', () => {
    const { bin, cli } = install(standIn('alpha', 4));
    run(bin, { POS_SYNC_WRITE_CODE_CACHE: '1' });
    const cacheFile = path.join(cli, 'pos-sync.cjs.cache');
    const whole = fs.readFileSync(cacheFile);
    for (const bad of [whole.subarray(0, 20), Buffer.from('not a cache'), Buffer.alloc(0)]) {
      fs.writeFileSync(cacheFile, bad);
      assert.deepEqual(run(bin), { status: 4, stdout: 'alpha\n', stderr: '' });
    }
  });

  test('no bundle is an error naming the fix, not a silent second path', () => {
    const { bin } = install(null);
    const r = run(bin);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^pos-sync: internal error: pos-sync is not built \(.*pos-sync\.cjs: ENOENT\): run npm run build\n$/);
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
    assert.match(r.stderr, /^pos-sync: needs Node\.js 22 or 24, this is v\d+\.\d+\.\d+ \(\/usr\/bin\/node\) — install the pos-sync Debian package, which brings its own Node, or run it with Node 22 or 24\n$/);
  });
});
