// Part of `npm run build`, not of the CLI: fills Node's compile cache of the bundled CLI
// (dist/src/cli/compile-cache, which bin/pos-sync enables) by running ticks in a temporary folder,
// so the functions a timer tick runs are compiled once at build time instead of on every start
// (README → Performance). Node keys each entry by the file's content and its own version: a
// rebuilt bundle or another Node never meets an old entry.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(here, '..', '..', '..', 'bin', 'pos-sync');
const cache = join(here, 'compile-cache');
const dir = mkdtempSync(join(tmpdir(), 'pos-sync-warm-up-'));
try {
  // Entries of earlier bundles would only take room: the cache is made afresh for this one.
  rmSync(cache, { recursive: true, force: true });
  // The private cache format of earlier builds (pos-sync.cjs.cache) goes too.
  for (const name of readdirSync(here).filter((n) => /^pos-sync\.cjs\.(?:[0-9a-f]{16}\.)?cache$/.test(n))) rmSync(join(here, name), { force: true });
  // Nothing is pending in a new database, so nothing is sent: the central URL is never used.
  // sync creates no database unless asked (pos-sync(1) COMMANDS): the first tick is asked and sets it up; the
  // second is a timer's idle tick on a set-up database, and its compiled functions are the cache.
  const tick = (env: Record<string, string>): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [bin, '--db', join(dir, 'warm-up.db'), '--central-url', 'http://127.0.0.1:9', 'sync'], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const first = tick({ Sync__AutoCreateDatabase: 'true' });
  const run = first.status === 0 ? tick({}) : first;
  if (run.status !== 0 || !existsSync(cache)) {
    process.stderr.write(`warm-up: no code cache written (exit ${run.status}): ${run.stderr}${run.stdout}\n`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
