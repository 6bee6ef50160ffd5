// Prometheus metrics for node_exporter's textfile collector: the rendered text obeys the exposition
// grammar and naming conventions; running totals survive from one invocation to the next through
// the previous file; the CLI writes the file atomically after every pass (idle, failed and
// open-breaker passes included); bad paths are one line and a documented exit code.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  EMPTY_TOTALS,
  NO_PREVIOUS,
  nextTotals,
  parsePrevious,
  renderMetrics,
  type BreakerFacts,
  type MetricsSnapshot,
  type PassFacts,
} from '../src/metrics/exposition.js';
import { BIN, cleanEnv, lines, runCli } from './helpers/cli.js';
import { buildFixtureDb, FIXTURE, pendingIds } from './helpers/db.js';
import { parseExposition, valueOf, type Family } from './helpers/exposition.js';
import { tmpDirs } from './helpers/tmp.js';
import { closedPort } from './helpers/central.js';

const tmp = tmpDirs('metrics');
after(tmp.cleanup);

const pass = (over: Partial<PassFacts> = {}): PassFacts => ({
  at: Date.UTC(2025, 9, 21, 14, 3, 11, 120),
  exitCode: 0,
  durationMs: 1234,
  synced: { transaction: 3, inventory: 2 },
  refused: { transaction: 1, inventory: 0 },
  deadLettered: { transaction: 0, inventory: 0 },
  requests: 4,
  failedRequests: 1,
  ...over,
});

const snapshot = (over: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  store: 'STORE001',
  version: '0.1.0',
  pass: pass(),
  backlog: {
    transaction: { pending: 7, oldestPendingAgeSeconds: 42, deadLettered: 1, kafkaBacklog: 2 },
    inventory: { pending: 0, oldestPendingAgeSeconds: null, deadLettered: 0, kafkaBacklog: 0 },
  },
  kafkaEnabled: true,
  breaker: { state: 'closed', consecutiveFailures: 0, consecutiveOpens: 0, nextProbeAt: null },
  totals: nextTotals(NO_PREVIOUS, pass(), null),
  lastSuccessAt: Date.UTC(2025, 9, 21, 14, 3, 11, 120),
  ...over,
});

/** Naming conventions (prometheus.io/docs/practices/naming): prefix, units, _total for counters only. */
function assertConventions(families: Map<string, Family>): void {
  for (const f of families.values()) {
    assert.match(f.name, /^pos_sync_[a-z][a-z0-9_]*$/, f.name);
    assert.ok(f.help.length > 10, `${f.name} has a HELP text`);
    assert.ok(['counter', 'gauge'].includes(f.type), `${f.name}: ${f.type}`);
    assert.equal(f.type === 'counter', f.name.endsWith('_total'), `${f.name}: only counters end in _total`);
    assert.ok(!/_(milli|micro)?seconds?_?ms|_ms$|_minutes?|_hours?/.test(f.name), `${f.name}: base units`);
  }
  const counters = [...families.values()].filter((f) => f.type === 'counter');
  assert.ok(counters.length > 0, 'no counter to check');
  for (const f of counters) for (const s of f.series) assert.ok(s.value >= 0, `${f.name} is never negative`);
}

