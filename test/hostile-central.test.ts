// Trust nothing the network says (pos-sync-central(7)), through the real binary against the reference central
// and a real nginx in front of it: a 2xx counts only when its whole acknowledgement arrived, every
// read ends within the pass's time, and a refusal that is not about the rows (a proxy's own page,
// one reason for every row) penalises no row. Every case ends with nothing lost: each row is either
// synced and present in the central, or pending/refused and absent from it.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import type { FaultsUpdate, ScriptStep } from '../examples/central/faults.js';
import { makeTestPki, type TestPki } from './helpers/certs.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { query, withState } from './helpers/db.js';
import { nginxMissing, proxyTo, startNginx, type RunningNginx } from './helpers/nginx.js';
import { seedDb } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const skip = nginxMissing();
const tmp = tmpDirs('hostile-central');
let pki: TestPki;
let central: RunningCentral;
/** HTTPS (the test CA's certificate) in front of the central: the Sync.CaFile path. */
let tlsProxy: RunningNginx;
/** Plain HTTP that answers every request with its own HTML 200 page (a maintenance page). */
let html200: RunningNginx;
/** Plain HTTP in front of the central, small header buffers: big request headers get its 400. */
let smallHeaders: RunningNginx;
/** Plain HTTP in front of the central, client_max_body_size 100 bytes: its 413 for every row. */
let smallBodies: RunningNginx;
const proxies: RunningNginx[] = [];

before(async () => {
  if (skip) return;
  pki = makeTestPki(path.join(tmp.make('pki'), 'pki'));
  central = await startCentral({ seed: 10 });
  const upstream = `http://127.0.0.1:${central.port}`;
  tlsProxy = await startNginx({
    dir: tmp.make('nginx-tls'),
    server: `listen 127.0.0.1:{{port}} ssl; ssl_certificate ${pki.serverCert}; ssl_certificate_key ${pki.serverKey}; location / { ${proxyTo(upstream)} }`,
  });
  html200 = await startNginx({
    dir: tmp.make('nginx-html'),
    server: `listen 127.0.0.1:{{port}}; location / { return 200 '<html><head><title>Scheduled maintenance</title></head><body>Back soon</body></html>'; }`,
  });
  smallHeaders = await startNginx({
    dir: tmp.make('nginx-headers'),
    http: 'large_client_header_buffers 2 1k;',
    server: `listen 127.0.0.1:{{port}}; location / { ${proxyTo(upstream)} }`,
  });
  smallBodies = await startNginx({
    dir: tmp.make('nginx-bodies'),
    server: `listen 127.0.0.1:{{port}}; client_max_body_size 100; location / { ${proxyTo(upstream)} }`,
  });
  proxies.push(tlsProxy, html200, smallHeaders, smallBodies);
});
after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await central?.close();
  tmp.cleanup();
});

interface Store {
  readonly dir: string;
  readonly db: string;
  readonly state: string;
  /** Runs the binary with the store's files; `url` is the central's base as --central-url. */
  run(url: string, args: readonly string[], sync?: Record<string, unknown>): Promise<CliResult & { ms: number }>;
}

const BASE_SYNC = { MaxRetryAttempts: 1, RetryDelayMinutes: 0, MaxRejections: 3, BatchSize: 50, CircuitBreaker: { FailureThreshold: 100 } };

function store(transactions: number, inventory: number, seed: number): Store {
  const dir = tmp.make('store');
  const db = seedDb(path.join(dir, 'pos.db'), transactions, inventory, seed);
  const state = path.join(dir, 'pos.db.pos-sync.state.json');
  return {
    dir,
    db,
    state,
    async run(url, args, sync = {}) {
      const config = path.join(dir, 'appsettings.json');
      fs.writeFileSync(config, JSON.stringify({ Sync: { ...BASE_SYNC, ...sync } }), { mode: 0o600 });
      const started = Date.now();
      const result = await runCli(['--config', config, '--db', db, '--state-file', state, '--central-url', url, ...args], { cwd: dir, timeoutMs: 30_000 });
      return { ...result, ms: Date.now() - started };
    },
  };
}

interface RowState {
  Id: string;
  Synced: number;
  SyncRejections: number;
  NextAttemptAt: string | null;
  DeadLetteredAt: string | null;
}

function rows(db: string): RowState[] {
  const cols = `"Id", "Synced", "SyncRejections", "NextAttemptAt", "DeadLetteredAt"`;
  // pos-sync's bookkeeping is in its own table: the helper view puts it beside each row.
  return query<RowState>(db, `SELECT ${cols} FROM ${withState('PosTransactions')} UNION ALL SELECT ${cols} FROM ${withState('InventoryUpdates')}`);
}

