// Files beside the POS database as a store has them (man page, FILES): a POS user in group pos,
// the service user in that group, a shift lead in it, an outsider, and root — real uids through
// setpriv (no users are created), the real bin/pos-sync, a real central on 127.0.0.1.
//
// Nothing pos-sync does stops the POS from writing: a database the group may not write is
// refused before SQLite creates anything; readers create nothing for any user or journal mode;
// root writes as the service user; links, FIFOs and files left by root at pos-sync's fixed names
// are named in one line and never followed; a read-only mount is named as such.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCentral, tokenFingerprint, type RunningCentral } from '../examples/central/server.js';
import { BIN, cleanEnv, lines } from './helpers/cli.js';
import { buildFixtureDb, exec, pendingIds } from './helpers/db.js';
import { REPO_ROOT, tmpDirs } from './helpers/tmp.js';
import { writeReconcileRecord } from '../src/state/reconcile-record.js';

const tmp = tmpDirs('files-beside');
let central: RunningCentral;
before(async () => {
  central = await startCentral({ requestLogSize: 10_000 });
});
after(async () => {
  await central?.close();
  tmp.cleanup();
});

const POS_GROUP = 2100;
interface Who {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly groups: readonly number[];
}
const POSAPP: Who = { name: 'the POS', uid: 2101, gid: POS_GROUP, groups: [POS_GROUP] };
const SERVICE: Who = { name: 'the service user', uid: 2102, gid: 2102, groups: [POS_GROUP] };
const LEAD: Who = { name: 'a shift lead', uid: 2103, gid: 2103, groups: [POS_GROUP] };
const OUTSIDER: Who = { name: 'an outsider', uid: 2104, gid: 2104, groups: [] };
const ROOT: Who = { name: 'root', uid: 0, gid: 0, groups: [0] };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** `argv` as `who` (setpriv for everyone but root), or inside `unshare -m` after `mountScript`. */
function run(who: Who, argv: readonly string[], options: { cwd: string; timeoutMs?: number; mountScript?: string } = { cwd: '/' }): Promise<Run> {
  const priv = who.uid === 0 ? [] : ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, who.groups.length > 0 ? `--groups=${who.groups.join(',')}` : '--clear-groups'];
  const command = [...priv, ...argv];
  const [file, ...args] =
    options.mountScript === undefined ? command : ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${options.mountScript} && exec "$@"`, 'sh', ...command];
  const at = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { cwd: options.cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command.join(' ')} did not exit within ${options.timeoutMs ?? 20_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - at });
    });
  });
}

function posSync(who: Who, store: Store, args: readonly string[], extra: { timeoutMs?: number; mountScript?: string } = {}): Promise<Run> {
  return run(who, [process.execPath, BIN, '--db', store.db, '--central-url', central.url, ...args], { cwd: store.base, ...extra });
}

/** The POS writing a sale, as its own user, with a 5 s busy timeout (shorter than EF Core's 30 s). */
function posInserts(store: Store, who: Who = POSAPP): Promise<Run> {
  const script = `
    const Sqlite = require(${JSON.stringify(path.join(REPO_ROOT, 'node_modules', 'better-sqlite3'))});
    const db = new Sqlite(${JSON.stringify(store.db)}, { fileMustExist: true, timeout: 5000 });
    db.prepare(\`INSERT INTO "PosTransactions" ("Id","TransactionId","StoreId","ProductId","TransactionType","Quantity","UnitPrice","TotalAmount","TransactionDate","CreatedAt","Synced","SyncAttempts")
      VALUES (upper(hex(randomblob(16))), 'TX-POS', 'STORE001', 'PROD001', 'Sale', 1, '1.00', '1.00', '2026-12-07 10:00:00', '2026-12-07 10:00:00', 0, 0)\`).run();
    db.close();`;
  return run(who, [process.execPath, '-e', script], { cwd: store.base });
}

interface Store {
  readonly base: string;
  readonly folder: string;
  readonly db: string;
  readonly state: string;
  readonly lock: string;
}

/**
 * /tmp/…/pos: root:pos 2775 (setgid, as install.sh sets it up), the database posapp:pos `mode`,
 * in WAL mode (no -wal/-shm while nothing has it open) or with a rollback journal.
 */
