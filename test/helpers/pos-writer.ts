// A stand-in for the POS application, as a separate process: its own better-sqlite3 connection in
// WAL mode with a busy timeout, inserting small till transactions (Synced = 0) every few
// milliseconds until SIGTERM or its time limit. It prints one JSON summary line and exits 1 if
// any write failed: the POS must never be disturbed by a pass running beside it.
//
//   node dist/test/helpers/pos-writer.js --pos-writer <db> <seed> <maxMs>
//
// node --test runs every file under dist/test/, this one included: without --pos-writer it does
// nothing.

import Sqlite from 'better-sqlite3';
import { posWriter, prng } from './pos.js';

async function main(db: string, seed: number, maxMs: number): Promise<void> {
  const random = prng(seed);
  const conn = new Sqlite(db, { fileMustExist: true });
  // What Microsoft.Data.Sqlite gives the seed's POS: a busy timeout (its default command timeout is 30 s).
  conn.pragma('busy_timeout = 30000');
  conn.pragma('journal_mode = WAL');
  const writer = posWriter(conn, random);
  const errors: string[] = [];
  let inserted = 0;
  let writes = 0;
  let slowestMs = 0;
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  const end = Date.now() + maxMs;
  while (!stop && Date.now() < end) {
    const started = Date.now();
    try {
      inserted += writer.write(1 + Math.floor(random() * 3), Math.floor(random() * 3)).length;
      writes++;
    } catch (err) {
      errors.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
      if (errors.length > 20) break;
    }
    slowestMs = Math.max(slowestMs, Date.now() - started);
    // A busy store with several tills: a sale every 20-100 ms.
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(random() * 80)));
  }
  conn.close();
  process.stdout.write(`${JSON.stringify({ inserted, writes, slowestMs, errors })}\n`);
  process.exitCode = errors.length === 0 ? 0 : 1;
}

if (process.argv[2] === '--pos-writer') {
  const [, , , db, seed, maxMs] = process.argv;
  main(db!, Number(seed), Number(maxMs)).catch((err: unknown) => {
    process.stdout.write(`${JSON.stringify({ inserted: 0, writes: 0, slowestMs: 0, errors: [`crashed: ${String(err)}`] })}\n`);
    process.exitCode = 1;
  });
}
