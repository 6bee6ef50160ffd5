// End to end: the real binary (node bin/pos-sync) in a temp working directory with a clean
// environment, against the reference central on 127.0.0.1. Exit codes, stdout and stderr as a
// script or a systemd unit sees them (no TTY: no colour, JSON log lines).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { centralForFile } from './helpers/central.js';
import { lines, runCli, startCli } from './helpers/cli.js';
import { allIds, buildFixtureDb, pendingIds } from './helpers/db.js';
import { lockIsFree } from './helpers/lock.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('e2e');
const central = centralForFile({ seed: 4 });
after(tmp.cleanup);

/** A working directory with an empty data/ folder. */
function workdir(): string {
  const dir = tmp.make();
  fs.mkdirSync(path.join(dir, 'data'));
  return dir;
}

/** Exactly one JSON document on stdout. */
function oneJson(stdout: string): Record<string, unknown> {
  assert.ok(stdout.endsWith('\n'), 'ends with a newline');
  const parsed: unknown = JSON.parse(stdout);
  assert.equal(typeof parsed, 'object');
  return parsed as Record<string, unknown>;
}

/** stderr as a non-TTY sees it: only JSON log lines, none at warn or error. */
function quietLogs(stderr: string): void {
  for (const line of lines(stderr)) {
    const entry = JSON.parse(line) as { level?: string };
    assert.ok(entry.level === 'info' || entry.level === 'debug', `unexpected log line: ${line}`);
  }
}

/** stderr holds exactly one line, the pos-sync error line. */
function oneErrorLine(stderr: string): string {
  const all = lines(stderr);
  assert.equal(all.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(all[0]!, /^pos-sync: /);
  assert.doesNotMatch(all[0]!, /\bat .*\.js:\d+/, 'no stack trace without --verbose');
  return all[0]!;
}

describe('seed, sync and status', () => {
  test('seed → sync → status, with exit codes and output exactly as a script sees them', async () => {
    const cwd = workdir();
    const db = path.join(cwd, 'data', 'pos.db');

    const seeded = await runCli(['--db', 'data/pos.db', 'seed', '--transactions', '20', '--inventory', '5', '--random-seed', '7'], { cwd });
    assert.equal(seeded.code, 0, seeded.stderr);
    assert.match(seeded.stdout, new RegExp(`^seeded 20 transactions and 5 inventory updates into ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(random seed 7, \\d+ ms\\)\\n$`));
    assert.equal(seeded.stderr, '');

    const before_ = await runCli(['--db', 'data/pos.db', 'status', '--json'], { cwd });
    // No pass has run yet: not syncing (2), whatever is pending.
    assert.equal(before_.code, 2, before_.stderr);
    const s0 = oneJson(before_.stdout) as { command: string; verdict: string; pending: Record<string, { pending: number; deadLettered: number }> };
    assert.equal(s0.command, 'status');
    assert.equal(s0.verdict, 'NOT SYNCING');
    assert.equal(s0.pending['transaction']!.pending, 20);
    assert.equal(s0.pending['inventory']!.pending, 5);

    const synced = await runCli(['--db', 'data/pos.db', '--central-url', central.url, 'sync'], { cwd });
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, /^delivered 25 \(20 transactions, 5 inventory updates\), 2 requests, \d+(\.\d)? m?s\n$/);
    quietLogs(synced.stderr);
    assert.deepEqual(central.receivedIds().sort(), allIds(db).sort());

    const idle = await runCli(['--db', 'data/pos.db', '--central-url', central.url, 'sync'], { cwd });
    assert.equal(idle.code, 0, idle.stderr);
    assert.match(idle.stdout, /^nothing pending \(\d+ ms\)\n$/);

    const after_ = await runCli(['--db', 'data/pos.db', 'status', '--json'], { cwd });
    assert.equal(after_.code, 0);
    const s1 = oneJson(after_.stdout) as {
      verdict: string;
      pending: Record<string, { pending: number; deadLettered: number }>;
      lastPass: { exitCode: number; delivered: number } | null;
      today: { transactionsSynced: number; inventorySynced: number };
    };
    assert.equal(s1.verdict, 'OK');
    assert.equal(s1.pending['transaction']!.pending, 0);
    assert.equal(s1.pending['inventory']!.pending, 0);
    assert.deepEqual([s1.lastPass?.exitCode, s1.lastPass?.delivered], [0, 0], 'the last pass is the idle one');
    assert.deepEqual([s1.today.transactionsSynced, s1.today.inventorySynced], [20, 5]);
    assert.equal(after_.stderr, '');
  });

  test('sync --json prints one JSON document; environment configuration works (STORE_ID, CENTRAL_API_URL, Sync__BatchSize)', async () => {
    const cwd = workdir();
    buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
    const result = await runCli(['sync', '--json'], { cwd, env: { STORE_ID: 'STORE-E2E', CENTRAL_API_URL: central.url, Sync__BatchSize: '2' } });
    assert.equal(result.code, 0, result.stderr);
    const doc = oneJson(result.stdout) as { command: string; exitCode: number; delivered: Record<string, number>; requests: number };
    assert.equal(doc.command, 'sync');
    assert.equal(doc.exitCode, 0);
    assert.deepEqual(doc.delivered, { transaction: 3, inventory: 2 });
    assert.equal(doc.requests, 3, 'batches of 2: 2 + 1');
    for (const r of central.requests()) assert.equal(r.storeId, 'STORE-E2E');
  });

  test('sync --dry-run sends nothing; the rows stay pending', async () => {
    const cwd = workdir();
    const db = buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
    const result = await runCli(['--central-url', central.url, 'sync', '--dry-run'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^dry run: would send 3 transactions and 2 inventory updates in 2 batches; nothing was sent or changed\n/);
    assert.equal(central.stats().posts, 0);
    assert.equal(pendingIds(db).length, 5);
  });

  test('a central refusing the credentials: exit 77, one error line', async () => {
    central.setFaults({ requireToken: 'e2e-token-123' });
    const cwd = workdir();
    buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
    const result = await runCli(['--central-url', central.url, 'sync'], { cwd, env: { POS_SYNC_API_TOKEN: 'wrong-token-456' } });
    assert.equal(result.code, 77);
    // Off a terminal: the JSON log line for log parsers, then the closing line, last.
    const errors = lines(result.stderr).filter((l) => /"level":"error"/.test(l));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0]!, /credentials/);
    assert.match(lines(result.stderr).at(-1)!, /^pos-sync: the central API refused the credentials \(HTTP 401\) — check the API token/);
    assert.equal(lines(result.stderr).filter((l) => l.startsWith('pos-sync:')).length, 1);
    assert.ok(!result.stderr.includes('wrong-token-456') && !result.stdout.includes('wrong-token-456'), 'the token is never printed');
  });
});

