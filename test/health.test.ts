// `pos-sync health`: the verdict as a table (src/domain/health.ts), then every exit code 0-3 from a
// real situation through the binary, and a central that accepts and never answers, which must
// not hold health past its timeout.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import { CLOSED, type BreakerState } from '../src/domain/breaker.js';
import { againstThresholds, formatPerfdata, judgeHealth, worstStatus, type HealthFacts, type HealthStatus } from '../src/domain/health.js';
import { lines, runCli } from './helpers/cli.js';
import { healthyFacts } from './helpers/health-facts.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('health');
let central: RunningCentral;
before(async () => {
  central = await startCentral({ seed: 9 });
});
after(async () => {
  await central?.close();
  tmp.cleanup();
});

const NOW = Date.parse('2026-11-25T12:00:00.000Z');
const OPEN: BreakerState = { state: 'open', consecutiveFailures: 3, openedAt: NOW - 10_000, nextProbeAt: NOW + 20_000, consecutiveOpens: 1, lastFailure: 'HTTP 503' };

const healthy: HealthFacts = healthyFacts(NOW);

/** The state after passes that ended with `exitCode` since `since`. */
function failing(exitCode: number, error: string, since: number): Partial<HealthFacts> {
  return { state: { ...healthy.state, lastPass: { at: NOW - 10_000, exitCode, outcome: 'x', delivered: 0, refused: 0, durationMs: 30, error, since } } };
}

