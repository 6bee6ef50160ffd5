// Part of `npm run build`, not of the CLI: writes the V8 code cache of the bundled CLI
// (dist/src/cli/pos-sync.cjs.<content hash>.cache) by running one idle tick — config, state, SQLite, the
// pending-row queries — in a temporary folder, so the functions a timer tick runs are compiled
// once at build time instead of on every start (SPEC §10; bin/pos-sync loads the cache).
// The cache is named by the bundle's content hash (bin/pos-sync computes the same name), so a
// rebuilt bundle never meets an old cache; V8 itself ignores one made by another Node.js.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '..', '..', '..', 'bin', 'pos-sync');
const isCache = (name: string): boolean => /^pos-sync\.cjs\.[0-9a-f]{16}\.cache$/.test(name);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pos-sync-warm-up-'));
try {
  for (const name of fs.readdirSync(here).filter(isCache)) fs.rmSync(path.join(here, name), { force: true });
  // Nothing is pending in a new database, so nothing is sent: the central URL is never used.
  // sync creates no database unless asked (SPEC §2): this one is asked.
  const run = spawnSync(process.execPath, [bin, '--db', path.join(dir, 'warm-up.db'), '--central-url', 'http://127.0.0.1:9', 'sync'], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, POS_SYNC_WRITE_CODE_CACHE: '1', Sync__AutoCreateDatabase: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.status !== 0 || !fs.readdirSync(here).some(isCache)) {
    process.stderr.write(`warm-up: no code cache written (exit ${run.status}): ${run.stderr}${run.stdout}\n`);
    process.exitCode = 1;
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