describe('errors → exit codes', () => {
  test('a malformed config file: 78, one line naming the key and the file', async () => {
    const cwd = workdir();
    fs.writeFileSync(path.join(cwd, '.pos-syncrc.json'), JSON.stringify({ Sync: { BatchSize: 'lots' } }));
    const result = await runCli(['sync'], { cwd });
    assert.equal(result.code, 78);
    const line = oneErrorLine(result.stderr);
    assert.match(line, /Sync\.BatchSize/);
    assert.ok(line.includes(path.join(cwd, '.pos-syncrc.json')), line);
    assert.equal(result.stdout, '');
    assert.equal(fs.readdirSync(path.join(cwd, 'data')).length, 0, 'nothing was created');
  });

  test('an unknown key in the environment: 78 with a suggestion', async () => {
    const result = await runCli(['status'], { cwd: workdir(), env: { Sync__BatchSzie: '10' } });
    assert.equal(result.code, 78);
    assert.match(oneErrorLine(result.stderr), /Sync\.BatchSzie.*environment Sync__BatchSzie.*did you mean Sync\.BatchSize\?/);
  });

  test('--json errors are one JSON document on stdout too', async () => {
    const cwd = workdir();
    fs.writeFileSync(path.join(cwd, 'pos-sync.config.yaml'), 'Sync:\n  MaxRejections: 0\n');
    const result = await runCli(['status', '--json'], { cwd });
    assert.equal(result.code, 78);
    const doc = oneJson(result.stdout);
    assert.equal(doc['exitCode'], 78);
    assert.match(String(doc['error']), /Sync\.MaxRejections/);
  });

  const usage: Array<{ args: string[]; message: RegExp }> = [
    { args: ['sync', '--bogus'], message: /unknown option '--bogus'/ },
    { args: ['--frobnicate', 'status'], message: /unknown option '--frobnicate'/ },
    { args: ['frobnicate'], message: /unknown command 'frobnicate'/ },
    { args: ['sync', '--batch-size', '0'], message: /--batch-size must be a whole number/ },
    { args: ['seed', '--transactions', 'many'], message: /--transactions must be a whole number/ },
    { args: ['--verbose', '--quiet', 'status'], message: /cannot be used with/ },
  ];
  for (const u of usage) {
    test(`usage error: pos-sync ${u.args.join(' ')} → 64`, async () => {
      const result = await runCli(u.args, { cwd: workdir() });
      assert.equal(result.code, 64, result.stderr);
      assert.match(oneErrorLine(result.stderr), u.message);
      assert.equal(result.stdout, '');
    });
  }

  test('a missing database folder: 74, and the folder is not created', async () => {
    const cwd = workdir();
    const result = await runCli(['--db', 'nowhere/pos.db', '--central-url', central.url, 'sync'], { cwd });
    assert.equal(result.code, 74);
    assert.match(oneErrorLine(result.stderr), /database folder .*nowhere does not exist/);
    assert.equal(fs.existsSync(path.join(cwd, 'nowhere')), false);
  });

  test('sync on a missing database file: 74 naming the path and the setting, no file created, nothing sent', async () => {
    const cwd = workdir();
    const result = await runCli(['--db', 'data/POS_Lcoal.db', '--central-url', central.url, 'sync'], { cwd });
    assert.equal(result.code, 74, result.stderr);
    const line = oneErrorLine(result.stderr);
    assert.ok(line.includes(path.join(cwd, 'data', 'POS_Lcoal.db')), line);
    assert.match(line, /does not exist — .*Sync\.AutoCreateDatabase=true/);
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'data')), []);
    assert.equal(central.stats().posts, 0);
    // Asked to, it creates the file (a lab, a new till): nothing pending.
    const created = await runCli(['--db', 'data/POS_Lcoal.db', '--central-url', central.url, 'sync'], { cwd, env: { Sync__AutoCreateDatabase: 'true' } });
    assert.equal(created.code, 0, created.stderr);
    assert.ok(fs.existsSync(path.join(cwd, 'data', 'POS_Lcoal.db')));
  });

  test('seed creates the database it seeds (without Sync.AutoCreateDatabase)', async () => {
    const cwd = workdir();
    const result = await runCli(['--db', 'data/new.db', 'seed', '--transactions', '2', '--inventory', '1'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(fs.existsSync(path.join(cwd, 'data', 'new.db')));
  });

  test('status never creates a database: a missing file is 74', async () => {
    const cwd = workdir();
    const result = await runCli(['status'], { cwd });
    assert.equal(result.code, 74);
    assert.match(oneErrorLine(result.stderr), /POS_Local\.db does not exist/);
    assert.deepEqual(fs.readdirSync(path.join(cwd, 'data')), []);
  });

  test('a database file full of garbage bytes: 74 for sync and status', async () => {
    const cwd = workdir();
    const garbage = Buffer.alloc(8192);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) % 256;
    fs.writeFileSync(path.join(cwd, 'data', 'POS_Local.db'), garbage);
    for (const command of ['sync', 'status']) {
      const result = await runCli(['--central-url', central.url, command], { cwd });
      assert.equal(result.code, 74, `${command}: ${result.stderr}`);
      assert.match(oneErrorLine(result.stderr), /not a (SQLite )?database/);
    }
    assert.equal(central.stats().posts, 0);
  });

  test('a database whose pages are corrupt behind a valid header: 74', async () => {
    const cwd = workdir();
    const file = buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
    const bytes = fs.readFileSync(file);
    bytes.fill(0xa5, 100, 4096); // page 1's b-tree (the schema) after the 100-byte header
    fs.writeFileSync(file, bytes);
    const result = await runCli(['--central-url', central.url, 'sync'], { cwd });
    assert.equal(result.code, 74, result.stderr);
    assert.match(oneErrorLine(result.stderr), /malformed|corrupt|not a database/);
  });
});

