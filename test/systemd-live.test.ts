// The units under a live systemd, the way a store runs them: a Debian 12 root file system
// (test/systemd/rootfs.sh: debootstrap from the machine's Debian mirror, cached outside the clone)
// booted with `systemd-nspawn --boot` (an ephemeral copy, the host's network), the Debian package
// (`npm run package`) installed with dpkg, and README's install script run as it stands. The
// reference central and a POS writer run on the host; the POS databases live in a host folder
// bound to /var/lib/pos. Over about two minutes, with several checks running at once in one boot:
//
// - pos-sync.timer starts a pass every 10 s (mean interval ≤ 10.5 s) and the sales the writer
//   inserts meanwhile arrive at the central;
// - the unit never fails on this healthy machine, before and after node_exporter's folder exists;
// - the central stopped: the unit stays successful (exit 75) while the breaker opens, and the rows
//   arrive once the central is back; `journalctl -p warning` shows the breaker, `-p err` only errors;
// - the token reaches pos-sync only through LoadCredential;
// - a bad configuration (78) and a refused token (77) fail the unit, and `journalctl -p err`
//   shows pos-sync's line;
// - the cleanup timer's service runs;
// - two template instances (pos-sync@till1, pos-sync@till2) run side by side on two databases,
//   each with its own state file; till1 with the metrics drop-in writes its .prom file;
// - `systemctl stop` mid-pass ends the pass within a few seconds: exit 0, not killed, state saved,
//   nothing marked that the central lacks;
// - dpkg --purge stops and removes it all but the POS group and databases.
//
// Needs root, systemd-nspawn (systemd-container) and debootstrap. Elsewhere it skips saying why;
// under CI (.ci/run installs them) it must run.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { BIN, cleanEnv } from './helpers/cli.js';
import { allIds, pendingIds } from './helpers/db.js';
import { REPO_ROOT, removeDir } from './helpers/tmp.js';
import { boot, hostSide, missingForContainer, sleep, type Container } from './systemd/container.js';

const run = promisify(execFile);
/** pos-sync.service's state file: beside the database, named from it (one per database). */
const MAIN_STATE = '/var/lib/pos/main/POS_Local.db.pos-sync.state.json';
const TOKEN = 'live-systemd-token-6f1d2c';

// .ci/run runs this file on its own after the suite (POS_SYNC_SYSTEMD_LIVE=separately while the
// suite runs): two minutes of a booted container beside timing-sensitive tests would slow both.
const why = process.env['POS_SYNC_SYSTEMD_LIVE'] === 'separately' ? 'run on its own after the suite (.ci/run)' : missingForContainer();
if (why !== null && process.env['CI'] === 'true' && process.env['POS_SYNC_SYSTEMD_LIVE'] !== 'separately') throw new Error(`systemd-live: cannot run under CI: ${why}`);

interface Observed {
  passStarts: number[];
  windowMs: number;
  mainFailures: string[];
  /** The unit's journal lines that say why it failed, if it did (whyFailed). */
  mainErrLines: string;
  mainStatuses: Set<number>;
  breakerOpenSeen: boolean;
  warningLines: string[];
  errLinesDuringOutage: string[];
  writerInserted: number;
  mainIds: string[];
  mainPending: string[];
  received: Set<string>;
  tokenFileReadableByService: boolean;
  tokenElsewhere: string;
  environment: string;
  badConfig: { status: string; failed: string; err: string; info: string };
  wrongToken: { status: string; failed: string; err: string };
  cleanup: { result: string; status: string; timer: string };
  tills: { name: string; ids: string[]; pending: string[]; stateFile: boolean; starts: number; failures: string[] }[];
  metricsFile: string;
  mainMetricsFiles: string;
  stop: { tookMs: number; result: string; status: string; code: string; log: string; why: string; marked: string[]; pending: number; stateAfterStop: boolean };
  purge: { code: number; out: string; units: string; user: boolean; group: boolean; files: string; databases: boolean };
}