function posStore(options: { mode?: number; journal?: 'wal' | 'delete'; setgid?: boolean } = {}): Store {
  const base = tmp.make();
  fs.chmodSync(base, 0o755);
  const folder = path.join(base, 'pos');
  fs.mkdirSync(folder);
  fs.chownSync(folder, 0, POS_GROUP);
  fs.chmodSync(folder, options.setgid === false ? 0o775 : 0o2775);
  const db = buildFixtureDb(path.join(folder, 'POS_Local.db'));
  exec(db, `PRAGMA journal_mode = ${options.journal ?? 'wal'}`);
  fs.chownSync(db, POSAPP.uid, POS_GROUP);
  fs.chmodSync(db, options.mode ?? 0o664);
  return { base, folder, db, state: `${db}.pos-sync.state.json`, lock: `${db}.pos-sync.lock` };
}

function listing(folder: string): string[] {
  return fs.readdirSync(folder).sort();
}

/** Files beside the database that the POS (posapp, group pos) could not read and write. */
function lockingOutThePos(store: Store): string[] {
  return ['-wal', '-shm', '-journal']
    .map((s) => store.db + s)
    .filter((f) => fs.existsSync(f))
    .filter((f) => {
      const st = fs.statSync(f);
      return !(st.uid === POSAPP.uid ? (st.mode & 0o600) === 0o600 : st.gid === POS_GROUP && (st.mode & 0o060) === 0o060);
    });
}

