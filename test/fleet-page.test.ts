// Head office sees the fleet: real pos-sync processes (bin/pos-sync), each till with its own
// database, ticking against the reference central, whose /fleet page is rendered by a real
// headless browser (Debian's chromium) and its rendered DOM read back. The central's clock is the
// only fake: moving it makes a stopped till's silence pass the threshold without sleeping.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { startCentral, type RunningCentral } from '../examples/central/server.js';
import type { Heartbeat } from '../examples/central/fleet.js';
import { VERSION } from '../src/version.js';
import { closedPort } from './helpers/central.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { pendingIds, query } from './helpers/db.js';
import { loadSchema, validate } from './helpers/json-schema.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('fleet-page');
after(tmp.cleanup);

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'fleet-token-good';
/**
 * Well above a tick (a pass every second or so here) and above the time the browser takes for the
 * renders after the last ticks, so live tills never flap on a loaded machine.
 */
const SILENCE_SECONDS = 120;

/** The rendered DOM of `url` (chromium --headless --dump-dom): what a browser shows, not the raw bytes. */
function renderedDom(url: string): Promise<string> {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
  const profile = tmp.make('chromium-profile');
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--dump-dom', url,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

interface DomRow {
  store: string;
  till: string;
  verdict: string;
  cells: Record<string, string>;
  attrs: Record<string, string>;
}

/** The fleet table's rows as the browser rendered them, in page order. */
function domRows(dom: string, tableId = 'fleet'): DomRow[] {
  const table = new RegExp(`<table id="${tableId}">([\\s\\S]*?)</table>`).exec(dom)?.[1];
  assert.ok(table !== undefined, `the page has a table #${tableId}`);
  const rows: DomRow[] = [];
  for (const m of table.matchAll(/<tr class="till [^"]*" data-store="([^"]*)" data-till="([^"]*)" data-verdict="([^"]*)">([\s\S]*?)<\/tr>/g)) {
    const cells: Record<string, string> = {};
    const attrs: Record<string, string> = {};
    for (const c of m[4]!.matchAll(/<td class="(?:n )?([a-z-]+)"([^>]*)>([\s\S]*?)<\/td>/g)) {
      cells[c[1]!] = c[3]!.replace(/<[^>]+>/g, '').replace(/&amp;/g, '&').trim();
      const data = /data-[a-z]+="([^"]*)"/.exec(c[2]!);
      if (data) attrs[c[1]!] = data[1]!;
    }
    rows.push({ store: m[1]!, till: m[2]!, verdict: m[3]!, cells, attrs });
  }
  return rows;
}

interface Till {
  readonly store: string;
  readonly till: string;
  readonly dir: string;
  readonly db: string;
  readonly env: Record<string, string>;
}

function makeTill(central: RunningCentral, store: string, till: string, extra: Record<string, string> = {}): Till {
  const dir = tmp.make(`${store}-${till}`);
  return {
    store,
    till,
    dir,
    db: path.join(dir, 'pos.db'),
    env: {
      STORE_ID: store,
      Sync__TillId: till,
      CENTRAL_API_URL: central.url,
      Sync__ApiToken: TOKEN,
      Sync__HeartbeatSeconds: '1',
      Sync__MaxRejections: '1',
      ...extra,
    },
  };
}

async function tick(t: Till, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['--db', t.db, 'sync'], { cwd: t.dir, env: { ...t.env, ...env } });
}

async function seed(t: Till, transactions: number, inventory: number, randomSeed: number): Promise<void> {
  const r = await runCli(['--db', t.db, 'seed', '--transactions', String(transactions), '--inventory', String(inventory), '--random-seed', String(randomSeed)], { cwd: t.dir, env: t.env });
  assert.equal(r.code, 0, r.stderr);
}