describe('the units under a live systemd (Debian 12, systemd-nspawn)', { skip: why ?? false }, () => {
  let host = '';
  let box: Container | undefined;
  let central: RunningCentral | undefined;
  let port = 0;
  let centralDb = '';
  const seen = {} as Observed;

  /** A shell command inside the container, as root. */
  const inside = (command: string, options: { allowFail?: boolean } = {}): Promise<{ code: number; out: string }> => box!.sh(command, options);
  const show = async (unit: string, property: string): Promise<string> => (await inside(`systemctl show -P ${property} ${unit}`)).out.trim();

  /** `pos-sync` on the host (this checkout), for seeding databases. */
  async function hostCli(args: string[]): Promise<void> {
    await run(process.execPath, [BIN, ...args], { env: cleanEnv(), cwd: host });
  }

  function config(db: string, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      Database: { ConnectionString: `Data Source=${db}` },
      Sync: {
        StoreId: 'STORE001',
        CentralApiEndpoint: `http://127.0.0.1:${port}/api/inventory/events`,
        HealthCheckEndpoint: `http://127.0.0.1:${port}/health`,
        MaxRetryAttempts: 1,
        HttpTimeoutSeconds: 2,
        CircuitBreaker: { FailureThreshold: 2, BreakSeconds: 5, MaxBreakSeconds: 10 },
        ...extra,
      },
    }, null, 2);
  }

  /** Start times (ms) of a unit's activations, from PID 1's "Starting …" journal entries. */
  async function starts(unit: string): Promise<number[]> {
    const out = (await inside(`journalctl -o json --no-pager _PID=1 UNIT=${unit} MESSAGE_ID=7d4958e842da4a758f6c1cdc7b36dcc5`, { allowFail: true })).out;
    return out.split('\n').filter((l) => l.startsWith('{')).map((l) => Number((JSON.parse(l) as { __MONOTONIC_TIMESTAMP: string }).__MONOTONIC_TIMESTAMP) / 1000);
  }
  async function failures(unit: string): Promise<string[]> {
    const out = (await inside(`journalctl -o cat --no-pager _PID=1 UNIT=${unit}`, { allowFail: true })).out;
    // systemd's own "Failed to kill control group …, ignoring" (a container's cgroups, seen when two
    // containers run side by side) says nothing about the unit: only the unit's failures count.
    return out.split('\n').filter((l) => /Failed with result|failed/i.test(l) && !/Failed to kill control group .*, ignoring/.test(l));
  }

  /**
   * The unit's journal lines that say why a pass failed, from every writer (PID 1's exit statuses,
   * the service's set-up in its own process, pos-sync's lines): a failed assertion shows them.
   */
  async function whyFailed(unit: string): Promise<string> {
    const out = (await inside(`journalctl -o short-monotonic --no-pager -u ${unit}`, { allowFail: true })).out;
    return out.split('\n').filter((l) => /exited|fail|error|denied|refus|"level":"(warn|error)"/i.test(l)).slice(-40).join('\n');
  }

  before(async () => {
    // The root file system (built once, cached) and the package, fresh from this checkout.
    const side = await hostSide('systemd-live', ['main', 'till1', 'till2']);
    host = side.host;
    const { rootfs, inDir, pos } = side;

    centralDb = path.join(host, 'central.db');
    central = await startCentral({ dbPath: centralDb, faults: { requireToken: TOKEN } });
    port = central.port;

    // The POS databases with sales waiting, as the POS application leaves them.
    await hostCli(['--db', path.join(pos, 'main', 'POS_Local.db'), 'seed', '--transactions', '20']);
    await hostCli(['--db', path.join(pos, 'till1', 'POS_Local.db'), 'seed', '--transactions', '15', '--random-seed', '11']);
    await hostCli(['--db', path.join(pos, 'till2', 'POS_Local.db'), 'seed', '--transactions', '25', '--random-seed', '12']);
    fs.writeFileSync(path.join(inDir, 'appsettings.json'), config('/var/lib/pos/main/POS_Local.db'));
    fs.writeFileSync(path.join(inDir, 'till1.json'), config('/var/lib/pos/till1/POS_Local.db'));
    fs.writeFileSync(path.join(inDir, 'till2.json'), config('/var/lib/pos/till2/POS_Local.db'));
    fs.writeFileSync(path.join(inDir, 'bad.json'), config('/var/lib/pos/till2/POS_Local.db', { BatchSize: 'lots' }));
    fs.writeFileSync(path.join(inDir, 'api-token'), `${TOKEN}\n`);

    // Boot (the host's network: the central on 127.0.0.1 is reachable from inside).
    box = await boot(rootfs, [`--bind=${pos}:/var/lib/pos`, `--bind-ro=${inDir}:/mnt/in`], path.join(host, 'console.log'));

    // Install as a store does: the package, then README's install script.
    await inside('DEBIAN_FRONTEND=noninteractive dpkg -i /mnt/in/pos-sync.deb');
    const gid = Number((await inside('getent group pos | cut -d: -f3')).out.trim());
    // The POS application's folders and databases belong to its group "pos" (setgid folders, so
    // the writer's -wal/-shm files do too).
    for (const d of ['main', 'till1', 'till2']) {
      fs.chownSync(path.join(pos, d), 0, gid);
      fs.chmodSync(path.join(pos, d), 0o2775);
      for (const f of fs.readdirSync(path.join(pos, d))) {
        fs.chownSync(path.join(pos, d, f), 0, gid);
        fs.chmodSync(path.join(pos, d, f), 0o664);
      }
    }
    fs.chownSync(pos, 0, gid);
    fs.chmodSync(pos, 0o2775);
    await inside('/usr/lib/pos-sync/install.sh /mnt/in/appsettings.json /mnt/in/api-token');
    const timerAt = Date.now();

    // While pos-sync.timer waits for its first tick (OnBootSec=30s): the checks that need no timer.
    // A bad configuration: exit 78, the unit failed, pos-sync's line at priority err.
    await inside('install -m 0640 -g pos /mnt/in/bad.json /etc/pos-sync/bad.json && install -m 0600 /mnt/in/api-token /etc/pos-sync/bad.api-token');
    await inside('systemctl start pos-sync@bad.service', { allowFail: true });
    seen.badConfig = {
      status: await show('pos-sync@bad.service', 'ExecMainStatus'),
      failed: (await inside('systemctl is-failed pos-sync@bad.service', { allowFail: true })).out.trim(),
      err: (await inside('journalctl -o cat --no-pager -p err -u pos-sync@bad.service SYSLOG_IDENTIFIER=pos-sync', { allowFail: true })).out,
      info: (await inside('journalctl -o cat --no-pager -u pos-sync@bad.service SYSLOG_IDENTIFIER=pos-sync', { allowFail: true })).out,
    };
    // The cleanup timer's service.
    await inside('systemctl start pos-sync-cleanup.service', { allowFail: true });
    seen.cleanup = {
      result: await show('pos-sync-cleanup.service', 'Result'),
      status: await show('pos-sync-cleanup.service', 'ExecMainStatus'),
      timer: (await inside('systemctl is-active pos-sync-cleanup.timer', { allowFail: true })).out.trim(),
    };
    // The token: only the credential carries it.
    seen.tokenFileReadableByService = (await inside('setpriv --reuid=pos-sync --regid=pos --clear-groups cat /etc/pos-sync/api-token', { allowFail: true })).code === 0;
    seen.tokenElsewhere = (await inside(`grep -rl ${TOKEN} /etc /lib/systemd /usr/lib/pos-sync --exclude='*api-token' || true`)).out.trim();
    seen.environment = (await inside('systemctl show -P Environment pos-sync.service pos-sync@till2.service')).out;
    // till2 from the start, without metrics.
    await inside('/usr/lib/pos-sync/install.sh --till till2 /mnt/in/till2.json /mnt/in/api-token');

    // The window: from pos-sync.service's first pass, at least 90 s.
    const firstDeadline = timerAt + 45_000;
    while ((await starts('pos-sync.service')).length === 0 && Date.now() < firstDeadline) await sleep(250);
    const windowStart = Date.now();
    const writer = spawn('sh', ['-c', `umask 002; exec "${process.execPath}" "${path.join(REPO_ROOT, 'dist', 'test', 'helpers', 'pos-writer.js')}" --pos-writer "${path.join(pos, 'main', 'POS_Local.db')}" 7 85000`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let writerOut = '';
    writer.stdout!.setEncoding('utf8').on('data', (s: string) => (writerOut += s));
    const writerDone = new Promise<void>((resolve) => writer.once('close', () => resolve()));

    seen.mainStatuses = new Set();
    seen.breakerOpenSeen = false;
    const at = (ms: number): Promise<void> => sleep(Math.max(0, windowStart + ms - Date.now()));
    const poll = async (untilMs: number): Promise<void> => {
      while (Date.now() < windowStart + untilMs) {
        const status = Number(await show('pos-sync.service', 'ExecMainStatus'));
        if (Number.isFinite(status)) seen.mainStatuses.add(status);
        const stateText = (await inside(`cat ${MAIN_STATE}`, { allowFail: true })).out;
        if (/"state"\s*:\s*"open"/.test(stateText)) seen.breakerOpenSeen = true;
        await sleep(1000);
      }
    };

    // 0-20 s: no node_exporter folder. Then it appears, and till1 starts with the metrics drop-in.
    await poll(20_000);
    await inside('install -d -m 2775 -g pos /var/lib/prometheus/node-exporter');
    await inside('/usr/lib/pos-sync/install.sh --till till1 --metrics /mnt/in/till1.json /mnt/in/api-token');
    await poll(40_000);
    // 40-70 s: the central is down.
    await central.close();
    central = undefined;
    await poll(70_000);
    seen.warningLines = (await inside('journalctl -o cat --no-pager -p warning -u pos-sync.service SYSLOG_IDENTIFIER=pos-sync', { allowFail: true })).out.split('\n').filter(Boolean);
    seen.errLinesDuringOutage = (await inside('journalctl -o json --no-pager -p err -u pos-sync.service SYSLOG_IDENTIFIER=pos-sync', { allowFail: true })).out.split('\n').filter((l) => l.startsWith('{'));
    central = await startCentral({ port, dbPath: centralDb, faults: { requireToken: TOKEN } });
    await poll(85_000);
    await writerDone;
    seen.writerInserted = (JSON.parse(writerOut.trim().split('\n').at(-1) ?? '{}') as { inserted?: number }).inserted ?? 0;
    // 85 s on: the writer has stopped; the last sales arrive within a few passes.
    const mainDb = path.join(pos, 'main', 'POS_Local.db');
    await poll(95_000);
    while (pendingIds(mainDb).length > 0 && Date.now() < windowStart + 140_000) await poll(Date.now() - windowStart + 2000);
    await at(95_000);
    seen.windowMs = Date.now() - windowStart;
    const mainStarts = await starts('pos-sync.service');
    seen.passStarts = mainStarts;
    seen.mainFailures = await failures('pos-sync.service');
    seen.mainErrLines = await whyFailed('pos-sync.service');
    seen.mainIds = allIds(mainDb);
    seen.mainPending = pendingIds(mainDb);
    seen.received = new Set(central.receivedIds());
    seen.tills = [];
    for (const name of ['till1', 'till2']) {
      const db = path.join(pos, name, 'POS_Local.db');
      seen.tills.push({
        name,
        ids: allIds(db),
        pending: pendingIds(db),
        stateFile: fs.existsSync(path.join(pos, name, 'POS_Local.db.pos-sync.state.json')),
        starts: (await starts(`pos-sync@${name}.service`)).length,
        failures: await failures(`pos-sync@${name}.service`),
      });
    }
    seen.metricsFile = (await inside('cat /var/lib/prometheus/node-exporter/pos-sync@till1.prom', { allowFail: true })).out;
    seen.mainMetricsFiles = (await inside('ls /var/lib/prometheus/node-exporter/')).out;

    // The timers stop; then the checks that disturb every unit.
    await inside('systemctl stop pos-sync.timer pos-sync@till1.timer pos-sync@till2.timer');
    // A refused token: exit 77, the unit failed, pos-sync's line at priority err.
    await hostCli(['--db', path.join(pos, 'till2', 'POS_Local.db'), 'seed', '--transactions', '3', '--random-seed', '77']);
    central.setFaults({ requireToken: 'not-the-one-the-till-has' });
    await inside('systemctl start pos-sync@till2.service', { allowFail: true });
    seen.wrongToken = {
      status: await show('pos-sync@till2.service', 'ExecMainStatus'),
      failed: (await inside('systemctl is-failed pos-sync@till2.service', { allowFail: true })).out.trim(),
      err: (await inside('journalctl -o cat --no-pager -p err -u pos-sync@till2.service SYSLOG_IDENTIFIER=pos-sync', { allowFail: true })).out,
    };
    central.setFaults({ requireToken: TOKEN });

    // systemctl stop mid-pass: a backlog and a central answering every batch after 1.5 s.
    // --force: the POS writer's sales are in this database, and seed refuses rows it did not make.
    await hostCli(['--db', mainDb, 'seed', '--force', '--transactions', '400', '--random-seed', '99']);
    central.setFaults({ slowRate: 1, slowMs: 1500 });
    const before = central.requests().length;
    const stateBefore = (await inside(`stat -c %Y ${MAIN_STATE}`)).out.trim();
    await inside('systemctl start --no-block pos-sync.service');
    const sendDeadline = Date.now() + 20_000;
    while (central.requests().length < before + 2 && Date.now() < sendDeadline) await sleep(50);
    await sleep(300);
    const stopAt = Date.now();
    await inside('systemctl stop pos-sync.service');
    const tookMs = Date.now() - stopAt;
    central.setFaults({ slowRate: 0 });
    const pendingAfter = new Set(pendingIds(mainDb));
    const receivedAfter = new Set(central.receivedIds());
    seen.stop = {
      tookMs,
      result: await show('pos-sync.service', 'Result'),
      status: await show('pos-sync.service', 'ExecMainStatus'),
      code: await show('pos-sync.service', 'ExecMainCode'),
      log: (await inside('journalctl -o cat --no-pager -u pos-sync.service SYSLOG_IDENTIFIER=pos-sync -n 20')).out,
      why: await whyFailed('pos-sync.service'),
      marked: allIds(mainDb).filter((id) => !pendingAfter.has(id) && !receivedAfter.has(id)),
      pending: pendingAfter.size,
      stateAfterStop: (await inside(`stat -c %Y ${MAIN_STATE}`)).out.trim() !== stateBefore,
    };

    // Purging the package: every pos-sync unit stopped and gone, the user too; the group and the
    // POS databases stay.
    const purge = await inside('DEBIAN_FRONTEND=noninteractive dpkg --purge pos-sync', { allowFail: true });
    seen.purge = {
      code: purge.code,
      out: purge.out,
      units: (await inside("systemctl list-units --all --plain --no-legend 'pos-sync*' | grep -v ' not-found ' || true")).out.trim(),
      user: (await inside('getent passwd pos-sync', { allowFail: true })).code === 0,
      group: (await inside('getent group pos', { allowFail: true })).code === 0,
      files: (await inside('ls -d /usr/bin/pos-sync /usr/lib/pos-sync /etc/pos-sync /lib/systemd/system/pos-sync.service 2>/dev/null || true')).out.trim(),
      databases: fs.existsSync(mainDb),
    };
  });

  after(async () => {
    await box?.stop();
    await central?.close();
    removeDir(host);
  });

  test('pos-sync.timer starts a pass every 10 s (mean interval ≤ 10.5 s) for at least 90 s', (t) => {
    const inWindow = seen.passStarts;
    assert.ok(seen.windowMs >= 90_000, `window ${seen.windowMs} ms`);
    assert.ok(inWindow.length >= 10, `${inWindow.length} passes`);
    const intervals = inWindow.slice(1).map((t, i) => t - inWindow[i]!);
    const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
    t.diagnostic(`${inWindow.length} passes in ${Math.round(seen.windowMs / 1000)} s, mean interval ${Math.round(mean)} ms (min ${Math.round(Math.min(...intervals))}, max ${Math.round(Math.max(...intervals))})`);
    assert.ok(mean >= 9_900 && mean <= 10_500, `mean interval ${Math.round(mean)} ms: ${intervals.map(Math.round).join(' ')}`);
  });

  test('the sales the writer inserted meanwhile arrived, and nothing is left pending', (t) => {
    t.diagnostic(`writer inserted ${seen.writerInserted} rows; the central holds ${seen.received.size} ids`);
    assert.ok(seen.writerInserted > 100, `writer inserted ${seen.writerInserted}`);
    assert.deepEqual(seen.mainPending, []);
    assert.deepEqual(seen.mainIds.filter((id) => !seen.received.has(id)), [], 'every row marked synced is at the central');
  });

  test('the unit never failed: not before node_exporter\'s folder existed, not after, not while the central was down', () => {
    assert.deepEqual(seen.mainFailures, [], seen.mainErrLines);
    assert.ok([...seen.mainStatuses].every((s) => s === 0 || s === 75), [...seen.mainStatuses].join(' '));
    assert.ok(!seen.mainMetricsFiles.includes('pos-sync.prom'), 'no metrics without the drop-in');
  });

  test('the central down: exit 75 (the unit stays successful) while the breaker opens; journalctl -p warning shows it, -p err only errors', () => {
    assert.ok(seen.mainStatuses.has(75), `statuses seen: ${[...seen.mainStatuses].join(' ')}`);
    assert.ok(seen.breakerOpenSeen, 'the state file showed the breaker open');
    assert.ok(seen.warningLines.some((l) => l.includes('"level":"warn"')), seen.warningLines.join('\n'));
    assert.ok(seen.warningLines.every((l) => /"level":"(warn|error)"|^pos-sync: /.test(l)), seen.warningLines.join('\n'));
    assert.ok(seen.errLinesDuringOutage.length > 0, 'the outage logged errors');
    for (const l of seen.errLinesDuringOutage) {
      const entry = JSON.parse(l) as { PRIORITY: string; MESSAGE: string };
      assert.equal(entry.PRIORITY, '3', entry.MESSAGE);
      assert.match(entry.MESSAGE, /"level":"error"|^pos-sync: /);
    }
  });

  test('a bad configuration: exit 78, the unit failed, journalctl -p err shows pos-sync\'s line', () => {
    assert.equal(seen.badConfig.status, '78');
    assert.equal(seen.badConfig.failed, 'failed');
    assert.match(seen.badConfig.err, /^pos-sync: .*Sync\.BatchSize/m);
  });

  test('a refused token: exit 77, the unit failed, journalctl -p err shows pos-sync\'s line', () => {
    assert.equal(seen.wrongToken.status, '77');
    assert.equal(seen.wrongToken.failed, 'failed');
    assert.match(seen.wrongToken.err, /credentials/);
  });

  test('the token reaches pos-sync only through LoadCredential', () => {
    assert.equal(seen.tokenFileReadableByService, false, 'the service user cannot read /etc/pos-sync/api-token itself');
    assert.equal(seen.tokenElsewhere, '', 'no config file or unit holds the token');
    assert.ok(!seen.environment.includes(TOKEN));
    // And yet the passes were accepted by a central that demands it (the test above).
    assert.ok(seen.received.size > 0);
  });

  test('the cleanup timer is active and its service runs', () => {
    assert.equal(seen.cleanup.timer, 'active');
    assert.equal(seen.cleanup.result, 'success');
    assert.equal(seen.cleanup.status, '0');
  });

  test('two tills side by side (pos-sync@till1, pos-sync@till2): each delivered its own database with its own state file; till1 writes metrics', () => {
    for (const till of seen.tills) {
      assert.deepEqual(till.pending, [], till.name);
      assert.deepEqual(till.ids.filter((id) => !seen.received.has(id)), [], till.name);
      assert.ok(till.stateFile, `${till.name}: its state file beside its database`);
      assert.ok(till.starts >= 5, `${till.name}: ${till.starts} passes`);
      assert.deepEqual(till.failures, [], till.name);
    }
    assert.match(seen.metricsFile, /^pos_sync_/m);
  });

  test('systemctl stop mid-pass: ends within a few seconds, exit 0, not killed, state saved, nothing marked the central lacks', (t) => {
    t.diagnostic(`systemctl stop took ${seen.stop.tookMs} ms; ${seen.stop.pending} rows left pending`);
    assert.ok(seen.stop.tookMs < 5000, `took ${seen.stop.tookMs} ms`);
    assert.equal(seen.stop.result, 'success', `${seen.stop.log}\n${seen.stop.why}`);
    assert.equal(seen.stop.code, '1', 'CLD_EXITED: it exited, it was not killed');
    assert.equal(seen.stop.status, '0');
    assert.match(seen.stop.log, /SIGTERM received: stopping after the current batch/);
    assert.ok(seen.stop.pending > 0, 'the rest of the backlog waits');
    assert.deepEqual(seen.stop.marked, []);
    assert.ok(seen.stop.stateAfterStop, 'the state file was written by the stopped pass');
  });

  test('dpkg --purge: units stopped and gone, files and the user removed; the group pos and the databases stay', () => {
    assert.equal(seen.purge.code, 0, seen.purge.out);
    assert.equal(seen.purge.units, '', 'no pos-sync unit left loaded');
    assert.equal(seen.purge.files, '');
    assert.equal(seen.purge.user, false);
    assert.equal(seen.purge.group, true);
    assert.equal(seen.purge.databases, true);
  });
});
