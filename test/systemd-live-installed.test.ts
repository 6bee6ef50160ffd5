// The product as a store installs it, under a live systemd: a Debian 12 container
// (test/systemd/container.ts), the package installed with `apt-get install ./pos-sync.deb`, set up
// with /usr/lib/pos-sync/install.sh, beside a POS application running as its own user (posapp,
// group pos), and then used by a shift lead (lead, in group pos), by root and by an outsider
// (outsider, in no group of pos-sync's), while the service ticks. Every command runs from the
// installed package, never from the checkout; the checkout only seeds the databases and runs the
// reference central on 127.0.0.1 (the container shares the host's network).
//
// - the package's files: everything the commands load (health's worker included); its version is
//   pos-sync --version's;
// - install.sh refuses a missing database folder and an invalid configuration before installing
//   or enabling anything; it writes Sync.TillId; --till gets its own token file, the shared one
//   untouched; a plain `pos-sync status` reads /etc/pos-sync/appsettings.json;
// - the POS writer (busy timeout 5 s, a sale every 100 ms) in WAL mode on one till and in
//   rollback-journal mode on another, while the timers tick and the three users run status, health,
//   sync, reconcile and config: no failed insert, every sale delivered once, no companion file
//   (-wal, -shm, -journal) posapp cannot write, the state file still the service's;
// - every command runs from the package (sync, seed, status, health, cleanup, requeue, reconcile,
//   config); health exits 0 on the healthy till;
// - two databases in one folder with two instances (pos-sync@a, pos-sync@b): both delivered, each
//   with its own state file;
// - apt remove and a reinstall: the timers come back; a timer stopped: status and health say no
//   pass runs (Sync.Health.NoPassSeconds).
//
// Needs root, systemd-nspawn and debootstrap; elsewhere it skips saying why; under CI it must run.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { runtimeFiles } from '../examples/debian/runtime-files.js';
import { BIN, cleanEnv } from './helpers/cli.js';
import { allIds, pendingIds } from './helpers/db.js';
import { REPO_ROOT, removeDir } from './helpers/tmp.js';
import { boot, hostSide, missingForContainer, sleep, type Container, type Ran } from './systemd/container.js';

const run = promisify(execFile);
const TOKEN = 'installed-till-token-5e0a1b';
const WINDOW_MS = 80_000;
const USERS = ['lead', 'root', 'outsider'] as const;
const COMMANDS = ['status', 'health', 'sync', 'reconcile', 'config'] as const;

const why = process.env['POS_SYNC_SYSTEMD_LIVE'] === 'separately' ? 'run on its own after the suite (.ci/run)' : missingForContainer();
if (why !== null && process.env['CI'] === 'true' && process.env['POS_SYNC_SYSTEMD_LIVE'] !== 'separately') throw new Error(`systemd-live-installed: cannot run under CI: ${why}`);

interface Writer {
  inserted: number;
  ids: string[];
  failed: number;
  errors: string[];
  longestWaitMs: number;
  startMode?: string;
  endMode?: string;
}

interface Observed {
  packageFiles: string[];
  runtimeFiles: string[];
  version: { cli: string; pkg: string; json: string };
  refusedMissing: Ran & { config: boolean; timer: string };
  refusedInvalid: Ran & { config: boolean; timer: string };
  tillIds: { main: unknown; journal: unknown; hostname: string };
  sharedToken: { before: string; after: string };
  journalToken: string;
  plainStatus: Ran;
  writers: Record<'wal' | 'journal', Writer>;
  usersRan: { user: string; command: string; till: string; code: number; first: string; err: string }[];
  pending: Record<'wal' | 'journal', string[]>;
  allIds: Record<'wal' | 'journal', string[]>;
  duplicates: string[];
  received: Set<string>;
  notWritable: string;
  state: Record<'wal' | 'journal', { owner: string; lastPassAgeMs: number; breaker: string; lastExit: number }>;
  commands: Record<string, Ran>;
  healthAsService: Ran;
  shared: { stateFiles: string[]; pending: Record<'a' | 'b', number>; failures: string };
  reinstall: { enabled: string; active: string; passAfter: boolean };
  stopped: { status: Ran; health: Ran };
}