/** The heartbeats the central keeps of a till, oldest first. */
const received = (central: RunningCentral, t: Till): Heartbeat[] => (central.fleet.book.history(t.store, t.till) ?? []).map((r) => r.heartbeat).reverse();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('the fleet page: four tills of two stores, worst first, with their figures, as a browser renders it', { timeout: 240_000 }, async (t) => {
  let skewMs = 0;
  const central = await startCentral({ faults: { requireToken: TOKEN }, now: () => Date.now() + skewMs, fleet: { silenceSeconds: SILENCE_SECONDS } });
  t.after(() => central.close());
  const refusedPort = await closedPort();

  const ok = makeTill(central, 'STORE-A', 'till-1');
  const degraded = makeTill(central, 'STORE-A', 'till-2');
  const stopped = makeTill(central, 'STORE-A', 'till-3');
  // Its events endpoint cannot be reached (a central's events service down), while head office
  // still hears its heartbeat: NOT SYNCING is what head office must see.
  const notSyncing = makeTill(central, 'STORE-B', 'till-1', {
    Sync__CentralApiEndpoint: `http://127.0.0.1:${refusedPort}/api/inventory/events`,
    Sync__HeartbeatEndpoint: `${central.url}/api/inventory/heartbeat`,
    Sync__MaxRetryAttempts: '0',
    Sync__CircuitBreaker__FailureThreshold: '1000',
  });
  // A till whose token the central refuses: listed apart, never shown as a standing.
  const refused = makeTill(central, 'STORE-B', 'till-9', { Sync__ApiToken: 'fleet-token-wrong' });
  const live = [ok, degraded, notSyncing];
  const tills = [ok, degraded, stopped, notSyncing];
  for (const [i, x] of [...tills, refused].entries()) await seed(x, 3, 2, i + 1);

  // Two rounds of ticks.
  for (let round = 0; round < 2; round++) {
    for (const x of tills) {
      const r = await tick(x);
      assert.equal(r.code, x === notSyncing ? 75 : 0, `${x.store}/${x.till}: ${r.stderr}`);
    }
    assert.equal((await tick(refused)).code, 77);
  }
  for (const x of [ok, degraded, stopped]) assert.equal(received(central, x).at(-1)?.verdict, 'OK', `${x.store}/${x.till} reported OK`);
  assert.equal(received(central, notSyncing).at(-1)?.verdict, 'NOT SYNCING');
  assert.equal(central.fleet.book.history(refused.store, refused.till), null, 'a refused till has no standing');

  // A dead letter on till-2: DEGRADED within one heartbeat. HeartbeatSeconds is an hour here, so
  // only the verdict's change can send it; the control tick before shows nothing else would.
  const hour = { Sync__HeartbeatSeconds: '3600' };
  const before = received(central, degraded).length;
  assert.equal((await tick(degraded, hour)).code, 0);
  assert.equal(received(central, degraded).length, before, 'control: no heartbeat within the hour while nothing changed');
  const known = new Set(pendingIds(degraded.db));
  // Two new sales, one refused: a refusal beside an accepted row is the row's own (a lone refused
  // row waits for another row to tell whether the reason is about it: man page, sync).
  await seed(degraded, 2, 0, 99);
  const fresh = pendingIds(degraded.db).filter((id) => !known.has(id));
  assert.equal(fresh.length, 2);
  central.setFaults({ refuseIds: fresh.slice(0, 1) });
  const refusedPass = await tick(degraded, hour);
  assert.equal(refusedPass.code, 65, refusedPass.stderr);
  assert.equal(received(central, degraded).length, before + 1, 'the verdict change sent a heartbeat at once');
  assert.equal(received(central, degraded).at(-1)?.verdict, 'DEGRADED');
  assert.equal(received(central, degraded).at(-1)?.deadLettered, 1);

  // Control: before the silence, the till about to stop is shown as what it said.
  const beforeSilence = (await (await fetch(`${central.url}/api/fleet?store=STORE-A`)).json()) as { tills: Array<{ tillId: string; shown: string }> };
  assert.equal(beforeSilence.tills.find((x) => x.tillId === 'till-3')?.shown, 'OK');

  // till-3 stops. The central's clock moves past the silence; the live tills keep ticking (their
  // HeartbeatSeconds, 1 s, has passed on their own clocks).
  skewMs += (SILENCE_SECONDS + 5) * 1000;
  await sleep(1100);
  for (const x of live) await tick(x);

  const dom = await renderedDom(`${central.url}/fleet`);
  const rows = domRows(dom);
  assert.deepEqual(
    rows.map((r) => [r.verdict, r.store, r.till]),
    [
      ['NOT SYNCING', 'STORE-B', 'till-1'],
      ['NOT REPORTING', 'STORE-A', 'till-3'],
      ['DEGRADED', 'STORE-A', 'till-2'],
      ['OK', 'STORE-A', 'till-1'],
    ],
    'every till, worst first',
  );
  const row = (x: Till): DomRow => rows.find((r) => r.store === x.store && r.till === x.till)!;
  // The figures: pending and dead letters as the tills' databases have them, version, offset.
  const pendingNow = (x: Till): number => pendingIds(x.db).length;
  assert.equal(row(notSyncing).cells['pending'], String(pendingNow(notSyncing)));
  assert.equal(pendingNow(notSyncing), 5);
  assert.equal(row(ok).cells['pending'], '0');
  assert.equal(row(degraded).cells['pending'], '0');
  assert.equal(row(degraded).cells['dead'], '1');
  assert.equal(row(ok).cells['dead'], '0');
  for (const x of tills) assert.equal(row(x).cells['version'], VERSION);
  // Oldest pending of the NOT SYNCING till: its oldest row's age when it last reported.
  const last = received(central, notSyncing).at(-1)!;
  const oldestRow = query<{ t: string }>(notSyncing.db, `SELECT min("CreatedAt") AS t FROM (SELECT "CreatedAt" FROM "PosTransactions" WHERE "Synced" = 0 UNION ALL SELECT "CreatedAt" FROM "InventoryUpdates" WHERE "Synced" = 0)`)[0]!.t;
  const expectedAge = Math.round((Date.parse(last.sentAt) - Date.parse(`${oldestRow.replace(' ', 'T')}Z`)) / 1000);
  assert.ok(Math.abs(Number(row(notSyncing).attrs['oldest']) - expectedAge) <= 1, `oldest pending ${row(notSyncing).attrs['oldest']} s, expected ${expectedAge} s`);
  // A silent till's oldest pending (none here) and its "since" is its last heartbeat.
  assert.equal(row(stopped).cells['oldest'], '—');
  assert.match(row(stopped).cells['verdict']!, /last said OK/);
  const stoppedLast = central.fleet.book.history(stopped.store, stopped.till)![0]!;
  assert.equal(row(stopped).cells['since'], new Date(stoppedLast.at).toISOString());
  // Live tills that have had an answer know their clock against the central's: within a second.
  for (const x of live) {
    const ms = row(x).attrs['offset'];
    assert.ok(ms !== undefined && ms !== '' && Math.abs(Number(ms)) <= 1000, `${x.store}/${x.till} clock offset ${ms}`);
  }
  assert.match(dom, /<meta http-equiv="refresh" content="10">/);
  assert.match(dom, /id="counts"[\s\S]*data-verdict="NOT SYNCING" data-count="1"[\s\S]*data-verdict="NOT REPORTING" data-count="1"[\s\S]*data-verdict="DEGRADED" data-count="1"[\s\S]*data-verdict="OK" data-count="1"/);

  // The refused token: not a row of the fleet, listed apart with its claimed store and till.
  const refusedTable = /<table id="refused">([\s\S]*?)<\/table>/.exec(dom)?.[1] ?? '';
  assert.match(refusedTable, /data-store="STORE-B" data-till="till-9"[\s\S]*HTTP 401/);
  assert.ok(!rows.some((r) => r.till === 'till-9'));

  // Filters (query parameters, rendered the same way) and the till's own page.
  const onlyA = domRows(await renderedDom(`${central.url}/fleet?store=STORE-A&verdict=DEGRADED&verdict=OK`));
  assert.deepEqual(onlyA.map((r) => [r.verdict, r.till]), [['DEGRADED', 'till-2'], ['OK', 'till-1']]);
  const link = /<a href="([^"]+)">till-2<\/a>/.exec(dom)?.[1]?.replace(/&amp;/g, '&');
  assert.equal(link, '/fleet/till?store=STORE-A&till=till-2');
  const details = await renderedDom(`${central.url}${link}`);
  assert.match(details, /id="verdict" class="degraded">DEGRADED</);
  const history = [...details.matchAll(/<tr class="heartbeat ([a-z-]+)">/g)].map((m) => m[1]);
  assert.deepEqual(history.slice(0, 2), ['degraded', 'degraded'], 'latest first');
  assert.ok(history.includes('ok'), 'and the earlier OK heartbeats');

  // /api/fleet and /metrics say the same.
  const api = (await (await fetch(`${central.url}/api/fleet`)).json()) as { tills: Array<{ tillId: string; storeId: string; shown: string; pending: number }>; counts: Record<string, number> };
  assert.deepEqual(api.tills.map((x) => [x.shown, x.storeId, x.tillId, x.pending]), rows.map((r) => [r.verdict, r.store, r.till, Number(r.cells['pending'])]));
  const metrics = await (await fetch(`${central.url}/metrics`)).text();
  for (const v of ['NOT SYNCING', 'NOT REPORTING', 'DEGRADED', 'OK']) assert.match(metrics, new RegExp(`^pos_central_fleet_tills\\{verdict="${v}"\\} 1$`, 'm'));
  assert.match(metrics, /^pos_central_fleet_not_reporting 1$/m);
  assert.match(metrics, new RegExp(`^pos_central_fleet_oldest_pending_age_seconds ${Number(row(notSyncing).attrs['oldest'])}$`, 'm'));
  assert.match(metrics, /^pos_central_fleet_heartbeats_refused_total [1-9]\d*$/m);

  // Every heartbeat the central took follows the published schema.
  const schema = loadSchema('heartbeat');
  for (const x of tills) for (const h of received(central, x)) assert.deepEqual(validate(schema, h), [], `${x.store}/${x.till}`);
});

