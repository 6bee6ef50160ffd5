// Read-only commands read only, seed never mixes sample rows into a real POS database, and the
// service and a technician share one state file (pos-sync-operations(7) THE LOCAL DATABASE; pos-sync-operations(7) BETWEEN INVOCATIONS). Every check is on the
// real bin/pos-sync against a database made from the seed's EF Core fixture.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { buildFixtureDb, query } from './helpers/db.js';
import { lines, runCli } from './helpers/cli.js';
import { centralForFile } from './helpers/central.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('read-only-commands');
const central = centralForFile({});
after(tmp.cleanup);

const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The folder's entries with size and mtime: a -wal, -shm, lock or state file appearing shows. */
function listing(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => {
      const st = fs.statSync(path.join(dir, name));
      return `${name} ${st.size} ${st.mtimeMs}`;
    });
}

/** A working folder whose data/ holds only the EF fixture database, rollback-journal mode as EF made it. */
function efStore(): { cwd: string; data: string; db: string } {
  const cwd = tmp.make();
  const data = path.join(cwd, 'data');
  fs.mkdirSync(data);
  const db = buildFixtureDb(path.join(data, 'POS_Local.db'));
  assert.deepEqual(query(db, 'PRAGMA journal_mode'), [{ journal_mode: 'delete' }]);
  return { cwd, data, db };
}

describe('read-only commands on the EF fixture change nothing', () => {
  for (const args of [['status'], ['--json', 'status'], ['health'], ['config'], ['sync', '--dry-run'], ['--json', 'sync', '--dry-run']]) {
    test(`${args.join(' ')}: the file byte for byte, the folder listing, no -wal/-shm`, async () => {
      const s = efStore();
      const hash = sha256(s.db);
      const before = listing(s.data);
      const r = await runCli(['--db', 'data/POS_Local.db', '--store-id', 'STORE001', '--central-url', central.url, ...args], { cwd: s.cwd });
      // health and status give a verdict (0-2: here NOT SYNCING, no pass has run); neither may fail on the database.
      if (args.includes('health') || args.includes('status')) assert.ok(r.code !== null && r.code <= 2, r.stderr);
      else assert.equal(r.code, 0, r.stderr);
      assert.equal(sha256(s.db), hash, 'the database file changed');
      assert.deepEqual(listing(s.data), before, 'something appeared beside the database');
      assert.equal(central.stats().posts, 0);
    });
  }

  test('status and sync --dry-run say pos-sync has not set the database up, and still show the rows', async () => {
    const s = efStore();
    const status = await runCli(['--db', 'data/POS_Local.db', 'status'], { cwd: s.cwd });
    assert.ok(status.code !== null && status.code <= 2, status.stderr);
    assert.match(status.stdout, /has not set up this database yet/);
    assert.match(status.stdout, /3 transactions, 2 inventory updates/);
    const dry = await runCli(['--db', 'data/POS_Local.db', '--central-url', central.url, 'sync', '--dry-run'], { cwd: s.cwd });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would send 3 transactions and 2 inventory updates/);
    assert.match(dry.stderr, /has not set up this database yet/);
  });

  test('after a real pass, status still leaves the (now WAL) database as it is', async () => {
    const s = efStore();
    const sync = await runCli(['--db', 'data/POS_Local.db', '--central-url', central.url, 'sync'], { cwd: s.cwd });
    assert.equal(sync.code, 0, sync.stderr);
    const hash = sha256(s.db);
    // In WAL mode every reader needs the -wal/-shm pair (SQLite makes an empty one if the last
    // writer removed it); only a rollback-journal database must stay without them (above).
    const before = listing(s.data).filter((l) => !/-(wal|shm) /.test(l));
    const status = await runCli(['--db', 'data/POS_Local.db', 'status'], { cwd: s.cwd });
    assert.ok(status.code !== null && status.code <= 2, status.stderr);
    assert.doesNotMatch(status.stdout, /not set up/);
    assert.equal(sha256(s.db), hash);
    assert.deepEqual(listing(s.data).filter((l) => !/-(wal|shm) /.test(l)), before);
  });
});