describe('one pass per database at a time', () => {
  test('two concurrent syncs against a slow central: one delivers, the other exits 75 naming the holder; no id twice', async () => {
    central.setFaults({ slowRate: 1, slowMs: 1500 });
    const cwd = workdir();
    const db = buildFixtureDb(path.join(cwd, 'data', 'POS_Local.db'));
    // A budget far above two slow answers: on a loaded machine the pass must not stop at its budget.
    const args = ['--central-url', central.url, 'sync', '--max-run-seconds', '60'];
    const a = startCli(args, { cwd });
    // The second starts once the first holds the lock, so a slow machine cannot serialise them.
    // The holder file is written right after the kernel lock is taken (polling the lock itself
    // would take it for a moment and could turn the first pass away).
    const lock = `${db}.pos-sync.lock.holder`;
    for (let waited = 0; !fs.existsSync(lock); waited += 10) {
      if (waited > 15_000) assert.fail('the first pass never took the lock');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const b = startCli(args, { cwd });
    const [winner, loser] = await Promise.all([a.done, b.done]);
    assert.equal(loser.code, 75, loser.stderr);
    assert.equal(winner.code, 0, winner.stderr);
    assert.match(winner.stdout, /^delivered 5 /);
    const line = oneErrorLine(loser.stderr);
    assert.match(line, /another pos-sync/);
    assert.equal(loser.stdout, '');
    assert.ok(line.includes(`pid ${winner.pid}`), `names the holder's pid ${winner.pid}: ${line}`);
    assert.deepEqual(central.duplicateIds(), []);
    assert.deepEqual(central.receivedIds().sort(), allIds(db).filter((id) => id !== '0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D').sort());
    assert.deepEqual(pendingIds(db), []);
    assert.ok(lockIsFree(db), 'the lock is released');
  });
});