describe('nothing pos-sync does stops the POS from writing', () => {
  test('a database its group may not write (0644 posapp:pos, WAL): the service exits 74 naming the file, owner and mode, creates nothing beside it, and the POS still writes', async () => {
    const s = posStore({ mode: 0o644 });
    const r = await posSync(SERVICE, s, ['sync']);
    assert.equal(r.code, 74, r.stderr);
    assert.match(lines(r.stderr).at(-1)!, new RegExp(`^pos-sync: permission denied: the database ${s.db} \\(owner 2101 group 2100, mode 0644\\) — `));
    assert.deepEqual(
      listing(s.folder).filter((n) => /-(wal|shm|journal)$|lock/.test(n)),
      [],
      'no companion and no lock',
    );
    assert.equal((await posInserts(s)).code, 0, 'the POS writes its next sale');
  });

  test('a group-writable database in a folder that is not setgid: 74 with the fix, before SQLite creates anything', async () => {
    const s = posStore({ setgid: false });
    const r = await posSync(SERVICE, s, ['sync']);
    assert.equal(r.code, 74, r.stderr);
    assert.match(r.stderr, /is not shared with the POS group: new files in .* get group 2102, not the database's group 2100, .* — chmod g\+rw .*; chgrp 2100 .*; chmod g\+rwxs /);
    assert.deepEqual(lockingOutThePos(s), []);
    assert.equal((await posInserts(s)).code, 0);
  });

  for (const journal of ['wal', 'delete'] as const) {
    test(`readers create nothing, for every user (${journal === 'wal' ? 'WAL without -wal/-shm' : 'rollback journal'}): status, health, config, sync --dry-run`, async () => {
      const s = posStore({ journal });
      // The service has run once (its state file exists), then closed: nothing else is open.
      assert.equal((await posSync(SERVICE, s, ['sync'])).code, 0);
      if (journal === 'delete') exec(s.db, 'PRAGMA journal_mode = delete');
      const before = listing(s.folder);
      const stats = before.map((n) => fs.statSync(path.join(s.folder, n)).mtimeMs);
      // What each reader is told. The state file is the pos group's (0640): the outsider's status
      // says so, never "no pass has run"; everyone else reads the service's state.
      const says = (who: Who): Array<[string[], RegExp]> => [
        [['status'], who === OUTSIDER ? /permission denied: .*POS_Local\.db\.pos-sync\.state\.json/ : /^OK/],
        [['health'], /OK +database: quick_check ok/],
        [['config'], /^config file: /],
        [['sync', '--dry-run'], /^dry run: /],
      ];
      for (const who of [SERVICE, LEAD, OUTSIDER, ROOT]) {
        for (const [args, expected] of says(who)) {
          const r = await posSync(who, s, args);
          assert.deepEqual(listing(s.folder), before, `${who.name}: ${args.join(' ')} created something: ${r.stderr}`);
          assert.notEqual(r.code, 74, `${who.name}: ${args.join(' ')}: ${r.stderr}${r.stdout}`);
          assert.match(r.stdout, expected, `${who.name}: ${args.join(' ')}: ${r.stdout}`);
          assert.doesNotMatch(r.stdout, /no pass has run yet/, `${who.name}: ${args.join(' ')}`);
        }
      }
      assert.deepEqual(before.map((n) => fs.statSync(path.join(s.folder, n)).mtimeMs), stats, 'nothing written either');
      assert.equal((await posInserts(s)).code, 0);
    });
  }

  test("the service's pass in the setgid folder: its files are the pos group's, and the POS writes while the service holds its connection", async () => {
    const s = posStore({ journal: 'delete' });
    const r = await posSync(SERVICE, s, ['sync']);
    assert.equal(r.code, 0, r.stderr);
    for (const name of listing(s.folder)) {
      const st = fs.statSync(path.join(s.folder, name));
      assert.equal(st.gid, POS_GROUP, `${name} is the pos group's`);
    }
    assert.equal(fs.statSync(s.state).mode & 0o777, 0o640);
    assert.equal(fs.statSync(s.lock).mode & 0o777, 0o660);
    assert.deepEqual(lockingOutThePos(s), []);
    assert.equal((await posInserts(s)).code, 0);
    assert.equal((await posSync(SERVICE, s, ['sync'])).code, 0);
    assert.deepEqual(pendingIds(s.db), []);
  });
});

describe('root and technicians', () => {
  test('root runs a writing command as the service user: every file stays the service\'s, and the POS writes', async () => {
    const s = posStore();
    assert.equal((await posSync(SERVICE, s, ['sync'])).code, 0);
    await posInserts(s);
    const r = await posSync(ROOT, s, ['sync', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /run as root: this pass runs as uid 2102 \(the owner of .*state\.json\)/);
    assert.deepEqual(pendingIds(s.db), [], 'delivered');
    for (const name of listing(s.folder)) assert.notEqual(fs.statSync(path.join(s.folder, name)).uid, 0, `${name} is not root's`);
    assert.equal(fs.statSync(s.state).uid, SERVICE.uid);
    assert.deepEqual(lockingOutThePos(s), []);
    assert.equal((await posInserts(s)).code, 0);
  });

  test('root runs reconcile as the service user: its record is the service\'s, which health then reads', async () => {
    const s = posStore();
    // A store of its own: the central holds other tests' sales too, which are not this till's.
    assert.equal((await posSync(SERVICE, s, ['--store-id', 'STORE-RECONCILE-ROOT', 'sync'])).code, 0);
    const r = await posSync(ROOT, s, ['--store-id', 'STORE-RECONCILE-ROOT', 'reconcile']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /run as root: this pass runs as uid 2102/);
    const record = `${s.state.replace(/\.json$/, '')}.reconcile.json`;
    const records = listing(s.folder).filter((n) => n.endsWith('.reconcile.json'));
    assert.equal(records.length, 1, listing(s.folder).join(' '));
    assert.equal(fs.statSync(path.join(s.folder, records[0]!)).uid, SERVICE.uid, `${records[0]} (${record}) belongs to the service`);
    for (const name of listing(s.folder)) assert.notEqual(fs.statSync(path.join(s.folder, name)).uid, 0, `${name} is not root's`);
    assert.deepEqual(lockingOutThePos(s), []);
  });

  test("root on a fresh till: becomes the user pos-sync (from /etc/passwd) and sends the token the service uses (/etc/pos-sync/api-token, root only)", async () => {
    const s = posStore();
    const token = 'installed-token-0123456789';
    // A copy of /etc with the package's user and token, bind-mounted over /etc inside unshare -m only.
    const etc = path.join(s.base, 'etc');
    const setUp = [
      `cp -a /etc ${etc}`,
      `mkdir -p ${etc}/pos-sync`,
      `printf '%s\\n' ${token} > ${etc}/pos-sync/api-token`,
      `chmod 0600 ${etc}/pos-sync/api-token`,
      `echo 'pos-sync:x:${SERVICE.uid}:${SERVICE.gid}::/nonexistent:/usr/sbin/nologin' >> ${etc}/passwd`,
      `mount --bind ${etc} /etc`,
    ].join(' && ');
    const before = central.requests().length;
    const r = await posSync(ROOT, s, ['sync'], { mountScript: setUp });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`this pass runs as uid ${SERVICE.uid} \\(the user pos-sync\\)`));
    const sent = central.requests().slice(before);
    assert.ok(sent.length > 0);
    assert.ok(sent.every((q) => q.tokenFingerprint === tokenFingerprint(token)), 'the installed token was sent');
    for (const name of listing(s.folder)) assert.equal(fs.statSync(path.join(s.folder, name)).uid === 0, false, `${name} is not root's`);
    assert.equal(fs.statSync(s.state).uid, SERVICE.uid);
    assert.equal(fs.existsSync('/etc/pos-sync'), false, 'nothing left in the real /etc');
  });

  test('root with no service user to become: refused with the command to type, nothing written', async () => {
    const s = posStore();
    const r = await posSync(ROOT, s, ['sync']);
    assert.equal(r.code, 77, r.stderr);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /found none .* — run it as the user the timer runs it as: runuser -u <service user> -- pos-sync --db \S+POS_Local\.db --central-url http:\/\/127\.0\.0\.1:\d+ sync\n$/);
    assert.deepEqual(listing(s.folder), ['POS_Local.db']);
  });

  test("a root-owned lock file and state file left by an earlier root pass: the service still excludes a second pass and keeps its breaker", async () => {
    const s = posStore();
    // What a root pass leaves in the setgid folder: root:pos, the modes pos-sync gives them.
    const now = Date.now();
    fs.writeFileSync(
      s.state,
      JSON.stringify({
        version: 1,
        breaker: { state: 'open', consecutiveFailures: 3, openedAt: new Date(now).toISOString(), nextProbeAt: new Date(now + 3_600_000).toISOString(), consecutiveOpens: 2, lastFailure: 'HTTP 503' },
        lastPass: null,
        lastSuccessAt: null,
      }),
      { mode: 0o640 },
    );
    fs.writeFileSync(s.lock, '', { mode: 0o660 });
    for (const f of [s.state, s.lock]) fs.chownSync(f, 0, POS_GROUP);
    fs.chmodSync(s.lock, 0o660); // whatever this process's umask
    const posts = central.stats().posts;
    const refused = await posSync(SERVICE, s, ['sync']);
    assert.equal(refused.code, 75, `the open breaker is kept: ${refused.stderr}`);
    assert.equal(central.stats().posts, posts, 'nothing sent through it');
    // A held pass (slow central, --force) and a second one: the second is kept out.
    central.setFaults({ slowRate: 1, slowMs: 1_500 });
    try {
      const holder = posSync(SERVICE, s, ['sync', '--force', '--batch-size', '1', '--max-run-seconds', '6'], { timeoutMs: 30_000 });
      let ended: Run | null = null;
      void holder.then((r) => (ended = r));
      for (let waited = 0; !fs.existsSync(`${s.lock}.holder`); waited += 20) {
        if (waited > 10_000 || ended !== null) assert.fail(`the holder never took the lock: ${JSON.stringify(ended)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const second = await posSync(SERVICE, s, ['sync', '--force']);
      assert.equal(second.code, 75, second.stderr);
      assert.match(second.stderr, /another pos-sync sync \(pid \d+, since .*\) holds /);
      await holder;
    } finally {
      central.setFaults({ slowRate: 0 });
    }
    // And a lock file root made 0644 (an earlier pos-sync's mode), which the service cannot write: named, never a read lock.
    fs.rmSync(s.lock);
    fs.writeFileSync(s.lock, '', { mode: 0o644 });
    const locked = await posSync(SERVICE, s, ['sync', '--force']);
    assert.equal(locked.code, 74, locked.stderr);
    assert.match(lines(locked.stderr).at(-1)!, new RegExp(`^pos-sync: permission denied: the lock file ${s.lock} \\(owner 0 group 2100, mode 0644\\) cannot be written, so it would not keep a second pass out — give it to the service user`));
  });

  test('a state file the user may not read: "permission denied" naming it, never a reset breaker or a wrong verdict', async () => {
    const s = posStore();
    assert.equal((await posSync(SERVICE, s, ['sync'])).code, 0);
    const before = fs.readFileSync(s.state, 'utf8');
    fs.chownSync(s.state, 0, 0);
    fs.chmodSync(s.state, 0o600);
    const r = await posSync(SERVICE, s, ['sync']);
    assert.equal(r.code, 74, r.stderr);
    assert.match(lines(r.stderr).at(-1)!, /^pos-sync: permission denied: the state file \S+ \(owner 0 group 0, mode 0600\) — run pos-sync as the service user/);
    const status = await posSync(LEAD, s, ['status']);
    assert.match(status.stdout, /permission denied: .*state\.json/);
    assert.doesNotMatch(status.stdout, /no pass has run yet|moves it aside/);
    assert.equal(fs.readFileSync(s.state, 'utf8'), before, 'left exactly as it was');
    assert.deepEqual(listing(s.folder).filter((n) => n.includes('corrupt')), []);
  });
});

describe("links, FIFOs and other files at pos-sync's fixed names", () => {
  const names: { name: string; at: (s: Store) => string; args: (s: Store) => string[] }[] = [
    { name: 'the state file', at: (s) => s.state, args: () => ['sync'] },
    { name: 'the lock file', at: (s) => s.lock, args: () => ['sync'] },
    { name: "the lock's holder file", at: (s) => `${s.lock}.holder`, args: () => ['sync'] },
    { name: 'the metrics file', at: (s) => path.join(s.folder, 'pos-sync.prom'), args: (s) => ['sync', '--metrics-file', path.join(s.folder, 'pos-sync.prom')] },
  ];
  for (const n of names) {
    for (const who of [SERVICE, ROOT]) {
      test(`a symbolic link at ${n.name} to a root-only file, ${who.name}: the file untouched, one line naming the link`, async () => {
        // root stays root on a database of its own: the strongest case for following a link.
        const s = posStore();
        if (who === ROOT) fs.chownSync(s.db, 0, POS_GROUP);
        const secret = path.join(s.base, 'root-only');
        fs.writeFileSync(secret, 'root only\n', { mode: 0o600 });
        const link = n.at(s);
        fs.symlinkSync(secret, link);
        const r = await posSync(who, s, n.args(s));
        assert.equal(r.code, 74, r.stderr);
        const naming = lines(r.stderr).filter((l) => l.includes(link));
        assert.equal(naming.length, 1, r.stderr);
        assert.ok(naming[0]!.includes(`${link} is a symbolic link (to ${secret})`), naming[0]);
        assert.equal(fs.readFileSync(secret, 'utf8'), 'root only\n');
        const st = fs.statSync(secret);
        assert.deepEqual([st.uid, st.mode & 0o7777], [0, 0o600]);
        assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is left for the technician to see');
        assert.deepEqual(listing(s.folder).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
      });
    }
  }

  test('a link at the reconcile record: refused, the file untouched', () => {
    const dir = tmp.make();
    const secret = path.join(dir, 'root-only');
    fs.writeFileSync(secret, 'root only\n', { mode: 0o600 });
    const record = path.join(dir, 'POS_Local.db.pos-sync.state.reconcile.json');
    fs.symlinkSync(secret, record);
    const r = { at: Date.now(), outcome: 'match' as const, exitCode: 0, from: 0, to: 1, missingAtCentral: 0, extraAtCentral: 0, amountDiffers: 0, error: null };
    assert.throws(() => writeReconcileRecord(record, r), /is a symbolic link \(to .*root-only\)/);
    assert.equal(fs.readFileSync(secret, 'utf8'), 'root only\n');
    assert.equal(fs.statSync(secret).mode & 0o777, 0o600);
  });

  test('a FIFO at the state file: sync and health end at once with one line naming it', async () => {
    const s = posStore();
    spawnSync('mkfifo', [s.state]);
    const r = await posSync(SERVICE, s, ['sync'], { timeoutMs: 15_000 });
    assert.equal(r.code, 74, r.stderr);
    assert.ok(r.ms < 8_000, `${r.ms} ms`);
    assert.match(lines(r.stderr).at(-1)!, /^pos-sync: the state file \S+ is a FIFO, not a regular file — /);
    const h = await posSync(SERVICE, s, ['health'], { timeoutMs: 15_000 });
    assert.ok(h.ms < 10_000, `${h.ms} ms`);
    assert.match(h.stdout, /is a FIFO, not a regular file/);
  });
});

describe('causes named as they are', () => {
  test('a read-only mount: sync says "read-only file system" with its fix; status still reads the WAL database, creating nothing', async () => {
    const s = posStore();
    assert.equal((await posSync(SERVICE, s, ['sync'])).code, 0);
    const mount = `mount --bind ${s.folder} ${s.folder} && mount -o remount,bind,ro ${s.folder}`;
    const r = await posSync(SERVICE, s, ['sync'], { mountScript: mount });
    assert.equal(r.code, 74, r.stderr);
    assert.match(lines(r.stderr).at(-1)!, /^pos-sync: read-only file system: the database \S+ is on a file system mounted read-only — remount it read-write/);
    const status = await posSync(LEAD, s, ['--json', 'status'], { mountScript: mount });
    assert.equal(JSON.parse(status.stdout).database?.path ?? s.db, s.db, status.stderr);
    assert.notEqual(status.code, 74, status.stderr);
    const health = await posSync(LEAD, s, ['health'], { mountScript: mount });
    assert.match(health.stdout, /OK +database: quick_check ok/, health.stdout);
    assert.equal(spawnSync('findmnt', ['-n', s.folder]).stdout.length, 0, 'no mount left behind');
  });
});

describe('causes named as they are: a full disk', () => {
  test('a full file system (a tmpfs filled up, inside unshare -m): "no space left on the device" with its fix, nothing marked', async () => {
    const s = posStore();
    const saved = path.join(s.base, 'saved.db');
    fs.copyFileSync(s.db, saved);
    const fill = [
      `mount -t tmpfs -o size=1m,mode=2775,gid=${POS_GROUP} tmpfs ${s.folder}`,
      `cp -p ${saved} ${s.db}`,
      `(dd if=/dev/zero of=${s.folder}/filler bs=1k 2>/dev/null; true)`,
    ].join(' && ');
    const r = await posSync(SERVICE, s, ['sync'], { mountScript: fill });
    assert.equal(r.code, 74, r.stderr);
    // SQLite says "disk I/O error" here (the -shm cannot grow): the statfs of the folder names the cause.
    assert.match(lines(r.stderr).at(-1)!, /^pos-sync: no space left on the device of the database \S+: cannot use the database \(disk I\/O error\) — free some space/);
    assert.doesNotMatch(r.stderr, /disk failed/);
    assert.equal(spawnSync('findmnt', ['-n', s.folder]).stdout.length, 0, 'no mount left behind');
    assert.ok(pendingIds(s.db).length > 0, 'the database outside the namespace is untouched');
  });
});

describe('one state file per database', () => {
  test('two databases in one folder get two state files; a symlink to one reaches its own; neither is confused with the other', async () => {
    const s = posStore();
    const second = path.join(s.folder, 'till2.db');
    fs.copyFileSync(s.db, second);
    fs.chownSync(second, POSAPP.uid, POS_GROUP);
    fs.chmodSync(second, 0o664);
    const link = path.join(s.base, 'link.db');
    fs.symlinkSync(s.db, link);
    const till2: Store = { ...s, db: second, state: `${second}.pos-sync.state.json`, lock: `${second}.pos-sync.lock` };
    const viaLink: Store = { ...s, db: link };
    assert.equal((await posSync(SERVICE, s, ['sync'])).code, 0);
    central.setFaults({ failRate: 1, failStatus: 503 });
    try {
      assert.equal((await posSync(SERVICE, till2, ['sync', '--max-run-seconds', '3'])).code, 75);
    } finally {
      central.setFaults({ failRate: 0 });
    }
    assert.ok(fs.existsSync(s.state) && fs.existsSync(till2.state));
    const first = JSON.parse(fs.readFileSync(s.state, 'utf8')) as { database: string; lastPass: { exitCode: number } };
    const other = JSON.parse(fs.readFileSync(till2.state, 'utf8')) as { database: string; lastPass: { exitCode: number } };
    assert.deepEqual([first.database, first.lastPass.exitCode], [s.db, 0]);
    assert.deepEqual([other.database, other.lastPass.exitCode], [second, 75]);
    const status = await posSync(LEAD, viaLink, ['--json', 'status']);
    const doc = JSON.parse(status.stdout) as { sources: { stateFile: string }; lastPass: { exitCode: number } };
    assert.equal(doc.sources.stateFile, s.state, 'the link reaches the same state file');
    assert.equal(doc.lastPass.exitCode, 0, "till 2's trouble is not this till's");
  });
});