/** Nothing lost: a synced row is in the central; a refused one (listed) is not; `penalised` rows at most. */
function assertNothingLost(db: string, refused: readonly string[] = []): void {
  const received = new Set(central.receivedIds());
  const all = rows(db);
  assert.deepEqual(all.filter((r) => r.Synced === 1 && !received.has(r.Id)).map((r) => r.Id), [], 'marked synced but the central never stored them');
  // Each refused row is there, unsynced, and not stored.
  const refusedRows = all.filter((r) => refused.includes(r.Id));
  assert.deepEqual(refusedRows.map((r) => [r.Id, r.Synced, received.has(r.Id)]).sort(), refused.map((id) => [id, 0, false]).sort());
}

function assertNonePenalised(db: string): void {
  for (const r of rows(db)) {
    assert.deepEqual([r.SyncRejections, r.NextAttemptAt, r.DeadLetteredAt], [0, null, null], `${r.Id} was penalised`);
  }
  assert.equal(query<{ n: number }>(db, `SELECT COUNT(*) AS n FROM "SyncRetryLogs"`)[0]!.n, 0, 'no refusal logged');
}

function assertAllDelivered(db: string): void {
  const received = new Set(central.receivedIds());
  for (const r of rows(db)) {
    assert.equal(r.Synced, 1, `${r.Id} not synced`);
    assert.ok(received.has(r.Id), `${r.Id} not in the central`);
  }
}

/** The messages of the JSON log lines on stderr (not a terminal), as text to match. */
function logText(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      const record = JSON.parse(line) as { message?: string; error?: string };
      return `${record.message ?? ''} ${record.error ?? ''}`;
    })
    .join('\n');
}

function fresh(faults: FaultsUpdate = {}): void {
  central.resetFaults();
  central.reset();
  central.setFaults(faults);
}

const repeat = (step: ScriptStep, n: number): ScriptStep[] => Array.from({ length: n }, () => step);

type Path = 'plain' | 'CaFile';
const PATHS: readonly Path[] = ['plain', 'CaFile'];
const urlFor = (p: Path): string => (p === 'plain' ? central.url : `https://127.0.0.1:${tlsProxy.port}`);
const tlsFor = (p: Path): Record<string, unknown> => (p === 'plain' ? {} : { CaFile: pki.caCert });

describe('a 2xx counts only when its whole acknowledgement arrived', { skip: skip ?? false }, () => {
  for (const via of PATHS) {
    const cases: Array<{ name: string; step: ScriptStep; refused?: boolean }> = [
      { name: 'cut short after the headers', step: 'truncated' },
      { name: 'cut short after the headers, with refused ids in it', step: 'truncated', refused: true },
      { name: 'over the 1 MiB cap', step: 'oversize' },
      { name: 'over the 1 MiB cap, with refused ids in it', step: 'oversize', refused: true },
    ];
    for (const c of cases) {
      test(`${via}: a 200 ${c.name} marks nothing (75); the next pass delivers, the central deduplicates`, async () => {
        const s = store(20, 6, 21);
        const ids = rows(s.db).map((r) => r.Id);
        const refusedIds = c.refused ? [ids[2]!, ids[7]!] : [];
        const refusing: FaultsUpdate = c.refused ? { refuseIds: refusedIds, partialRejects: true } : {};
        // Enough bad answers for the first request and for the narrowing that follows while the
        // health endpoint answers (man page, QUARANTINE): six failures in a row are an outage.
        fresh({ ...refusing, script: repeat(c.step, 6) });
        const bad = await s.run(urlFor(via), ['sync'], tlsFor(via));
        assert.equal(bad.code, 75, bad.stderr);
        assert.ok(rows(s.db).every((r) => r.Synced === 0), 'nothing marked synced from an answer that did not arrive whole');
        assertNonePenalised(s.db);
        assertNothingLost(s.db, refusedIds);

        central.setFaults({ script: [] });
        const good = await s.run(urlFor(via), ['sync'], tlsFor(via));
        assert.equal(good.code, c.refused ? 65 : 0, good.stderr);
        assertNothingLost(s.db, refusedIds);
        for (const r of rows(s.db)) assert.equal(r.Synced, refusedIds.includes(r.Id) ? 0 : 1, r.Id);
        assert.deepEqual(central.duplicateIds().filter((id) => refusedIds.includes(id)), []);
      });
    }
  }

  test('an HTML 200 page from the proxy marks nothing (75); with the proxy fixed, everything arrives', async () => {
    const s = store(12, 4, 22);
    fresh();
    const bad = await s.run(`http://127.0.0.1:${html200.port}`, ['sync']);
    assert.equal(bad.code, 75, bad.stderr);
    assert.match(logText(bad.stderr), /not a JSON acknowledgement \("Scheduled maintenance"\)/);
    assert.ok(rows(s.db).every((r) => r.Synced === 0));
    assertNonePenalised(s.db);
    const good = await s.run(central.url, ['sync']);
    assert.equal(good.code, 0, good.stderr);
    assertAllDelivered(s.db);
  });
});