describe('the installed product: the package, install.sh, a POS writer and three users (Debian 12, systemd-nspawn)', { skip: why ?? false }, () => {
  let host = '';
  let box: Container | undefined;
  let central: RunningCentral | undefined;
  const seen = {} as Observed;

  async function hostCli(args: string[]): Promise<void> {
    await run(process.execPath, [BIN, ...args], { env: cleanEnv(), cwd: host });
  }
  function config(db: string, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      Database: { ConnectionString: `Data Source=${db}` },
      Sync: {
        StoreId: 'STORE001',
        CentralApiEndpoint: `http://127.0.0.1:${central!.port}/api/inventory/events`,
        HealthCheckEndpoint: `http://127.0.0.1:${central!.port}/health`,
        MaxRetryAttempts: 1,
        HttpTimeoutSeconds: 2,
        Health: { OldestPendingWarningSeconds: 86_400, OldestPendingCriticalSeconds: 172_800 },
        ...extra,
      },
    }, null, 2);
  }

  before(async () => {
    const side = await hostSide('systemd-installed', ['store', 'journal', 'shared']);
    host = side.host;
    const { rootfs, inDir, pos } = side;
    central = await startCentral({ dbPath: path.join(host, 'central.db'), faults: { requireToken: TOKEN } });

    // The POS databases with sales waiting; the journal till's in rollback-journal mode.
    await hostCli(['--db', path.join(pos, 'store', 'POS_Local.db'), 'seed', '--transactions', '20']);
    await hostCli(['--db', path.join(pos, 'journal', 'POS_Local.db'), 'seed', '--transactions', '10', '--random-seed', '21']);
    await hostCli(['--db', path.join(pos, 'shared', 'A.db'), 'seed', '--transactions', '12', '--random-seed', '22']);
    await hostCli(['--db', path.join(pos, 'shared', 'B.db'), 'seed', '--transactions', '14', '--random-seed', '23']);
    for (const [db, mode] of [['store/POS_Local.db', 'WAL'], ['journal/POS_Local.db', 'DELETE'], ['shared/A.db', 'WAL'], ['shared/B.db', 'WAL']] as const) {
      const conn = new Sqlite(path.join(pos, db));
      conn.pragma(`journal_mode = ${mode}`);
      conn.close();
    }
    fs.writeFileSync(path.join(inDir, 'store.json'), config('/var/lib/pos/store/POS_Local.db'));
    fs.writeFileSync(path.join(inDir, 'journal.json'), config('/var/lib/pos/journal/POS_Local.db'));
    fs.writeFileSync(path.join(inDir, 'a.json'), config('/var/lib/pos/shared/A.db'));
    fs.writeFileSync(path.join(inDir, 'b.json'), config('/var/lib/pos/shared/B.db'));
    fs.writeFileSync(path.join(inDir, 'missing.json'), config('/var/lib/pos/nowhere/POS_Local.db'));
    fs.writeFileSync(path.join(inDir, 'invalid.json'), config('/var/lib/pos/store/POS_Local.db', { BatchSize: 'lots' }));
    fs.writeFileSync(path.join(inDir, 'api-token'), `${TOKEN}\n`);

    box = await boot(rootfs, [`--bind=${pos}:/var/lib/pos`, `--bind-ro=${inDir}:/mnt/in`, `--bind-ro=${REPO_ROOT}`], path.join(host, 'console.log'));
    const sh = box.sh;

    // The package as a technician installs it.
    await sh('DEBIAN_FRONTEND=noninteractive apt-get install -y -q /mnt/in/pos-sync.deb');
    seen.packageFiles = (await sh('dpkg -L pos-sync')).out.split('\n').filter(Boolean);
    seen.runtimeFiles = (await runtimeFiles()).files;
    seen.version = {
      cli: (await sh('pos-sync --version')).out.trim(),
      pkg: (await sh("dpkg-query -W -f '${Version}' pos-sync")).out.trim(),
      json: (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    };

    // The POS application's user and folders (setgid, group pos), the shift lead, an outsider.
    await sh('useradd --system -g pos -M -s /usr/sbin/nologin posapp && useradd -m -G pos lead && useradd -m outsider');
    await sh('chown root:pos /var/lib/pos /var/lib/pos/store /var/lib/pos/journal /var/lib/pos/shared && chmod 2775 /var/lib/pos /var/lib/pos/store /var/lib/pos/journal /var/lib/pos/shared');
    await sh('for f in /var/lib/pos/*/*; do chown posapp:pos "$f"; chmod 0664 "$f"; done');

    // install.sh refuses, before installing or enabling anything.
    const refused = async (args: string, file: string, timer: string): Promise<Ran & { config: boolean; timer: string }> => {
      const r = await sh(`/usr/lib/pos-sync/install.sh ${args}`, { allowFail: true });
      return {
        ...r,
        config: (await sh(`test -e ${file}`, { allowFail: true })).code === 0,
        timer: (await sh(`systemctl is-enabled ${timer}`, { allowFail: true })).out.trim(),
      };
    };
    seen.refusedMissing = await refused('/mnt/in/missing.json /mnt/in/api-token', '/etc/pos-sync/appsettings.json', 'pos-sync.timer');
    seen.refusedInvalid = await refused('--till invalid /mnt/in/invalid.json /mnt/in/api-token', '/etc/pos-sync/invalid.json', 'pos-sync@invalid.timer');

    await sh('/usr/lib/pos-sync/install.sh /mnt/in/store.json /mnt/in/api-token');
    const tokenStamp = "stat -c '%i %Y %s' /etc/pos-sync/api-token";
    const before = (await sh(tokenStamp)).out.trim();
    await sh('sleep 1.1; /usr/lib/pos-sync/install.sh --till journal /mnt/in/journal.json /mnt/in/api-token');
    await sh('/usr/lib/pos-sync/install.sh --till a /mnt/in/a.json /mnt/in/api-token');
    await sh('/usr/lib/pos-sync/install.sh --till b /mnt/in/b.json /mnt/in/api-token');
    seen.sharedToken = { before, after: (await sh(tokenStamp)).out.trim() };
    seen.journalToken = (await sh("stat -c '%U %a' /etc/pos-sync/journal.api-token", { allowFail: true })).out.trim();
    const tillIdOf = async (file: string): Promise<unknown> => (JSON.parse((await sh(`cat ${file}`)).out) as { Sync: { TillId?: unknown } }).Sync.TillId;
    seen.tillIds = { main: await tillIdOf('/etc/pos-sync/appsettings.json'), journal: await tillIdOf('/etc/pos-sync/journal.json'), hostname: (await sh('hostname')).out.trim() };
    seen.plainStatus = await sh('pos-sync status', { allowFail: true, as: 'lead' });

    // The timers' first passes (OnBootSec=30s): before them "no pass has run yet" is the truth.
    const firstBy = Date.now() + 60_000;
    while ((await sh('test -e /var/lib/pos/store/POS_Local.db.pos-sync.state.json -a -e /var/lib/pos/journal/POS_Local.db.pos-sync.state.json', { allowFail: true })).code !== 0 && Date.now() < firstBy) await sleep(500);

    // The POS writers, as posapp (umask 002: the group shares what it creates), by the package's Node.
    const writer = (db: string, mode: string, seed: number): Promise<Ran> =>
      box!.start(`umask 002; exec /usr/lib/pos-sync/node ${REPO_ROOT}/dist/test/systemd/pos-app.js --pos-app ${db} ${mode} ${WINDOW_MS} ${seed}`, { as: 'posapp' });
    const walWriter = writer('/var/lib/pos/store/POS_Local.db', 'wal', 31);
    const journalWriter = writer('/var/lib/pos/journal/POS_Local.db', 'delete', 32);
    const windowEnd = Date.now() + WINDOW_MS;

    // Meanwhile the three users run the commands, plainly (the system-wide config) and for the journal till.
    seen.usersRan = [];
    while (Date.now() < windowEnd - 15_000) {
      for (const user of USERS) {
        for (const command of COMMANDS) {
          for (const [till, flags] of [['main', ''], ['journal', '--config /etc/pos-sync/journal.json ']] as const) {
            const r = await sh(`pos-sync ${flags}${command}`, { allowFail: true, ...(user === 'root' ? {} : { as: user }) });
            const firstOf = (text: string): string => text.split('\n').find((l) => l.trim() !== '') ?? '';
            seen.usersRan.push({ user, command, till, code: r.code, first: firstOf(r.out), err: firstOf(r.stderr) });
          }
        }
      }
    }
    // Every command from the package: seed on a scratch database, cleanup by its unit, requeue as the service user.
    seen.commands = {
      seed: await sh('pos-sync --db /tmp/scratch.db seed --transactions 3', { allowFail: true }),
      cleanup: await sh('systemctl start pos-sync-cleanup.service && systemctl show -P ExecMainStatus pos-sync-cleanup.service', { allowFail: true }),
      requeue: await sh('pos-sync requeue --all', { allowFail: true, as: 'pos-sync' }),
    };
    const [w1, w2] = await Promise.all([walWriter, journalWriter]);
    const parse = (r: Ran): Writer => {
      try {
        return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Writer;
      } catch {
        return { inserted: 0, ids: [], failed: -1, errors: [`no summary: ${r.code} ${r.out}`], longestWaitMs: 0 };
      }
    };
    seen.writers = { wal: parse(w1), journal: parse(w2) };

    // The last sales arrive within a few passes.
    const dbs = { wal: path.join(pos, 'store', 'POS_Local.db'), journal: path.join(pos, 'journal', 'POS_Local.db') };
    const drainBy = Date.now() + 60_000;
    while ((pendingIds(dbs.wal).length > 0 || pendingIds(dbs.journal).length > 0) && Date.now() < drainBy) await sleep(1000);
    seen.pending = { wal: pendingIds(dbs.wal), journal: pendingIds(dbs.journal) };
    seen.allIds = { wal: allIds(dbs.wal), journal: allIds(dbs.journal) };
    seen.received = new Set(central.receivedIds());
    seen.duplicates = central.duplicateIds();
    // Every file beside the databases posapp cannot both read and write. The timer's pass may end
    // between the glob and the check, and SQLite then deletes its -wal/-shm: a file gone by the
    // time it is looked at is not one posapp cannot write (stat's own refusal is the proof).
    seen.notWritable = (await sh(
      'for f in /var/lib/pos/store/* /var/lib/pos/journal/*; do case "$f" in *.db|*.db-wal|*.db-shm|*.db-journal) setpriv --reuid=posapp --regid=pos --init-groups test -r "$f" -a -w "$f" || stat -c "%n %U:%G %a" "$f" 2>/dev/null;; esac; done; true',
    )).out.trim();
    // The state file beside the database, named from it (one per database).
    const stateOf = async (db: string): Promise<Observed['state']['wal']> => {
      const owner = (await sh(`stat -c %U ${db}.pos-sync.state.json`, { allowFail: true })).out.trim();
      const doc = JSON.parse((await sh(`cat ${db}.pos-sync.state.json`)).out) as { lastPass: { at: string; exitCode: number } | null; breaker: { state: string } };
      return { owner, lastPassAgeMs: Date.now() - Date.parse(doc.lastPass?.at ?? '1970-01-01T00:00:00Z'), breaker: doc.breaker.state, lastExit: doc.lastPass?.exitCode ?? -1 };
    };
    seen.state = { wal: await stateOf('/var/lib/pos/store/POS_Local.db'), journal: await stateOf('/var/lib/pos/journal/POS_Local.db') };
    seen.healthAsService = await sh('pos-sync health', { allowFail: true, as: 'pos-sync' });

    // Two databases in one folder.
    seen.shared = {
      stateFiles: (await sh('ls /var/lib/pos/shared')).out.split('\n').filter((f) => /state/.test(f) && !/corrupt|tmp/.test(f)),
      pending: { a: pendingIds(path.join(pos, 'shared', 'A.db')).length, b: pendingIds(path.join(pos, 'shared', 'B.db')).length },
      failures: (await sh('journalctl -o cat --no-pager -p err SYSLOG_IDENTIFIER=pos-sync _SYSTEMD_UNIT=pos-sync@a.service _SYSTEMD_UNIT=pos-sync@b.service', { allowFail: true })).out.trim(),
    };

    // apt remove and reinstall: the timers that ran come back.
    await sh('DEBIAN_FRONTEND=noninteractive apt-get remove -y -q pos-sync');
    await sh('DEBIAN_FRONTEND=noninteractive apt-get install -y -q /mnt/in/pos-sync.deb');
    const since = (await sh("date '+%Y-%m-%d %H:%M:%S'")).out.trim();
    await sleep(12_000);
    seen.reinstall = {
      enabled: (await sh('systemctl is-enabled pos-sync.timer pos-sync@journal.timer', { allowFail: true })).out.trim(),
      active: (await sh('systemctl is-active pos-sync.timer pos-sync@journal.timer', { allowFail: true })).out.trim(),
      passAfter: (await sh(`journalctl --no-pager -q -u pos-sync.service --since '${since}' | grep -c 'Starting\\|Started\\|Finished' || true`)).out.trim() !== '0',
    };

    // A timer stopped: after Sync.Health.NoPassSeconds (15 s here) status and health say so.
    await sh('systemctl disable --now pos-sync.timer');
    await sleep(17_000);
    seen.stopped = {
      status: await sh('Sync__Health__NoPassSeconds=15 pos-sync status', { allowFail: true }),
      health: await sh('Sync__Health__NoPassSeconds=15 pos-sync health', { allowFail: true, as: 'pos-sync' }),
    };
  });

  after(async () => {
    await box?.stop();
    await central?.close();
    removeDir(host);
  });

  test('the package holds every file the commands load (health\'s worker too); its version is pos-sync --version\'s and package.json\'s', () => {
    for (const f of seen.runtimeFiles) assert.ok(seen.packageFiles.includes(`/usr/lib/pos-sync/${f}`), `${f} is not in the package`);
    assert.ok(seen.packageFiles.includes('/usr/lib/pos-sync/dist/src/store/inspect.js'));
    assert.ok(seen.packageFiles.includes('/usr/share/doc/pos-sync/examples/appsettings.json'));
    assert.equal(seen.version.cli, seen.version.pkg);
    assert.equal(seen.version.cli, seen.version.json);
  });

  test('install.sh refuses a missing database folder and an invalid configuration before installing or enabling anything', () => {
    assert.notEqual(seen.refusedMissing.code, 0);
    assert.match(seen.refusedMissing.out, /database folder \/var\/lib\/pos\/nowhere does not exist/);
    assert.equal(seen.refusedMissing.config, false);
    assert.notEqual(seen.refusedMissing.timer, 'enabled');
    assert.notEqual(seen.refusedInvalid.code, 0);
    assert.match(seen.refusedInvalid.out, /^pos-sync: Sync\.BatchSize = "lots"/m);
    assert.equal(seen.refusedInvalid.config, false);
    assert.notEqual(seen.refusedInvalid.timer, 'enabled');
  });

  test('install.sh writes Sync.TillId (the --till name, else the host name); --till gets its own token, the shared one untouched; a plain status reads /etc/pos-sync/appsettings.json', () => {
    assert.equal(seen.tillIds.main, seen.tillIds.hostname);
    assert.equal(seen.tillIds.journal, 'journal');
    assert.equal(seen.sharedToken.after, seen.sharedToken.before);
    assert.equal(seen.journalToken, 'root 600');
    assert.match(seen.plainStatus.out, /^config file +\/etc\/pos-sync\/appsettings\.json$/m);
    assert.match(seen.plainStatus.out, /^database +\/var\/lib\/pos\/store\/POS_Local\.db/m);
  });

  test('the POS writer in WAL and in rollback-journal mode: no failed insert while the service ticked and three users ran the commands', (t) => {
    for (const mode of ['wal', 'journal'] as const) {
      const w = seen.writers[mode];
      t.diagnostic(`${mode}: ${w.inserted} sales, longest wait ${w.longestWaitMs} ms, journal mode ${w.startMode} → ${w.endMode}`);
      assert.ok(w.inserted > 300, `${mode}: ${w.inserted} inserted`);
      assert.equal(w.failed, 0, `${mode}: ${w.errors.join('; ')}`);
    }
    t.diagnostic(`${seen.usersRan.length} commands run by ${USERS.join(', ')}`);
    assert.ok(seen.usersRan.length >= USERS.length * COMMANDS.length * 2);
  });

  test('every sale delivered once', () => {
    for (const mode of ['wal', 'journal'] as const) {
      assert.deepEqual(seen.pending[mode], [], mode);
      assert.deepEqual(seen.allIds[mode].filter((id) => !seen.received.has(id)), [], `${mode}: marked synced, not at the central`);
      assert.deepEqual(seen.writers[mode].ids.filter((id) => !seen.received.has(id)), [], `${mode}: sales the central never got`);
    }
    assert.deepEqual(seen.duplicates, []);
  });

  test('no database or companion file (-wal, -shm, -journal) posapp cannot read and write; the state file is still the service\'s', () => {
    assert.equal(seen.notWritable, '');
    for (const mode of ['wal', 'journal'] as const) {
      const s = seen.state[mode];
      assert.equal(s.owner, 'pos-sync', `${mode}: state file owned by ${s.owner}`);
      assert.equal(s.breaker, 'closed', mode);
      assert.ok(s.lastPassAgeMs < 120_000, `${mode}: last pass ${s.lastPassAgeMs} ms ago`);
      assert.ok([0, 75].includes(s.lastExit), `${mode}: last pass exit ${s.lastExit}`);
    }
  });

  test('the commands a shift lead and root run answer; an outsider is told permission denied, never a wrong verdict', () => {
    // Every answer that breaks the rule, listed at once (a row per distinct answer).
    const wrong = new Set<string>();
    for (const r of seen.usersRan) {
      const line = `${r.user} ${r.command} (${r.till}): exit ${r.code}: ${r.first}${r.err !== '' && r.err !== r.first ? ` | ${r.err}` : ''}`;
      if (r.user === 'outsider') {
        if (!/permission denied: \/etc\/pos-sync\/(appsettings|journal)\.json/.test(r.first)) wrong.add(line);
      } else if (r.command === 'status' || r.command === 'health') {
        // The till is healthy: OK, or DEGRADED for a moment (a pass failing on a lock); never NOT SYNCING / CRITICAL.
        if (![0, 1].includes(r.code)) wrong.add(line);
      } else if (r.command === 'config') {
        if (r.code !== 0) wrong.add(line);
      } else if (r.command === 'reconcile' && r.code === 65) {
        // A mismatch found is an answer. (Several tills of one store: the central's summary is the
        // store's, so each till's own comparison differs; the reconcile's business, not this test's.)
      } else if (r.code !== 0 && r.code !== 75) {
        // sync and reconcile: done (or 75: the service's pass held the lock), or — a shift lead,
        // who may not read the till's token — refused before anything is sent or recorded, with
        // the command to type. Never a tokenless request the central refuses (77 from the central).
        const refused = r.user === 'lead' && r.code === 77 && /^pos-sync: permission denied: \/etc\/pos-sync\/(api-token|journal\.api-token), the till's API token; nothing was sent — run it as root: sudo pos-sync /.test(r.err);
        if (!refused) wrong.add(line);
      }
    }
    assert.deepEqual([...wrong], []);
  });

  test('every command runs from the package: seed, cleanup, requeue (sync, status, health, reconcile, config above); health exits 0 on the healthy till', () => {
    assert.equal(seen.commands['seed']!.code, 0, seen.commands['seed']!.out);
    assert.equal(seen.commands['cleanup']!.out.trim(), '0', seen.commands['cleanup']!.out);
    assert.equal(seen.commands['requeue']!.code, 0, seen.commands['requeue']!.out);
    assert.equal(seen.healthAsService.code, 0, seen.healthAsService.out);
    assert.match(seen.healthAsService.out, /^POS-SYNC OK/);
  });

  test('two databases in one folder, two instances: both delivered, each with its own state file', () => {
    assert.equal(seen.shared.pending.a, 0);
    assert.equal(seen.shared.pending.b, 0);
    assert.equal(seen.shared.failures, '');
    assert.ok(seen.shared.stateFiles.length >= 2, `state files in the shared folder: ${seen.shared.stateFiles.join(' ')}`);
  });

  test('apt remove and a reinstall: the timers come back and passes run', () => {
    assert.equal(seen.reinstall.enabled, 'enabled\nenabled');
    assert.equal(seen.reinstall.active, 'active\nactive');
    assert.ok(seen.reinstall.passAfter, 'a pass ran after the reinstall');
  });

  test('a stopped timer: status NOT SYNCING and health CRITICAL, naming the timer to enable', () => {
    assert.equal(seen.stopped.status.code, 2, seen.stopped.status.out);
    assert.match(seen.stopped.status.out, /^NOT SYNCING — no pass since /);
    assert.match(seen.stopped.status.out, /systemctl enable --now pos-sync\.timer/);
    assert.equal(seen.stopped.health.code, 2, seen.stopped.health.out);
    assert.match(seen.stopped.health.out, /^POS-SYNC CRITICAL - last pass: no pass since .*systemctl enable --now pos-sync\.timer/);
  });
});