describe('judgeHealth: the verdict as a table', () => {
  const db = healthy.database as Extract<HealthFacts['database'], { kind: 'ok' }>;
  const rows: { name: string; facts: Partial<HealthFacts>; status: HealthStatus; check: [string, HealthStatus] }[] = [
    { name: 'everything fine', facts: {}, status: 'OK', check: ['central', 'OK'] },
    { name: 'central unreachable', facts: { central: { kind: 'error', error: 'cannot reach: ECONNREFUSED', url: 'u' } }, status: 'CRITICAL', check: ['central', 'CRITICAL'] },
    { name: 'central hangs', facts: { central: { kind: 'timeout', afterMs: 3000, url: 'u' } }, status: 'CRITICAL', check: ['central', 'CRITICAL'] },
    { name: 'central answers 503', facts: { central: { kind: 'answered', status: 503, ms: 3, url: 'u' } }, status: 'CRITICAL', check: ['central', 'CRITICAL'] },
    { name: 'central refuses credentials', facts: { central: { kind: 'answered', status: 401, ms: 3, url: 'u' } }, status: 'CRITICAL', check: ['central', 'CRITICAL'] },
    { name: 'database missing', facts: { database: { kind: 'error', error: 'database /x does not exist' } }, status: 'CRITICAL', check: ['backlog', 'UNKNOWN'] },
    { name: 'database corrupt', facts: { database: { ...db, quickCheck: '*** in database main *** Page 5: btreeInitPage() returns error code 11' } }, status: 'CRITICAL', check: ['database', 'CRITICAL'] },
    { name: 'database check too slow', facts: { database: { kind: 'timeout', afterMs: 8500 } }, status: 'UNKNOWN', check: ['database', 'UNKNOWN'] },
    { name: 'schema older (the next sync migrates)', facts: { database: { ...db, schemaVersion: 0 } }, status: 'WARNING', check: ['database', 'WARNING'] },
    { name: 'schema newer than this pos-sync', facts: { database: { ...db, schemaVersion: 2 } }, status: 'CRITICAL', check: ['database', 'CRITICAL'] },
    { name: 'breaker open', facts: { state: { ...healthy.state, breaker: OPEN } }, status: 'WARNING', check: ['breaker', 'WARNING'] },
    { name: 'breaker open, probe due', facts: { state: { ...healthy.state, breaker: { ...OPEN, nextProbeAt: NOW - 1 } } }, status: 'WARNING', check: ['breaker', 'WARNING'] },
    { name: 'breaker closed with failures counting', facts: { state: { ...healthy.state, breaker: { ...CLOSED, consecutiveFailures: 2 } } }, status: 'OK', check: ['breaker', 'OK'] },
    { name: 'state file corrupt', facts: { state: { ...healthy.state, problem: 'is not valid JSON' } }, status: 'WARNING', check: ['breaker', 'WARNING'] },
    { name: 'backlog at the warning threshold', facts: { database: { ...db, pending: 1000 } }, status: 'OK', check: ['backlog', 'OK'] },
    { name: 'backlog past warning', facts: { database: { ...db, pending: 1001 } }, status: 'WARNING', check: ['backlog', 'WARNING'] },
    { name: 'backlog past critical', facts: { database: { ...db, pending: 10001 } }, status: 'CRITICAL', check: ['backlog', 'CRITICAL'] },
    { name: 'oldest pending past warning', facts: { database: { ...db, oldestPendingAt: NOW - 601_000 } }, status: 'WARNING', check: ['oldestPending', 'WARNING'] },
    { name: 'oldest pending past critical', facts: { database: { ...db, oldestPendingAt: NOW - 3_601_000 } }, status: 'CRITICAL', check: ['oldestPending', 'CRITICAL'] },
    { name: 'nothing pending', facts: { database: { ...db, pending: 0, oldestPendingAt: null } }, status: 'OK', check: ['oldestPending', 'OK'] },
    { name: 'last success past warning', facts: { state: { ...healthy.state, lastSuccessAt: NOW - 601_000 } }, status: 'WARNING', check: ['lastSuccess', 'WARNING'] },
    { name: 'last success past critical', facts: { state: { ...healthy.state, lastSuccessAt: NOW - 3_601_000 } }, status: 'CRITICAL', check: ['lastSuccess', 'CRITICAL'] },
    { name: 'no successful pass recorded', facts: { state: { ...healthy.state, lastSuccessAt: null } }, status: 'WARNING', check: ['lastSuccess', 'WARNING'] },
    { name: 'no state file yet', facts: { state: { ...healthy.state, lastSuccessAt: null, found: false } }, status: 'WARNING', check: ['lastSuccess', 'WARNING'] },
    { name: 'Kafka reachable', facts: { kafka: { kind: 'ok', ms: 20 } }, status: 'OK', check: ['kafka', 'OK'] },
    { name: 'Kafka down only warns (events wait, none lost)', facts: { kafka: { kind: 'error', error: 'ECONNREFUSED', configuration: false } }, status: 'WARNING', check: ['kafka', 'WARNING'] },
    { name: 'Kafka hangs', facts: { kafka: { kind: 'timeout', afterMs: 3000 } }, status: 'WARNING', check: ['kafka', 'WARNING'] },
    { name: 'Kafka misconfigured', facts: { kafka: { kind: 'error', error: 'Kafka.ProducerConfig acks must be all', configuration: true } }, status: 'UNKNOWN', check: ['kafka', 'UNKNOWN'] },
    { name: 'database with no rows at all', facts: { database: { ...db, pending: 0, oldestPendingAt: null, empty: true } }, status: 'WARNING', check: ['database', 'WARNING'] },
    { name: 'last pass: credentials refused (77)', facts: failing(77, 'the central API refused the credentials (HTTP 401)', NOW - 780_000), status: 'CRITICAL', check: ['lastPass', 'CRITICAL'] },
    { name: 'last pass: configuration (78, a systemic refusal too)', facts: failing(78, 'the central refused every row alike', NOW - 60_000), status: 'CRITICAL', check: ['lastPass', 'CRITICAL'] },
    { name: 'last pass: local I/O (74)', facts: failing(74, 'cannot use the database: disk full', NOW - 60_000), status: 'CRITICAL', check: ['lastPass', 'CRITICAL'] },
    { name: 'last pass: a bug (1)', facts: failing(1, 'internal error: x', NOW - 60_000), status: 'CRITICAL', check: ['lastPass', 'CRITICAL'] },
    { name: 'last pass: temporary (75) is for the breaker and last-success checks', facts: failing(75, 'HTTP 503', NOW - 60_000), status: 'OK', check: ['lastPass', 'OK'] },
    { name: 'last pass: some rows refused (65)', facts: failing(65, 'refused', NOW - 60_000), status: 'OK', check: ['lastPass', 'OK'] },
    { name: 'dead letters above the threshold', facts: { database: { ...db, deadLettered: 2 } }, status: 'WARNING', check: ['deadLetters', 'WARNING'] },
    { name: 'dead letters at a raised threshold', facts: { database: { ...db, deadLettered: 2 }, thresholds: { ...healthy.thresholds, deadLetteredWarning: 2 } }, status: 'OK', check: ['deadLetters', 'OK'] },
    { name: 'Kafka: a wrong password cannot heal by waiting', facts: { kafka: { kind: 'error', error: 'Kafka refused the credentials: SASL SCRAM SHA512 authentication failed', configuration: false } }, status: 'CRITICAL', check: ['kafka', 'CRITICAL'] },
    { name: 'Kafka: a denied topic', facts: { kafka: { kind: 'error', error: 'Not authorized to access topics: [Topic authorization failed]', configuration: false } }, status: 'CRITICAL', check: ['kafka', 'CRITICAL'] },
    { name: 'Kafka: an untrusted certificate', facts: { kafka: { kind: 'error', error: 'Connection error: self-signed certificate in certificate chain', configuration: false } }, status: 'CRITICAL', check: ['kafka', 'CRITICAL'] },
    { name: 'Kafka: a missing CA file', facts: { kafka: { kind: 'error', error: 'Kafka.ProducerConfig.ssl.ca.location: cannot read /x/ca.pem (ENOENT)', configuration: true } }, status: 'CRITICAL', check: ['kafka', 'CRITICAL'] },
    {
      name: 'Kafka: the topic readable but the last publish refused (no WRITE) is CRITICAL',
      facts: { kafka: { kind: 'ok', ms: 2 }, state: { ...healthy.state, lastPass: { ...healthy.state.lastPass!, kafkaError: 'Not authorized to access topics: [Topic authorization failed]' } } },
      status: 'CRITICAL',
      check: ['kafka', 'CRITICAL'],
    },
    // Changed on purpose (Kafka's health reports what the passes see): a last publish that failed
    // for a reason waiting heals is not CRITICAL, and no longer OK either, but WARNING.
    { name: 'Kafka: a last publish that only waited for a broker is a warning, not CRITICAL', facts: { kafka: { kind: 'ok', ms: 2 }, state: { ...healthy.state, lastPass: { ...healthy.state.lastPass!, kafkaError: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092' } } }, status: 'WARNING', check: ['kafka', 'WARNING'] },
    { name: 'Kafka backlog past warning', facts: { kafka: { kind: 'ok', ms: 2 }, database: { ...db, kafkaBacklog: 101, kafkaOldestAt: NOW - 1000 } }, status: 'WARNING', check: ['kafkaBacklog', 'WARNING'] },
    { name: 'Kafka backlog past critical', facts: { kafka: { kind: 'ok', ms: 2 }, database: { ...db, kafkaBacklog: 1001, kafkaOldestAt: NOW - 1000 } }, status: 'CRITICAL', check: ['kafkaBacklog', 'CRITICAL'] },
    { name: 'Kafka backlog small but old', facts: { kafka: { kind: 'ok', ms: 2 }, database: { ...db, kafkaBacklog: 3, kafkaOldestAt: NOW - 601_000 } }, status: 'WARNING', check: ['kafkaBacklog', 'WARNING'] },
    { name: 'Kafka backlog small and very old', facts: { kafka: { kind: 'ok', ms: 2 }, database: { ...db, kafkaBacklog: 3, kafkaOldestAt: NOW - 3_601_000 } }, status: 'CRITICAL', check: ['kafkaBacklog', 'CRITICAL'] },
    { name: 'CRITICAL beats WARNING', facts: { central: { kind: 'error', error: 'x', url: 'u' }, state: { ...healthy.state, breaker: OPEN } }, status: 'CRITICAL', check: ['breaker', 'WARNING'] },
    { name: 'WARNING beats UNKNOWN', facts: { kafka: { kind: 'error', error: 'x', configuration: true }, state: { ...healthy.state, breaker: OPEN } }, status: 'WARNING', check: ['kafka', 'UNKNOWN'] },
  ];
  for (const r of rows) {
    test(`${r.name} → ${r.status}`, () => {
      const v = judgeHealth({ ...healthy, ...r.facts });
      assert.equal(v.status, r.status, JSON.stringify(v.checks));
      assert.equal(v.checks.find((c) => c.name === r.check[0])?.status, r.check[1], JSON.stringify(v.checks));
    });
  }

  test('a refused-credentials check names the trouble, since when in the store\'s zone, and what to do', () => {
    const v = judgeHealth({ ...healthy, ...failing(77, 'the central API refused the credentials (HTTP 401)', NOW - 780_000) });
    assert.equal(
      v.checks.find((c) => c.name === 'lastPass')?.message,
      'the central API refused the credentials since 12:47 CET, 13 min ago (last pass 12:59 CET, 10 s ago, exit 77): the central API refused the credentials (HTTP 401) — check the API token (Sync.ApiTokenFile, Sync.ApiToken or POS_SYNC_API_TOKEN) with the central\'s operator',
    );
    assert.equal(v.checks.find((c) => c.name === 'deadLetters')?.message, 'none');
    const dead = judgeHealth({ ...healthy, database: { ...db, deadLettered: 2 } });
    assert.equal(dead.checks.find((c) => c.name === 'deadLetters')?.message, '2 rows dead-lettered: list them with pos-sync status --dead-letters (warning above 0)');
  });

  test('worstStatus and thresholds', () => {
    assert.equal(worstStatus([]), 'OK');
    assert.equal(worstStatus(['OK', 'UNKNOWN']), 'UNKNOWN');
    assert.equal(worstStatus(['UNKNOWN', 'WARNING', 'OK']), 'WARNING');
    assert.equal(worstStatus(['WARNING', 'CRITICAL', 'UNKNOWN']), 'CRITICAL');
    assert.equal(againstThresholds(0, 0, 10), 'OK');
    assert.equal(againstThresholds(1, 0, 10), 'WARNING');
    assert.equal(againstThresholds(11, 0, 10), 'CRITICAL');
  });

  test('perfdata in the plugins syntax, U for what could not be measured', () => {
    const v = judgeHealth(healthy);
    assert.equal(
      formatPerfdata(v.perfdata),
      'backlog=5;1000;10000;0 oldest_pending=30s;600;3600;0 last_success_age=15s;600;3600;0 dead_lettered=0;0;;0 quarantined=0;0;;0 breaker_open=0;;;0;1 consecutive_failures=0;;;0 central_response=0.012s;;;0',
    );
    const down = judgeHealth({ ...healthy, database: { kind: 'error', error: 'x' }, central: { kind: 'error', error: 'y', url: 'u' }, kafka: { kind: 'ok', ms: 1 } });
    assert.match(formatPerfdata(down.perfdata), /^backlog=U;1000;10000;0 oldest_pending=U;600;3600;0 .* central_response=U;;;0 kafka_backlog=U;100;1000;0$/);
  });
});

/** A store whose health thresholds make the oldest-pending check irrelevant unless a test wants it. */
function store(settings: Record<string, unknown> = {}, rows = 0): { dir: string; db: string; run(...args: string[]): ReturnType<typeof runCli> } {
  const dir = tmp.make();
  const db = seedDb(path.join(dir, 'POS_Local.db'), rows, 0, 21);
  const health = { OldestPendingWarningSeconds: 1e9, OldestPendingCriticalSeconds: 1e9, ...((settings['Health'] as object | undefined) ?? {}) };
  fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { ...settings, Health: health } }));
  return { dir, db, run: (...args) => runCli(['--config', 'appsettings.json', '--db', db, ...args], { cwd: dir }) };
}

describe('health through the binary: each exit code from a real situation', () => {
  test('0 OK: database fine, central up, a recent successful pass, small backlog', async () => {
    const s = store({}, 3);
    assert.equal((await s.run('--central-url', central.url, 'sync')).code, 0);
    const r = await s.run('--central-url', central.url, 'health');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = lines(r.stdout);
    assert.equal(out[0], 'POS-SYNC OK - 0 pending, central up, breaker closed');
    assert.deepEqual(
      out.slice(1, -1).map((l) => l.split(':')[0]),
      ['OK       database', 'OK       central API', 'OK       circuit breaker', 'OK       last pass', 'OK       last successful pass', 'OK       backlog', 'OK       dead letters', 'OK       quarantine', 'OK       oldest pending row'],
    );
    assert.match(out.at(-1)!, /^\| backlog=0;1000;10000;0 oldest_pending=0s;1000000000;1000000000;0 last_success_age=\d+s;600;3600;0 dead_lettered=0;0;;0 quarantined=0;0;;0 breaker_open=0;;;0;1 consecutive_failures=0;;;0 central_response=[\d.]+s;;;0$/);
    assert.equal(r.stderr, '');
  });

  test('1 WARNING: the backlog is past its warning threshold', async () => {
    const s = store({ Health: { BacklogWarning: 2, BacklogCritical: 100 } }, 0);
    assert.equal((await s.run('--central-url', central.url, 'sync')).code, 0);
    seedDb(s.db, 4, 1, 22);
    const r = await s.run('--central-url', central.url, '--json', 'health');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { status: string; exitCode: number; checks: { name: string; status: string; message: string }[] };
    assert.equal(doc.status, 'WARNING');
    assert.equal(doc.exitCode, 1);
    assert.deepEqual(doc.checks.find((c) => c.name === 'backlog'), { name: 'backlog', status: 'WARNING', message: '5 pending (warning above 2, critical above 100)' });
    assert.deepEqual(doc.checks.filter((c) => c.status !== 'OK').map((c) => c.name), ['backlog']);
  });

  test('1 WARNING: Kafka enabled but no broker answers (events wait, none are lost)', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kafkaPort = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const s = store({ Health: { TimeoutSeconds: 2 } }, 1);
    assert.equal((await s.run('--central-url', central.url, 'sync')).code, 0);
    const started = Date.now();
    const r = await runCli(['--config', 'appsettings.json', '--db', s.db, '--central-url', central.url, '--json', 'health'], {
      cwd: s.dir,
      env: { Kafka__Enabled: 'true', Kafka__BootstrapServers: `127.0.0.1:${kafkaPort}` },
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { checks: { name: string; status: string }[]; perfdata: { label: string }[] };
    assert.deepEqual(doc.checks.filter((c) => c.status !== 'OK').map((c) => [c.name, c.status]), [['kafka', 'WARNING']]);
    assert.ok(doc.perfdata.some((p) => p.label === 'kafka_backlog'));
    // pos-sync(1) COMMANDS: the whole command ends within 10 s even when a peer hangs (process start included).
    assert.ok(Date.now() - started < 10_000, `within 10 s, took ${Date.now() - started} ms`);
  });

  test('2 CRITICAL: the central is unreachable (a closed port)', async () => {
    const s = store({}, 1);
    assert.equal((await s.run('--central-url', central.url, 'sync')).code, 0);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await s.run('--central-url', `http://127.0.0.1:${port}`, 'health');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(lines(r.stdout)[0]!, /^POS-SYNC CRITICAL - central API: cannot reach http:\/\/127\.0\.0\.1:\d+\/health: .*ECONNREFUSED/);
  });

  test('2 CRITICAL: the database does not exist (and health does not create it)', async () => {
    const dir = tmp.make();
    const r = await runCli(['--db', path.join(dir, 'missing.db'), '--central-url', central.url, 'health'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /CRITICAL database: database .*missing\.db does not exist/);
    assert.equal(fs.existsSync(path.join(dir, 'missing.db')), false);
  });

  test('3 UNKNOWN: a configuration error, and a usage error', async () => {
    const dir = tmp.make();
    fs.writeFileSync(path.join(dir, 'appsettings.json'), JSON.stringify({ Sync: { BatchSise: 5 } }));
    const r = await runCli(['--config', 'appsettings.json', 'health'], { cwd: dir });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /^POS-SYNC UNKNOWN - .*BatchSise.*\n$/);
    const u = await runCli(['health', '--bogus'], { cwd: dir });
    assert.equal(u.code, 3);
    assert.equal(u.stdout, "POS-SYNC UNKNOWN - unknown option '--bogus'\n");
    const j = await runCli(['--json', 'health', '--bogus'], { cwd: dir });
    assert.equal(j.code, 3);
    assert.equal((JSON.parse(j.stdout) as { status: string; exitCode: number }).status, 'UNKNOWN');
  });

  test('a central that accepts and never answers: health ends within its timeout plus slack', async () => {
    const sockets = new Set<net.Socket>();
    const hang = net.createServer((socket) => {
      sockets.add(socket); // accept, read, never answer
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hang.address() as net.AddressInfo).port;
      const s = store({ Health: { TimeoutSeconds: 1 } }, 0);
      const started = Date.now();
      const r = await s.run('--central-url', `http://127.0.0.1:${port}`, 'health');
      const took = Date.now() - started;
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /CRITICAL central API: no answer from http:\/\/127\.0\.0\.1:\d+\/health within 1000 ms/);
      assert.ok(took < 1_000 + 3_000, `ended in ${took} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hang.close(() => resolve()));
    }
  });
});