describe('rendering (pure)', () => {
  test('every line follows the exposition grammar; names follow the conventions', () => {
    const families = parseExposition(renderMetrics(snapshot()));
    assertConventions(families);
    for (const name of [
      'pos_sync_last_pass_synced_rows', 'pos_sync_last_pass_refused_rows', 'pos_sync_last_pass_dead_lettered_rows',
      'pos_sync_synced_rows_total', 'pos_sync_refused_rows_total', 'pos_sync_dead_lettered_rows_total',
      'pos_sync_pending_rows', 'pos_sync_oldest_pending_age_seconds', 'pos_sync_last_pass_duration_seconds',
      'pos_sync_breaker_state', 'pos_sync_breaker_opens_total', 'pos_sync_kafka_backlog_rows', 'pos_sync_last_success_timestamp_seconds',
    ]) {
      assert.ok(families.has(name), `${name} is present`);
    }
    assert.equal(valueOf(families, 'pos_sync_last_pass_synced_rows', { entity: 'transaction' }), 3);
    assert.equal(valueOf(families, 'pos_sync_pending_rows', { entity: 'transaction' }), 7);
    assert.equal(valueOf(families, 'pos_sync_oldest_pending_age_seconds', { entity: 'transaction' }), 42);
    assert.equal(valueOf(families, 'pos_sync_oldest_pending_age_seconds', { entity: 'inventory' }), 0);
    assert.equal(valueOf(families, 'pos_sync_last_pass_duration_seconds'), 1.234);
    assert.equal(valueOf(families, 'pos_sync_last_success_timestamp_seconds'), Date.UTC(2025, 9, 21, 14, 3, 11, 120) / 1000);
    assert.equal(valueOf(families, 'pos_sync_breaker_state', { state: 'closed' }), 1);
    assert.equal(valueOf(families, 'pos_sync_breaker_state', { state: 'open' }), 0);
    assert.equal(valueOf(families, 'pos_sync_kafka_backlog_rows', { entity: 'transaction' }), 2);
  });

  test('without Kafka, a database or a breaker, their metrics are left out, never faked', () => {
    const families = parseExposition(renderMetrics(snapshot({ kafkaEnabled: false, backlog: null, breaker: null, lastSuccessAt: null })));
    for (const name of ['pos_sync_kafka_backlog_rows', 'pos_sync_pending_rows', 'pos_sync_breaker_state', 'pos_sync_last_success_timestamp_seconds']) {
      assert.ok(!families.has(name), name);
    }
    assert.ok(families.has('pos_sync_synced_rows_total'));
  });

  test('label values are escaped (backslash, quote, newline)', () => {
    const families = parseExposition(renderMetrics(snapshot({ store: 'a"b\\c\nd' })));
    assert.equal(families.get('pos_sync_info')?.series[0]?.labels['store'], 'a"b\\c\nd');
  });
});

describe('running totals across invocations (pure)', () => {
  test('render → parse gives the totals back, and the next pass adds to them', () => {
    const first = nextTotals(NO_PREVIOUS, pass(), null);
    const previous = parsePrevious(renderMetrics(snapshot({ totals: first })));
    assert.deepEqual(previous.totals, first);
    const second = nextTotals(previous, pass({ exitCode: 75, synced: { transaction: 10, inventory: 0 } }), null);
    assert.deepEqual(second.synced, { transaction: 13, inventory: 2 });
    assert.deepEqual(second.passes, { '0': 1, '75': 1 });
    assert.equal(second.requests, 8);
    assert.equal(Math.round(second.passSeconds * 1000), 2468);
  });

  const breaker = (consecutiveOpens: number): BreakerFacts => ({ state: consecutiveOpens > 0 ? 'open' : 'closed', consecutiveFailures: 0, consecutiveOpens, nextProbeAt: null });
  const opening = [
    { why: 'opened for the first time', before: 0, after: 1, opens: 1 },
    { why: 'opened again after a failed probe', before: 1, after: 2, opens: 1 },
    { why: 'still open, refused', before: 2, after: 2, opens: 0 },
    { why: 'closed', before: 2, after: 0, opens: 0 },
    { why: 'closed and opened again between two files', before: 3, after: 1, opens: 1 },
    { why: 'unknown before (first file)', before: null, after: 2, opens: 0 },
  ];
  for (const row of opening) {
    test(`breaker openings: ${row.why} → +${row.opens}`, () => {
      const previous = { ...NO_PREVIOUS, totals: { ...EMPTY_TOTALS, breakerOpens: 5 }, consecutiveOpens: row.before };
      assert.equal(nextTotals(previous, pass(), breaker(row.after)).breakerOpens, 5 + row.opens);
    });
  }

  test('a foreign, damaged or hostile previous file reads as a counter reset, never an error', () => {
    for (const text of ['', 'garbage', '\u0000\u0001', 'pos_sync_synced_rows_total{entity="transaction"} -5\n', 'pos_sync_requests_total NaN\n', 'pos_sync_requests_total +Inf\n']) {
      const p = parsePrevious(text);
      assert.equal(p.totals.requests, 0);
      assert.deepEqual(p.totals.synced, { transaction: 0, inventory: 0 });
    }
  });
});