test('the heartbeat documents follow man/schemas/heartbeat.schema.json, and the schema is strict', async (t) => {
  const central = await startCentral({});
  t.after(() => central.close());
  const x = makeTill(central, 'STORE-S', 'till-s', { Sync__ApiToken: '' });
  await seed(x, 2, 1, 7);
  assert.equal((await tick(x)).code, 0);
  const [h] = received(central, x);
  assert.ok(h, 'the central took a heartbeat');
  const schema = loadSchema('heartbeat');
  assert.deepEqual(validate(schema, h), []);
  assert.equal(h.tillId, 'till-s');
  assert.equal(h.storeId, 'STORE-S');
  assert.match(h.configHash, /^[0-9a-f]{16}$/);
  assert.ok(h.disk.freeBytes !== null && h.disk.freeBytes > 0);
  // The central refuses what breaks the schema (422), naming the problem.
  const broken = { ...h, verdict: 'FINE' };
  assert.notDeepEqual(validate(schema, broken), []);
  const answer = await fetch(`${central.url}/api/inventory/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-store-id': 'STORE-S' }, body: JSON.stringify(broken) });
  assert.equal(answer.status, 422);
  assert.match(await answer.text(), /verdict: must be one of/);
});

test('a central without the heartbeat endpoint: passes unaffected, asked once a day, silently', async (t) => {
  const central = await startCentral({ fleet: { heartbeat: false } });
  t.after(() => central.close());
  const x = makeTill(central, 'STORE-N', 'till-n', { Sync__ApiToken: '', Sync__HeartbeatSeconds: '1' });
  for (let i = 0; i < 3; i++) {
    await seed(x, 2, 1, 20 + i);
    const r = await tick(x);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /delivered 3/);
    assert.doesNotMatch(r.stderr, /heartbeat/i, 'silently');
    await sleep(1100); // past HeartbeatSeconds: only the day-long pause holds it back
  }
  assert.equal(central.fleet.posts, 1, 'one request, then nothing for a day');
  assert.deepEqual(central.fleet.byStatus, { '404': 1 });
  // A day later (the state file's clock moved back a day, as if the day had passed).
  const stateFile = fs.readdirSync(x.dir).find((f) => f.endsWith('.state.json'))!;
  const file = path.join(x.dir, stateFile);
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { heartbeat: { lastAt: string; unsupportedUntil: string } };
  const dayAgo = (iso: string): string => new Date(Date.parse(iso) - 24 * 3600_000 - 1000).toISOString();
  state.heartbeat.lastAt = dayAgo(state.heartbeat.lastAt);
  state.heartbeat.unsupportedUntil = dayAgo(state.heartbeat.unsupportedUntil);
  fs.writeFileSync(file, JSON.stringify(state));
  const r = await tick(x);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(central.fleet.posts, 2, 'asked again after the day');
  assert.equal((await tick(x)).code, 0);
  assert.equal(central.fleet.posts, 2, 'and then left alone again');
});