describe('seed on a production machine', () => {
  test('refuses the EF fixture (a real POS database): non-zero, one line saying why and how to force, nothing written', async () => {
    const s = efStore();
    const hash = sha256(s.db);
    const before = listing(s.data);
    const r = await runCli(['--db', 'data/POS_Local.db', 'seed', '--transactions', '10'], { cwd: s.cwd });
    assert.equal(r.code, 78, r.stderr);
    const errorLines = lines(r.stderr);
    assert.equal(errorLines.length, 1, r.stderr);
    assert.match(errorLines[0]!, /refusing to seed .*POS_Local\.db: it holds 6 rows seed did not make.*--force/);
    assert.equal(r.stdout, '');
    assert.equal(sha256(s.db), hash);
    assert.deepEqual(listing(s.data), before);
  });

  test('--force mixes them in, marked as sample data; status shows them as such', async () => {
    const s = efStore();
    const r = await runCli(['--db', 'data/POS_Local.db', 'seed', '--force', '--transactions', '4', '--inventory', '2'], { cwd: s.cwd });
    assert.equal(r.code, 0, r.stderr);
    const marked = query<{ n: number }>(s.db, `SELECT count(*) AS n FROM "PosTransactions" WHERE "Notes" LIKE '[pos-sync sample]%'`)[0]!.n
      + query<{ n: number }>(s.db, `SELECT count(*) AS n FROM "InventoryUpdates" WHERE "Reason" LIKE '[pos-sync sample]%'`)[0]!.n;
    assert.equal(marked, 6);
    const status = await runCli(['--db', 'data/POS_Local.db', 'status'], { cwd: s.cwd });
    assert.match(status.stdout, /sample data +6 rows made by `pos-sync seed` \(not sales\)/);
  });

  test('a new database: `seed --transactions 10` works as before, and seeding it again works too', async () => {
    const cwd = tmp.make();
    fs.mkdirSync(path.join(cwd, 'data'));
    const first = await runCli(['--db', 'data/new.db', 'seed', '--transactions', '10'], { cwd });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /10 transactions/);
    const second = await runCli(['--db', 'data/new.db', 'seed', '--transactions', '10'], { cwd });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(query<{ n: number }>(path.join(cwd, 'data', 'new.db'), `SELECT count(*) AS n FROM "PosTransactions"`)[0]!.n, 20);
  });
});

describe('one state file, however pos-sync is started', () => {
  test('a pass run as under systemd (STATE_DIRECTORY set) and a technician\'s manual status see the same state file', async () => {
    const s = efStore();
    const stateDir = tmp.make(); // what StateDirectory=pos-sync would give the service
    const service = await runCli(['--db', 'data/POS_Local.db', '--central-url', central.url, '--json', 'sync'], {
      cwd: s.cwd,
      env: { STATE_DIRECTORY: stateDir, INVOCATION_ID: '0123456789abcdef0123456789abcdef' },
    });
    assert.equal(service.code, 0, service.stderr);
    assert.deepEqual(fs.readdirSync(stateDir), [], 'nothing in $STATE_DIRECTORY');
    const stateFile = path.join(s.data, 'POS_Local.db.pos-sync.state.json');
    assert.ok(fs.existsSync(stateFile), 'the state file is beside the database');
    const manual = await runCli(['--db', 'data/POS_Local.db', '--json', 'status'], { cwd: s.cwd });
    assert.equal(manual.code, 0, manual.stderr);
    const status = JSON.parse(manual.stdout) as { sources: { stateFile: string }; lastPass: { delivered: number } | null; lastSuccessAt: string | null };
    assert.equal(status.sources.stateFile, stateFile);
    assert.equal(status.lastPass?.delivered, 5, 'the technician sees the service\'s last pass');
    assert.notEqual(status.lastSuccessAt, null);
  });
});