// --- the CLI ---

let central: { url: string; close(): Promise<void> };
let deadUrl: string;

before(async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  central = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  deadUrl = `http://127.0.0.1:${await closedPort()}`;
});
after(async () => central?.close());

function store(sync: Record<string, unknown> = {}) {
  const dir = tmp.make('store');
  const db = buildFixtureDb(path.join(dir, 'pos.db'));
  const config = path.join(dir, 'appsettings.json');
  fs.writeFileSync(config, JSON.stringify({ Sync: { MaxRetryAttempts: 0, ...sync } }), { mode: 0o600 });
  return { dir, db, config, prom: path.join(dir, 'textfile', 'pos_sync.prom') };
}

async function syncOnce(s: ReturnType<typeof store>, url: string, extra: string[] = []) {
  return runCli(['--config', s.config, '--db', s.db, '--central-url', url, 'sync', '--metrics-file', s.prom, ...extra], { cwd: s.dir });
}

function readProm(file: string): Map<string, Family> {
  const families = parseExposition(fs.readFileSync(file, 'utf8'));
  assertConventions(families);
  return families;
}

describe('sync --metrics-file', () => {
  test('written after every pass; counters survive between invocations; atomic, 0644, no temporary left', async () => {
    const s = store();
    fs.mkdirSync(path.dirname(s.prom));
    const first = await syncOnce(s, central.url);
    assert.equal(first.code, 0, first.stderr);
    let m = readProm(s.prom);
    assert.equal(valueOf(m, 'pos_sync_synced_rows_total', { entity: 'transaction' }), FIXTURE.pendingTransactions.length);
    assert.equal(valueOf(m, 'pos_sync_synced_rows_total', { entity: 'inventory' }), FIXTURE.pendingInventory.length);
    assert.equal(valueOf(m, 'pos_sync_pending_rows', { entity: 'transaction' }), 0);
    assert.equal(valueOf(m, 'pos_sync_last_pass_exit_code'), 0);
    const successAt = valueOf(m, 'pos_sync_last_success_timestamp_seconds')!;
    assert.ok(Math.abs(successAt - Date.now() / 1000) < 60, String(successAt));

    // An idle pass: this pass's gauges drop to 0, the totals stay.
    const idle = await syncOnce(s, central.url);
    assert.equal(idle.code, 0, idle.stderr);
    m = readProm(s.prom);
    assert.equal(valueOf(m, 'pos_sync_last_pass_synced_rows', { entity: 'transaction' }), 0);
    assert.equal(valueOf(m, 'pos_sync_synced_rows_total', { entity: 'transaction' }), FIXTURE.pendingTransactions.length);
    assert.equal(valueOf(m, 'pos_sync_passes_total', { exit_code: '0' }), 2);
    assert.equal((fs.statSync(s.prom).mode & 0o777).toString(8), '644');
    assert.deepEqual(fs.readdirSync(path.dirname(s.prom)), ['pos_sync.prom']);
  });

  test('central down: exit 75 recorded, pending rows and their age shown, last success kept; the breaker opening and the open-breaker tick too', async () => {
    const s = store({ CircuitBreaker: { FailureThreshold: 1, BreakSeconds: 600, MaxBreakSeconds: 600 } });
    fs.mkdirSync(path.dirname(s.prom));
    const down = await syncOnce(s, deadUrl);
    assert.equal(down.code, 75, down.stderr);
    let m = readProm(s.prom);
    assert.equal(valueOf(m, 'pos_sync_last_pass_exit_code'), 75);
    assert.equal(valueOf(m, 'pos_sync_passes_total', { exit_code: '75' }), 1);
    assert.ok(valueOf(m, 'pos_sync_failed_requests_total')! >= 1);
    assert.equal(valueOf(m, 'pos_sync_pending_rows', { entity: 'transaction' }), FIXTURE.pendingTransactions.length);
    assert.ok(valueOf(m, 'pos_sync_oldest_pending_age_seconds', { entity: 'transaction' })! > 0);
    assert.equal(valueOf(m, 'pos_sync_last_success_timestamp_seconds'), undefined, 'never succeeded');
    assert.equal(valueOf(m, 'pos_sync_breaker_state', { state: 'open' }), 1);
    assert.equal(valueOf(m, 'pos_sync_breaker_consecutive_opens'), 1);
    assert.ok(valueOf(m, 'pos_sync_breaker_next_probe_timestamp_seconds')! > Date.now() / 1000);

    // The next tick is refused by the open breaker (no request): still written, the backlog still read.
    const refused = await syncOnce(s, deadUrl);
    assert.equal(refused.code, 75, refused.stderr);
    m = readProm(s.prom);
    assert.equal(valueOf(m, 'pos_sync_passes_total', { exit_code: '75' }), 2);
    assert.equal(valueOf(m, 'pos_sync_requests_total'), valueOf(m, 'pos_sync_failed_requests_total'));
    assert.equal(valueOf(m, 'pos_sync_pending_rows', { entity: 'transaction' }), FIXTURE.pendingTransactions.length);
    assert.equal(valueOf(m, 'pos_sync_breaker_state', { state: 'open' }), 1);
  });

  test('readable by node_exporter (0644) even under a strict umask, as the systemd unit sets', async () => {
    const s = store();
    fs.mkdirSync(path.dirname(s.prom));
    // Asynchronous: the central answering the pass lives in this process.
    await promisify(execFile)('sh', ['-c', 'umask 077 && exec "$0" "$@"', process.execPath, BIN, '--config', s.config, '--db', s.db, '--central-url', central.url, 'sync', '--metrics-file', s.prom], {
      cwd: s.dir,
      env: cleanEnv(),
    });
    assert.equal((fs.statSync(s.prom).mode & 0o777).toString(8), '644');
  });

  test('Sync.MetricsFile in a config file: a relative path is relative to that file; --dry-run writes nothing', async () => {
    const s = store({ MetricsFile: 'prom/pos_sync.prom' });
    fs.mkdirSync(path.join(s.dir, 'prom'));
    const dry = await runCli(['--config', s.config, '--db', s.db, '--central-url', central.url, 'sync', '--dry-run'], { cwd: tmp.make('elsewhere') });
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(!fs.existsSync(path.join(s.dir, 'prom', 'pos_sync.prom')));
    const r = await runCli(['--config', s.config, '--db', s.db, '--central-url', central.url, 'sync'], { cwd: tmp.make('elsewhere') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(valueOf(readProm(path.join(s.dir, 'prom', 'pos_sync.prom')), 'pos_sync_last_pass_exit_code'), 0);
  });

  test('a metrics folder that does not exist: the pass still delivers, then exit 74 with one line naming the file', async () => {
    const s = store();
    const r = await syncOnce(s, central.url, ['--json']);
    assert.equal(r.code, 74, r.stderr);
    assert.deepEqual(pendingIds(s.db), [], 'the rows were delivered before the metrics failed');
    const errors = lines(r.stderr).map((l) => JSON.parse(l) as { level: string; message: string }).filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!.message, /^cannot write the metrics file .*pos_sync\.prom: its folder .*textfile does not exist/);
    assert.equal((JSON.parse(r.stdout) as { exitCode: number }).exitCode, 74);
  });

  test('bad input: an empty --metrics-file is a usage error (64); a name node_exporter ignores gets a warning', async () => {
    const s = store();
    const empty = await runCli(['--db', s.db, 'sync', '--metrics-file', ''], { cwd: s.dir });
    assert.equal(empty.code, 64, empty.stderr);
    assert.deepEqual(lines(empty.stderr), ['pos-sync: --metrics-file needs a path — see pos-sync sync --help']);
    const odd = await runCli(['--db', s.db, '--central-url', central.url, 'sync', '--metrics-file', path.join(s.dir, 'metrics.txt')], { cwd: s.dir });
    assert.equal(odd.code, 0, odd.stderr);
    assert.match(odd.stderr, /reads only \*\.prom files/);
    assert.ok(fs.existsSync(path.join(s.dir, 'metrics.txt')));
  });
});
