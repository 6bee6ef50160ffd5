// Part of `npm run build`, not of the CLI: writes the V8 code cache of the bundled CLI
// (dist/src/cli/pos-sync.cjs.cache) by running an idle tick — config, state, SQLite, the
// pending-row queries — in a temporary folder, so the functions a timer tick runs are compiled
// once at build time instead of on every start (SPEC §10; bin/pos-sync loads the cache).
// The cache file holds the bundle's own bytes and bin/pos-sync uses it only for those exact
// bytes, so a rebuilt bundle never meets an old cache; V8 itself ignores one made by another Node.js.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(here, '..', '..', '..', 'bin', 'pos-sync');
// Earlier builds named the cache by a content hash (pos-sync.cjs.<hex>.cache): those go too.
const isCache = (name: string): boolean => /^pos-sync\.cjs\.(?:[0-9a-f]{16}\.)?cache$/.test(name);
const dir = mkdtempSync(join(tmpdir(), 'pos-sync-warm-up-'));
try {
  for (const name of readdirSync(here).filter(isCache)) rmSync(join(here, name), { force: true });
  // Nothing is pending in a new database, so nothing is sent: the central URL is never used.
  // sync creates no database unless asked (SPEC §2): the first tick is asked and sets it up; the
  // second is a timer's idle tick on a set-up database, and its compiled functions are the cache.
  const tick = (env: Record<string, string>): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [bin, '--db', join(dir, 'warm-up.db'), '--central-url', 'http://127.0.0.1:9', 'sync'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const first = tick({ Sync__AutoCreateDatabase: 'true' });
  const run = first.status === 0 ? tick({ POS_SYNC_WRITE_CODE_CACHE: '1' }) : first;
  if (run.status !== 0 || !readdirSync(here).some(isCache)) {
    process.stderr.write(`warm-up: no code cache written (exit ${run.status}): ${run.stderr}${run.stdout}\n`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
