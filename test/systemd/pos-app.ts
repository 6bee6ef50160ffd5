// The POS application of the installed-product scenario (test/systemd-live-installed.test.ts),
// run inside the container as its own user (posapp, group pos) by the package's Node: its own
// better-sqlite3 connection with a busy timeout of 5 s (shorter than EF Core's 30 s, so a long
// lock shows as a failed sale), a sale every 100 ms, in WAL or rollback-journal mode. Prints one
// JSON line: every id it inserted, the failed inserts with their errors, the longest wait.
//
//   node dist/test/systemd/pos-app.js --pos-app <db> <wal|delete> <ms> <seed>
//
// node --test runs every file under dist/test/, this one included: without --pos-app it does nothing.

import Sqlite from 'better-sqlite3';
import { posWriter, prng } from '../helpers/pos.js';

async function main(db: string, mode: string, ms: number, seed: number): Promise<void> {
  const conn = new Sqlite(db, { fileMustExist: true, timeout: 5000 });
  const startMode = String(conn.pragma(`journal_mode = ${mode === 'wal' ? 'WAL' : 'DELETE'}`, { simple: true }));
  const writer = posWriter(conn, prng(seed));
  const ids: string[] = [];
  const errors: string[] = [];
  let failed = 0;
  let longestWaitMs = 0;
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  const end = Date.now() + ms;
  while (!stop && Date.now() < end) {
    const started = Date.now();
    try {
      ids.push(...writer.write(1, 0));
    } catch (err) {
      failed++;
      if (errors.length < 20) errors.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
    }
    longestWaitMs = Math.max(longestWaitMs, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (Date.now() - started))));
  }
  const endMode = String(conn.pragma('journal_mode', { simple: true }));
  conn.close();
  process.stdout.write(`${JSON.stringify({ inserted: ids.length, ids, failed, errors, longestWaitMs, startMode, endMode })}\n`);
}

if (process.argv[2] === '--pos-app') {
  const [, , , db, mode, ms, seed] = process.argv;
  main(db!, mode!, Number(ms), Number(seed)).catch((err: unknown) => {
    process.stdout.write(`${JSON.stringify({ inserted: 0, ids: [], failed: 1, errors: [`crashed: ${String(err)}`], longestWaitMs: 0 })}\n`);
    process.exitCode = 1;
  });
}