describe('every read ends within the pass', { skip: skip ?? false }, () => {
  for (const via of PATHS) {
    for (const step of ['stall-body', 'drip-body'] as const) {
      test(`${via}: sync against headers then a ${step === 'stall-body' ? 'stalled' : 'slow-drip'} body ends within MaxRunSeconds + 1 s (75)`, async () => {
        const s = store(10, 0, 23);
        fresh({ script: repeat(step, 5) });
        const r = await s.run(urlFor(via), ['sync'], { ...tlsFor(via), MaxRunSeconds: 3, HttpTimeoutSeconds: 30 });
        assert.equal(r.code, 75, r.stderr);
        // The process's own start (about 0.3 s) counts too: the bound is on the whole run.
        assert.ok(r.ms < 3000 + 1500, `ran ${r.ms} ms with MaxRunSeconds 3`);
        assert.match(logText(r.stderr), /not whole within/);
        assert.ok(rows(s.db).every((row) => row.Synced === 0));
        assertNonePenalised(s.db);
        central.setFaults({ script: [] });
        const good = await s.run(urlFor(via), ['sync'], tlsFor(via));
        assert.equal(good.code, 0, good.stderr);
        assertAllDelivered(s.db);
      });
    }
    for (const body of ['stall', 'drip'] as const) {
      test(`${via}: health against a ${body === 'stall' ? 'stalled' : 'slow-drip'} body exits within 10 s, CRITICAL`, async () => {
        const s = store(1, 0, 24);
        fresh({ healthBody: body });
        const r = await s.run(urlFor(via), ['health'], tlsFor(via));
        assert.ok(r.ms < 10_000, `health ran ${r.ms} ms`);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stdout, /^POS-SYNC CRITICAL/);
      });
    }
  }
});

describe('a refusal that is not about the rows penalises no row', { skip: skip ?? false }, () => {
  const misconfigured: Array<{ name: string; url: () => string; sync?: Record<string, unknown>; fixed: () => { url: string; sync?: Record<string, unknown> }; says: RegExp }> = [
    {
      name: 'plain HTTP sent to the proxy\'s HTTPS port (its HTML 400)',
      url: () => `http://127.0.0.1:${tlsProxy.port}`,
      fixed: () => ({ url: `https://127.0.0.1:${tlsProxy.port}`, sync: { CaFile: pki.caCert } }),
      says: /HTTP 400 from something other than the central API \("400 The plain HTTP request was sent to HTTPS port"\)/,
    },
    {
      name: 'request headers over the proxy\'s limit (its HTML 400)',
      url: () => `http://127.0.0.1:${smallHeaders.port}`,
      sync: { ApiHeaders: { 'X-Trace': 't'.repeat(3000) } },
      fixed: () => ({ url: `http://127.0.0.1:${smallHeaders.port}` }),
      says: /HTTP 400 from something other than the central API \("400 Request Header Or Cookie Too Large"\)/,
    },
    {
      name: 'a body over the proxy\'s client_max_body_size even for one row (its HTML 413)',
      url: () => `http://127.0.0.1:${smallBodies.port}`,
      fixed: () => ({ url: central.url }),
      says: /HTTP 413 from something other than the central API \("413 Request Entity Too Large"\)/,
    },
  ];
  for (const m of misconfigured) {
    test(`${m.name}: 78 on every pass, no row penalised; fixed, everything arrives without requeue`, async () => {
      const s = store(15, 5, 25);
      fresh();
      for (let pass = 1; pass <= 3; pass++) {
        const r = await s.run(m.url(), ['sync'], m.sync);
        assert.equal(r.code, 78, `pass ${pass}: ${r.stderr}`);
        assert.match(logText(r.stderr), m.says);
        assert.match(logText(r.stderr), /no row penalised/);
        assertNonePenalised(s.db);
        assert.ok(rows(s.db).every((row) => row.Synced === 0));
      }
      const saved = JSON.parse(fs.readFileSync(s.state, 'utf8')) as { breaker: { state: string; consecutiveFailures: number }; notAboutRows?: { reason: string } };
      assert.deepEqual([saved.breaker.state, saved.breaker.consecutiveFailures], ['closed', 0], 'neither an outage nor an answer from the central');
      assert.match(saved.notAboutRows?.reason ?? '', m.says);
      const status = await s.run(m.url(), ['status'], m.sync);
      assert.match(status.stdout, /not about rows .*from something other than the central API/);
      const health = await s.run(m.url(), ['health'], m.sync);
      assert.match(health.stdout, /last pass: .*from something other than the central API/);

      const fixed = m.fixed();
      const good = await s.run(fixed.url, ['sync'], fixed.sync);
      assert.equal(good.code, 0, good.stderr);
      assertAllDelivered(s.db);
      const after = JSON.parse(fs.readFileSync(s.state, 'utf8')) as { notAboutRows?: unknown };
      assert.equal(after.notAboutRows, undefined, 'cleared by the pass that succeeded');
      const statusAfter = await s.run(fixed.url, ['status'], fixed.sync);
      assert.doesNotMatch(statusAfter.stdout, /not about rows/);
    });
  }

  test('the central refusing every row with the same JSON reason: 78, no row penalised; fixed, everything arrives', async () => {
    const s = store(30, 8, 26);
    const ids = rows(s.db).map((r) => r.Id);
    fresh({ refuseIds: ids, refuseReason: 'unknown store STORE001' });
    for (let pass = 1; pass <= 2; pass++) {
      const before = central.stats().posts;
      const r = await s.run(central.url, ['sync']);
      assert.equal(r.code, 78, r.stderr);
      // The 422 names every row of each batch: one request per batch, nothing split.
      assert.equal(central.stats().posts - before, 2, 'one request per entity batch');
      assert.match(logText(r.stderr), /refused all \d+ rows of this pass for the same reason.*unknown store STORE001/);
      assertNonePenalised(s.db);
    }
    central.setFaults({ refuseIds: [], refuseReason: null });
    const good = await s.run(central.url, ['sync']);
    assert.equal(good.code, 0, good.stderr);
    assertAllDelivered(s.db);
  });

  test('the same in a 2xx rejected list: every row refused alike is not about the rows', async () => {
    const s = store(10, 0, 27);
    fresh({ refuseIds: rows(s.db).map((r) => r.Id), partialRejects: true, refuseReason: 'store not provisioned' });
    const r = await s.run(central.url, ['sync']);
    assert.equal(r.code, 78, r.stderr);
    assertNonePenalised(s.db);
  });

  test('one poison row among 500 good ones is still isolated by splitting and dead-lettered alone (65)', async () => {
    const s = store(501, 0, 28);
    const ids = rows(s.db).map((r) => r.Id);
    const poison = ids[317]!;
    fresh({ refuseIds: [poison] });
    const r = await s.run(central.url, ['sync'], { MaxRejections: 1, BatchSize: 100, MaxRunSeconds: 30 });
    assert.equal(r.code, 65, r.stderr);
    const byId = new Map(rows(s.db).map((row) => [row.Id, row]));
    assert.notEqual(byId.get(poison)!.DeadLetteredAt, null);
    const good = ids.filter((id) => id !== poison);
    assert.equal(good.length, 500);
    assert.deepEqual(good.filter((id) => byId.get(id)!.Synced !== 1 || byId.get(id)!.SyncRejections !== 0), [], 'good rows not synced, or counted as refused');
    assertNothingLost(s.db, [poison]);
  });

  test('escape sequences in a refusal reason are escaped in status and in the error line', async () => {
    const s = store(4, 0, 29);
    const evil = '\u001b]0;owned\u0007\u001b[2J\u001b[31mbad\rOK';
    fresh({ refuseIds: rows(s.db).map((r) => r.Id), refuseReason: evil });
    const r = await s.run(central.url, ['sync']);
    assert.equal(r.code, 78);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr), `raw control characters on stderr: ${JSON.stringify(r.stderr)}`);
    const status = await s.run(central.url, ['status']);
    // Exit 2: status's exit code is its verdict, and a pass that ended 78 is NOT SYNCING.
    assert.equal(status.code, 2, status.stderr);
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(status.stdout), `raw control characters in status: ${JSON.stringify(status.stdout)}`);
    assert.match(status.stdout, /\\u001b\]0;owned\\u0007\\u001b\[2J/);
  });
});
