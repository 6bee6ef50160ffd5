// `npm run bench`: the figures of pos-sync-internals(7) PERFORMANCE, each against a baseline measured in the same run.
//
//   node dist/test/bench/run.js bench [--quick] [--only idle,deliver,breaker,seed,drain,memory,reconcile,fleet,kafka]
//                                     [--runs N] [--heavy-runs M] [--out DIR] [--bin FILE]
//
// --bin measures another build's bin/pos-sync (say, a worktree of an older commit) against the
// same baselines, for a before/after comparison.
//
// Every figure is whole processes, spawned: pos-sync through bin/pos-sync as a timer starts it,
// the baseline as bare Node or a raw script (bound-sqlite.ts and bound-central.ts, raw-seed.ts), and the floors
// beside the targets (least-tick.cts, least-drain.ts): the least such a run can do. Subject and baseline
// runs are interleaved (ABBA…) so drift in the machine's load hits both, and each figure is the
// median with its spread. The ratio is median(pos-sync) / median(baseline) (for rows/s, the
// other way round is what the target says: pos-sync ÷ raw). A machine shared with builds and a
// Kafka JVM gives noisy absolute numbers; the same-run ratio is the figure to read.
// Without the word `bench` it prints its usage and exits 0: `node --test` runs every file here.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startCentral, type RunningCentral } from '../../examples/central/server.js';
import { requestBound, writeBulkSales } from '../helpers/bulk-sales.js';
import { closedPort } from '../helpers/central.js';
import { fleetCase } from './fleet.js';
import { detectRssMethod, machine, measure, stats, type NodeRun, type RssMethod, type Sample, type Stats } from './measure.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
let BIN = path.join(REPO, 'bin', 'pos-sync');
const BOUND_SQLITE = path.join(HERE, 'bound-sqlite.js');
const BOUND_CENTRAL = path.join(HERE, 'bound-central.js');
const LEAST_TICK = path.join(HERE, 'least-tick.cjs');
const LEAST_DRAIN = path.join(HERE, 'least-drain.js');
/** Sync.TillId of the drains, so pos-sync's bodies and the bound's are the same bytes. */
const BENCH_TILL = 'bench-till';
const RAW_SEED = path.join(HERE, 'raw-seed.js');

export const CASES = ['idle', 'deliver', 'breaker', 'seed', 'drain', 'memory', 'reconcile', 'fleet', 'kafka'] as const;
export type CaseName = (typeof CASES)[number];

interface Sizes {
  readonly tickRuns: number;
  readonly heavyRuns: number;
  /** drain: the two backlogs measured against the bound. */
  readonly drainRows: number;
  readonly drainLarge: number;
  readonly memorySmall: number;
  readonly memoryLarge: number;
  readonly seedRows: number;
  readonly batch: number;
  /** reconcile: sales in the matching day, and in the month with a few missing. */
  readonly reconcileDay: number;
  readonly reconcileMonth: number;
  /** kafka: rows one pass delivers and publishes. */
  readonly kafkaRows: number;
}

const FULL: Sizes = { tickRuns: 31, heavyRuns: 3, drainRows: 100_000, drainLarge: 1_000_000, memorySmall: 100_000, memoryLarge: 1_000_000, seedRows: 1_000_000, batch: 500, reconcileDay: 20_000, reconcileMonth: 600_000, kafkaRows: 5_000 };
// The quick drain drains 20,000 and 50,000 rows: at 2,000 and 5,000 (as it was) a run lasted 0.1-0.3 s,
// and the figure was mostly the two processes' starts (pos-sync's ~100 ms against the bound's
// ~60 ms): 0.53× there while the same build drained 100,000 rows at 0.6×.
const QUICK: Sizes = { tickRuns: 3, heavyRuns: 1, drainRows: 20_000, drainLarge: 50_000, memorySmall: 1_000, memoryLarge: 5_000, seedRows: 2_000, batch: 500, reconcileDay: 2_000, reconcileMonth: 20_000, kafkaRows: 1_000 };

export interface Side {
  readonly label: string;
  readonly stats: Stats;
}

export interface Figure {
  readonly name: string;
  readonly unit: 'ms' | 'MiB' | 'rows/s';
  readonly subject: Side;
  readonly baseline: Side;
  /** pos-sync ÷ baseline, of the medians: the figure the target is judged on. */
  readonly ratio: number;
  /** The median of the ratios of runs made one after the other: less swayed by a drifting load. */
  readonly pairedRatio: number;
  readonly target: { readonly op: '<=' | '>='; readonly ratio: number };
  readonly met: boolean;
}

export interface CaseResult {
  readonly name: CaseName;
  readonly status: 'ok' | 'pending' | 'failed';
  readonly figures: Figure[];
  readonly notes: string[];
  readonly durationMs: number;
}

interface Bench {
  readonly sizes: Sizes;
  readonly method: RssMethod;
  readonly work: string;
  readonly central: RunningCentral;
  readonly env: Record<string, string>;
}

const MiB = (kb: number): number => kb / 1024;

function figure(name: string, unit: Figure['unit'], subject: Side, baseline: Side, target: Figure['target']): Figure {
  const ratio = subject.stats.median / baseline.stats.median;
  // The i-th runs of each side ran back to back (interleave), so their ratio shares the moment's load.
  const pairs = subject.stats.samples.map((v, i) => v / baseline.stats.samples[i]!).filter((r) => Number.isFinite(r));
  const pairedRatio = pairs.length > 0 ? stats(pairs).median : ratio;
  return { name, unit, subject, baseline, ratio, pairedRatio, target, met: target.op === '<=' ? ratio <= target.ratio : ratio >= target.ratio };
}

/** A node process run in the bench's folder with the bench's clean environment. */
function nodeRun(bench: Bench, args: readonly string[], timeoutMs: number, env: Record<string, string> = {}, cwd = bench.work): NodeRun {
  return { args, cwd, env: { ...bench.env, ...env }, timeoutMs };
}

/** pos-sync as its shebang and the Debian package's /usr/bin/pos-sync start it (bin/pos-sync's first line). */
function posSync(bench: Bench, args: readonly string[], timeoutMs: number, env: Record<string, string> = {}): NodeRun {
  return nodeRun(bench, ['--max-semi-space-size=4', BIN, ...args], timeoutMs, env);
}

async function run(bench: Bench, r: NodeRun): Promise<Sample> {
  return measure(r, bench.method, bench.work);
}

/** Runs a setup step (not measured) and insists on its exit code. */
async function setup(bench: Bench, r: NodeRun, expect = 0): Promise<Sample> {
  const s = await run(bench, r);
  if (s.code !== expect) throw new Error(`setup step node ${r.args.join(' ')} exited ${s.code}, expected ${expect}\n${s.stderr.slice(-2000)}`);
  return s;
}

/**
 * Runs `a` and `b` `n` times each, interleaved ABBA so a trend in the machine's load falls on
 * both; `check` sees every sample (and throws on a wrong one). One unmeasured warm-up each.
 */
async function interleave(bench: Bench, n: number, a: () => Promise<Sample>, b: () => Promise<Sample>, warmUp: boolean): Promise<[Sample[], Sample[]]> {
  if (warmUp) {
    await a();
    await b();
  }
  const as: Sample[] = [];
  const bs: Sample[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      as.push(await a());
      bs.push(await b());
    } else {
      bs.push(await b());
      as.push(await a());
    }
  }
  return [as, bs];
}

function subdir(bench: Bench, name: string): string {
  const dir = path.join(bench.work, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function removeDb(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '.pos-sync.lock']) fs.rmSync(file + suffix, { force: true });
  fs.rmSync(path.join(path.dirname(file), 'pos-sync.state.json'), { force: true });
}

function pendingRows(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM "PosTransactions" WHERE "Synced" = 0').pluck().get() as number;
  } finally {
    db.close();
  }
}


function seedArgs(db: string, rows: number): string[] {
  return ['--db', db, 'seed', '--transactions', String(rows), '--inventory', '0', '--random-seed', '42'];
}

// --- the cases ---

/** Nothing pending, central up, Kafka off: the tick that runs 8,640 times a day. */
async function idleCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const dir = subdir(bench, 'idle');
  const db = path.join(dir, 'POS_Local.db');
  // A store's database has history: rows the earlier passes delivered.
  await setup(bench, posSync(bench, seedArgs(db, 1000), 60_000));
  await setup(bench, posSync(bench, ['--db', db, '--central-url', bench.central.url, 'sync', '--batch-size', '500'], 60_000));
  const postsBefore = bench.central.stats().posts;
  const tick = async (): Promise<Sample> => {
    const s = await run(bench, posSync(bench, ['--db', db, '--central-url', bench.central.url, 'sync'], 20_000));
    if (s.code !== 0) throw new Error(`an idle tick exited ${s.code}\n${s.stderr}`);
    return s;
  };
  const bare = (): Promise<Sample> => run(bench, nodeRun(bench, ['-e', '0'], 20_000));
  const [ticks, bares] = await interleave(bench, bench.sizes.tickRuns, tick, bare, true);
  const notes: string[] = [];
  const sent = bench.central.stats().posts !== postsBefore;
  if (sent) notes.push('an idle tick sent a request');
  // The floor: the least an idle tick can do here (least-tick.cts), against `node -e 0` and pos-sync.
  const least = async (): Promise<Sample> => {
    const s = await run(bench, nodeRun(bench, [LEAST_TICK, 'idle', '--db', db, '--state', `${db}.pos-sync.state.json`], 20_000));
    if (s.code !== 0) throw new Error(`least-tick idle exited ${s.code}\n${s.stderr}`);
    return s;
  };
  const [leasts, moreBares] = await interleave(bench, bench.sizes.tickRuns, least, bare, true);
  notes.push(floorNote('an idle tick', leasts, moreBares, 'node -e 0', ticks));
  return { status: sent ? 'failed' : 'ok', figures: tickFigures('idle tick', ticks, bares), notes };
}

/**
 * What the least-tick.cts floor measured (wall-time medians), beside the target's baseline and
 * pos-sync: a target below the floor's ratio cannot be met by any code on this machine.
 */
function floorNote(what: string, leasts: readonly Sample[], baselines: readonly Sample[], baseline: string, ours: readonly Sample[]): string {
  const ms = (samples: readonly Sample[]): number => stats(samples.map((x) => x.wallMs)).median;
  return (
    `floor: the least ${what} can do (least-tick.cjs) ${ms(leasts).toFixed(1)} ms = ${(ms(leasts) / ms(baselines)).toFixed(2)}× ${baseline}; ` +
    `pos-sync's ${ms(ours).toFixed(1)} ms is ${(ms(ours) / ms(leasts)).toFixed(2)}× the floor`
  );
}

/** README → Performance: an idle or open-breaker tick ≤ 1.2× `node -e 0`, a delivering tick ≤ 1.3× an idle tick. */
function tickFigures(what: string, ticks: Sample[], bares: Sample[], baseline = 'node -e 0', ratio = 1.2): Figure[] {
  return [
    figure(`${what} wall time`, 'ms', { label: 'pos-sync sync', stats: stats(ticks.map((s) => s.wallMs)) }, { label: baseline, stats: stats(bares.map((s) => s.wallMs)) }, { op: '<=', ratio }),
    figure(`${what} peak RSS`, 'MiB', { label: 'pos-sync sync', stats: stats(ticks.map((s) => MiB(s.peakRssKb))) }, { label: baseline, stats: stats(bares.map((s) => MiB(s.peakRssKb))) }, { op: '<=', ratio }),
  ];
}

/**
 * A tick that delivers a few rows (3 sales) against an idle tick on the same database: what a
 * quiet store's tick costs when a sale came in. Before each delivering tick the bench puts 3
 * delivered rows back to pending (not timed); the central deduplicates and acknowledges them.
 * After it, one more tick (not timed) records the idle pass that follows a delivery (the full
 * pass: the state file's last pass changes), so every idle tick timed is the timer's steady idle
 * tick, answered by the fast path — not, every other one, that first tick after a delivery.
 */
async function deliverCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const dir = subdir(bench, 'deliver');
  const db = path.join(dir, 'POS_Local.db');
  await setup(bench, posSync(bench, seedArgs(db, 1000), 60_000));
  await setup(bench, posSync(bench, ['--db', db, '--central-url', bench.central.url, 'sync', '--batch-size', '500'], 60_000));
  const args = ['--db', db, '--central-url', bench.central.url, 'sync'];
  const requeue = (): void => {
    const d = new Database(db);
    try {
      d.prepare('UPDATE "PosTransactions" SET "Synced" = 0 WHERE rowid IN (SELECT rowid FROM "PosTransactions" ORDER BY rowid DESC LIMIT 3)').run();
    } finally {
      d.close();
    }
  };
  /** One timed delivery of the 3 rows put back to pending, checked: it reached the central and left nothing pending. */
  const delivery = async (what: string, r: NodeRun): Promise<Sample> => {
    requeue();
    const posts = bench.central.stats().posts;
    const s = await run(bench, r);
    if (s.code !== 0 || bench.central.stats().posts === posts || pendingRows(db) !== 0) throw new Error(`${what} exited ${s.code}, sent ${bench.central.stats().posts - posts} requests, left ${pendingRows(db)} pending\n${s.stderr}`);
    return s;
  };
  const deliver = async (): Promise<Sample> => {
    const s = await delivery('a delivering tick', posSync(bench, args, 20_000));
    await setup(bench, posSync(bench, args, 20_000));
    return s;
  };
  const idle = async (): Promise<Sample> => {
    const s = await run(bench, posSync(bench, args, 20_000));
    if (s.code !== 0) throw new Error(`an idle tick exited ${s.code}\n${s.stderr}`);
    return s;
  };
  const [delivers, idles] = await interleave(bench, bench.sizes.tickRuns, deliver, idle, true);
  // The floor: the least a tick delivering the same 3 rows can do (least-tick.cts), against the idle tick.
  const leastState = path.join(dir, 'least-tick.state.json');
  const least = (): Promise<Sample> =>
    delivery('least-tick deliver', nodeRun(bench, [LEAST_TICK, 'deliver', '--db', db, '--url', bench.central.eventsUrl, '--state', leastState, '--till', BENCH_TILL], 20_000));
  const [leasts, moreIdles] = await interleave(bench, bench.sizes.tickRuns, least, idle, true);
  return { status: 'ok', figures: tickFigures('tick delivering 3 rows', delivers, idles, 'idle tick', 1.3), notes: [floorNote('a tick delivering 3 rows', leasts, moreIdles, 'the idle tick', delivers)] };
}

/** The circuit is open (the central was down), rows are pending: the tick must refuse at once. */
async function breakerCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const dir = subdir(bench, 'breaker');
  const db = path.join(dir, 'POS_Local.db');
  // One failed request opens it, and it stays open for the whole bench.
  const env = {
    Sync__MaxRetryAttempts: '0',
    Sync__CircuitBreaker__FailureThreshold: '1',
    Sync__CircuitBreaker__BreakSeconds: '3600',
    Sync__CircuitBreaker__MaxBreakSeconds: '3600',
  };
  await setup(bench, posSync(bench, seedArgs(db, 1000), 60_000));
  const down = `http://127.0.0.1:${await closedPort()}`;
  await setup(bench, posSync(bench, ['--db', db, '--central-url', down, 'sync'], 30_000, env), 75);
  // From here on the central is up: only an open breaker keeps the tick from sending.
  const postsBefore = bench.central.stats().posts;
  const tickRun = posSync(bench, ['--db', db, '--central-url', bench.central.url, 'sync'], 20_000, env);
  const first = await run(bench, tickRun);
  if (first.code !== 75 || bench.central.stats().posts !== postsBefore) {
    return {
      status: 'pending',
      figures: [],
      notes: [`no open circuit breaker in this build: a tick after a failed pass exited ${first.code} and sent ${bench.central.stats().posts - postsBefore} requests`],
    };
  }
  const tick = async (): Promise<Sample> => {
    const s = await run(bench, tickRun);
    if (s.code !== 75) throw new Error(`an open-breaker tick exited ${s.code}, expected 75\n${s.stderr}`);
    return s;
  };
  const bare = (): Promise<Sample> => run(bench, nodeRun(bench, ['-e', '0'], 20_000));
  const [ticks, bares] = await interleave(bench, bench.sizes.tickRuns, tick, bare, true);
  const notes: string[] = [];
  if (bench.central.stats().posts !== postsBefore) notes.push('an open-breaker tick sent a request');
  return { status: notes.length ? 'failed' : 'ok', figures: tickFigures('open-breaker tick', ticks, bares), notes };
}

/** `seed --transactions N` against the raw insert of the same rows. Leaves a full database for `memory`. */
async function seedCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const dir = subdir(bench, 'seed');
  const rows = bench.sizes.seedRows;
  const source = path.join(dir, 'seeded.db'); // the first pos-sync run's output: raw-seed's rows
  const target = path.join(dir, 'run.db');
  let first = true;
  const ours = async (): Promise<Sample> => {
    const file = first ? source : target;
    removeDb(file);
    const s = await run(bench, posSync(bench, seedArgs(file, rows), 600_000));
    if (s.code !== 0) throw new Error(`seed exited ${s.code}\n${s.stderr}`);
    first = false;
    return s;
  };
  const raw = async (): Promise<Sample> => {
    removeDb(target);
    await setup(bench, posSync(bench, seedArgs(target, 0), 60_000)); // the schema, not timed
    const s = await run(bench, nodeRun(bench, [RAW_SEED, '--from', source, '--db', target], 600_000));
    if (s.code !== 0 || JSON.parse(s.stdout).rows !== rows) throw new Error(`raw-seed exited ${s.code}: ${s.stdout}\n${s.stderr}`);
    return s;
  };
  // No warm-up: the first pos-sync run makes raw-seed's source; ours always goes first.
  const oursRuns: Sample[] = [];
  const rawRuns: Sample[] = [];
  for (let i = 0; i < bench.sizes.heavyRuns; i++) {
    if (i % 2 === 0) {
      oursRuns.push(await ours());
      rawRuns.push(await raw());
    } else {
      rawRuns.push(await raw());
      oursRuns.push(await ours());
    }
  }
  removeDb(target);
  const notes: string[] = [];
  if (pendingRows(source) !== rows) notes.push(`seed left ${pendingRows(source)} pending rows, expected ${rows}`);
  return {
    status: notes.length ? 'failed' : 'ok',
    figures: [
      figure(
        `seed ${rows} transactions wall time`,
        'ms',
        { label: `pos-sync seed --transactions ${rows}`, stats: stats(oursRuns.map((s) => s.wallMs)) },
        { label: 'raw better-sqlite3 insert (raw-seed.js)', stats: stats(rawRuns.map((s) => s.wallMs)) },
        { op: '<=', ratio: 2 },
      ),
    ],
    notes,
  };
}

async function template(bench: Bench, name: string, rows: number, from?: string): Promise<string> {
  const file = path.join(bench.work, 'templates', `${name}.db`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (from && fs.existsSync(from) && pendingRows(from) === rows) {
    fs.copyFileSync(from, file);
  } else {
    await setup(bench, posSync(bench, seedArgs(file, rows), 600_000));
  }
  return file;
}

interface DrainRun {
  readonly sample: Sample;
  readonly bytes: number;
}

function freshCopy(bench: Bench, tpl: string): string {
  const db = path.join(subdir(bench, 'drain'), 'POS_Local.db');
  removeDb(db);
  fs.copyFileSync(tpl, db);
  return db;
}

/** One drain of a fresh copy of `tpl` by pos-sync; checks every row arrived once. */
async function drainOnce(bench: Bench, tpl: string, rows: number): Promise<DrainRun> {
  const args = ['sync', '--batch-size', String(bench.sizes.batch), '--max-run-seconds', '3600'];
  return checkedDrain(bench, tpl, rows, 'pos-sync drain', (db, timeoutMs) => posSync(bench, ['--db', db, '--central-url', bench.central.url, ...args], timeoutMs, { Sync__TillId: BENCH_TILL }));
}

/**
 * One drain of a fresh copy of `tpl` by what `start` runs: whole process, and only if it exited 0,
 * the central stored every row once and nothing is left pending; with the bytes of bodies it sent.
 */
async function checkedDrain(bench: Bench, tpl: string, rows: number, what: string, start: (db: string, timeoutMs: number) => NodeRun): Promise<DrainRun> {
  const db = freshCopy(bench, tpl);
  bench.central.reset();
  const sample = await run(bench, start(db, 60_000 + rows)); // a generous bound: 1 ms a row
  if (sample.code !== 0) throw new Error(`${what} exited ${sample.code}\n${sample.stderr.slice(-2000)}`);
  const stored = bench.central.stats().eventsStored;
  const left = pendingRows(db);
  if (stored !== rows || left !== 0) throw new Error(`${what}: the central stored ${stored} of ${rows} events, ${left} rows left pending`);
  const bytes = bench.central.requests().reduce((sum, req) => sum + req.bodyBytes, 0);
  removeDb(db);
  return { sample, bytes };
}

/** The SQLite leg of the bound: bound-sqlite.js reads, encodes and marks a fresh copy; whole process. */
async function sqliteLeg(bench: Bench, tpl: string, rows: number): Promise<Sample> {
  const db = freshCopy(bench, tpl);
  const sample = await run(bench, nodeRun(bench, [BOUND_SQLITE, '--db', db, '--till', BENCH_TILL, '--batch', String(bench.sizes.batch)], 60_000 + rows));
  if (sample.code !== 0 || JSON.parse(sample.stdout).rows !== rows || pendingRows(db) !== 0) throw new Error(`bound-sqlite exited ${sample.code}: ${sample.stdout}\n${sample.stderr.slice(-2000)}`);
  removeDb(db);
  return sample;
}

/**
 * The central's leg of the bound: the same bodies (written once by bound-sqlite.js, not timed)
 * POSTed by bound-central.js, which does nothing else; the time of its posting loop only.
 */
async function centralLeg(bench: Bench, bodies: string, rows: number): Promise<DrainRun> {
  bench.central.reset();
  const sample = await run(bench, nodeRun(bench, [BOUND_CENTRAL, '--bodies', bodies, '--url', bench.central.eventsUrl], 60_000 + rows));
  if (sample.code !== 0) throw new Error(`bound-central exited ${sample.code}\n${sample.stderr.slice(-2000)}`);
  const stored = bench.central.stats().eventsStored;
  if (stored !== rows) throw new Error(`bound-central: the central stored ${stored} of ${rows} events`);
  const { loopMs } = JSON.parse(sample.stdout) as { loopMs: number };
  const bytes = bench.central.requests().reduce((sum, req) => sum + req.bodyBytes, 0);
  return { sample: { ...sample, wallMs: loopMs }, bytes };
}

/** The drain's floor: least-drain.js delivers a fresh copy in one thread; whole process, like pos-sync's. */
function leastDrain(bench: Bench, tpl: string, rows: number): Promise<DrainRun> {
  const args = ['--url', bench.central.eventsUrl, '--till', BENCH_TILL, '--batch', String(bench.sizes.batch)];
  return checkedDrain(bench, tpl, rows, 'least-drain', (db, timeoutMs) => nodeRun(bench, [LEAST_DRAIN, '--db', db, ...args], timeoutMs));
}

/**
 * Draining N pending rows in batches of 500 to the central on loopback, against the physical
 * bound measured in the same run: SQLite reading, encoding and marking alone (bound-sqlite.js),
 * and the central accepting the same bodies alone (bound-central.js). Overlapped — the next batch
 * read while the central works on this one, each on its own core — the two legs run at the pace
 * of the slower: the bound is min(SQLite rows/s, central rows/s), run by run.
 */
async function drainCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const figures: Figure[] = [];
  const notes: string[] = [];
  let failed = false;
  for (const rows of [bench.sizes.drainRows, bench.sizes.drainLarge]) {
    const tpl = await template(bench, `pending-${rows}`, rows, path.join(bench.work, 'seed', 'seeded.db'));
    const bodies = path.join(bench.work, 'drain', `bodies-${rows}.bin`);
    await setup(bench, nodeRun(bench, [BOUND_SQLITE, '--db', freshCopy(bench, tpl), '--till', BENCH_TILL, '--batch', String(bench.sizes.batch), '--bodies', bodies], 60_000 + rows));
    const ours: DrainRun[] = [];
    const sqlite: Sample[] = [];
    const central: DrainRun[] = [];
    const least: DrainRun[] = [];
    for (let i = 0; i < bench.sizes.heavyRuns; i++) {
      // Rotated, so a trend in the machine's load falls on every side.
      const order = [0, 1, 2, 3].map((k) => (k + i) % 4);
      for (const k of order) {
        if (k === 0) ours.push(await drainOnce(bench, tpl, rows));
        else if (k === 1) sqlite.push(await sqliteLeg(bench, tpl, rows));
        else if (k === 2) central.push(await centralLeg(bench, bodies, rows));
        else least.push(await leastDrain(bench, tpl, rows));
      }
    }
    fs.rmSync(bodies, { force: true });
    const rate = (s: Sample): number => rows / (s.wallMs / 1000);
    const bound = sqlite.map((s, i) => Math.min(rate(s), rate(central[i]!.sample)));
    const sameBytes = [...ours, ...least].every((o) => central.every((c) => c.bytes === o.bytes));
    if (!sameBytes) failed = true;
    const cpu = (samples: readonly Sample[]): number => Math.round(stats(samples.map((x) => x.cpuMs)).median);
    notes.push(
      `${rows} rows: SQLite alone ${Math.round(stats(sqlite.map(rate)).median).toLocaleString('en-US')} rows/s, ` +
        `the central alone ${Math.round(stats(central.map((c) => rate(c.sample))).median).toLocaleString('en-US')} rows/s; ` +
        (sameBytes ? `pos-sync and the bound sent the same ${ours[0]!.bytes} bytes of bodies` : `bodies differ: pos-sync ${ours.map((o) => o.bytes).join('/')} bytes, bound ${central.map((c) => c.bytes).join('/')}`),
    );
    // CPU time (user + system, whole process, medians) is less swayed by a shared machine than
    // wall time, and shows what one thread must do: pos-sync does the SQLite leg's work and the
    // HTTP client's (bound-central.js's) in one process.
    notes.push(
      `${rows} rows, CPU time: pos-sync ${cpu(ours.map((o) => o.sample))} ms, SQLite leg ${cpu(sqlite)} ms, ` +
        `the central leg's client (bound-central.js) ${cpu(central.map((c) => c.sample))} ms`,
    );
    // The floor: what a drain doing only what it must, in one thread, reaches here (least-drain.ts),
    // run by run against the same run's bound, and pos-sync against it.
    const median = (xs: readonly number[]): number => stats(xs).median;
    const leastRates = least.map((l) => rate(l.sample));
    notes.push(
      `floor: the least ${rows}-row drain in one thread (least-drain.js) ${Math.round(median(leastRates)).toLocaleString('en-US')} rows/s = ` +
        `${median(leastRates.map((r, i) => r / bound[i]!)).toFixed(2)}× the overlapped bound (paired); ` +
        `pos-sync is ${median(ours.map((o, i) => rate(o.sample) / leastRates[i]!)).toFixed(2)}× the floor's throughput, CPU time ${cpu(ours.map((o) => o.sample))} against ${cpu(least.map((l) => l.sample))} ms`,
    );
    figures.push(
      figure(
        `drain ${rows} rows (batch ${bench.sizes.batch}) throughput`,
        'rows/s',
        { label: 'pos-sync sync, one pass', stats: stats(ours.map((o) => rate(o.sample))) },
        { label: 'overlapped bound: min(SQLite alone, central alone)', stats: stats(bound) },
        { op: '>=', ratio: 0.85 },
      ),
    );
  }
  return { status: failed ? 'failed' : 'ok', figures, notes };
}

/**
 * Peak RSS of ONE pass draining the large backlog (with --max-run-seconds 3600, so nothing but
 * the backlog ends it) against one pass draining the small one: memory must not follow the
 * backlog. One long pass is the harder test — several short passes would each start afresh.
 */
async function memoryCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const { memorySmall: small, memoryLarge: large } = bench.sizes;
  const smallTpl = await template(bench, `pending-${small}`, small);
  const largeTpl = await template(bench, `pending-${large}`, large, path.join(bench.work, 'seed', 'seeded.db'));
  const [larges, smalls] = await interleave(
    bench,
    bench.sizes.heavyRuns,
    async () => (await drainOnce(bench, largeTpl, large)).sample,
    async () => (await drainOnce(bench, smallTpl, small)).sample,
    false,
  );
  return {
    status: 'ok',
    figures: [
      figure(
        `drain peak RSS, ${large} vs ${small} pending rows`,
        'MiB',
        { label: `pos-sync sync, ${large} rows`, stats: stats(larges.map((s) => MiB(s.peakRssKb))) },
        { label: `pos-sync sync, ${small} rows`, stats: stats(smalls.map((s) => MiB(s.peakRssKb))) },
        { op: '<=', ratio: 1.2 },
      ),
    ],
    notes: [`${large} rows drained in ${Math.round(stats(larges.map((s) => s.wallMs)).median)} ms (median), one pass`],
  };
}

/**
 * `pos-sync reconcile` (README "Reconciliation"): a matching day of 20,000 sales must cost two
 * requests and well under a second; a month of 600,000 with 3 missing must be located within the
 * documented number of requests; and peak memory must not grow with the window (the month, also
 * matching, against the day). Both sides' data are written directly (test/helpers/bulk-sales.ts).
 */
async function reconcileCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const dir = subdir(bench, 'reconcile');
  const { reconcileDay: dayRows, reconcileMonth: monthRows } = bench.sizes;
  const centralDb = path.join(dir, 'central.db');
  const dayDb = path.join(dir, 'day.db');
  const monthDb = path.join(dir, 'month.db');
  const matchDb = path.join(dir, 'month-match.db');
  const missing = new Set([Math.floor(monthRows * 0.007), Math.floor(monthRows * 0.5), Math.floor(monthRows * 0.93)]);
  const t0 = Date.now();
  writeBulkSales({ db: dayDb, centralDb, from: Date.parse('2026-03-10T00:00:00Z'), spanMs: 86_400_000, count: dayRows, prefix: 'DA000001' });
  writeBulkSales({ db: monthDb, centralDb, from: Date.parse('2026-01-01T00:00:00Z'), spanMs: 31 * 86_400_000, count: monthRows, missing, prefix: 'M0000001', storeId: 'STORE002' });
  writeBulkSales({ db: matchDb, centralDb, from: Date.parse('2026-05-01T00:00:00Z'), spanMs: 31 * 86_400_000, count: monthRows, prefix: 'M0000002', storeId: 'STORE003' });
  const central = await startCentral({ dbPath: centralDb });
  const notes: string[] = [`data written in ${Date.now() - t0} ms`];
  try {
    type Run = Sample & { requests: number };
    const reconcile = (db: string, store: string, window: string[], expect: number) => async (): Promise<Run> => {
      const s = await run(bench, posSync(bench, ['--db', db, '--store-id', store, '--central-url', central.url, '--json', 'reconcile', ...window, '--max-run-seconds', '600'], 900_000));
      if (s.code !== expect) throw new Error(`reconcile ${window.join(' ')} exited ${s.code}, expected ${expect}\n${s.stderr.slice(-2000)}`);
      return { ...s, requests: (JSON.parse(s.stdout) as { requests: number }).requests };
    };
    const day = reconcile(dayDb, 'STORE001', ['--date', '2026-03-10'], 0);
    const bare = (): Promise<Sample> => run(bench, nodeRun(bench, ['-e', '0'], 20_000));
    // The warm-up also lets the central index what it stored (once, on its first summary request).
    const [days, bares] = await interleave(bench, Math.max(3, bench.sizes.heavyRuns * 2), day, bare, true);
    const dayRequests = new Set(days.map((s) => (s as Run).requests));
    notes.push(`matching day of ${dayRows} sales: ${[...dayRequests].join('/')} requests, ${Math.round(stats(days.map((s) => s.wallMs)).median)} ms median wall time (whole process)`);
    const failed = dayRequests.size !== 1 || !dayRequests.has(2);

    const monthMatch = reconcile(matchDb, 'STORE003', ['--from', '2026-05-01', '--to', '2026-06-01'], 0);
    await monthMatch(); // the central indexes the month on its first summary request
    const [months, daysAgain] = await interleave(bench, bench.sizes.heavyRuns, monthMatch, day, false);

    const mismatch = reconcile(monthDb, 'STORE002', ['--from', '2026-01-01', '--to', '2026-02-01'], 65);
    const found = await mismatch();
    const bound = requestBound(2, missing.size, 31, Math.ceil(monthRows / (31 * 24)));
    notes.push(`month of ${monthRows} sales, ${missing.size} missing: located in ${found.requests} requests (documented bound ${bound}), ${Math.round(found.wallMs)} ms wall time`);
    notes.push(`month of ${monthRows} sales, matching: ${Math.round(stats(months.map((s) => s.wallMs)).median)} ms median wall time, 2 requests`);
    return {
      status: failed || found.requests > bound ? 'failed' : 'ok',
      figures: [
        figure(
          `reconcile, a matching day of ${dayRows} sales, wall time`,
          'ms',
          { label: 'pos-sync reconcile --date', stats: stats(days.map((s) => s.wallMs)) },
          { label: 'one second ("well under a second": at most half)', stats: stats(bares.map(() => 1000)) },
          { op: '<=', ratio: 0.5 },
        ),
        figure(
          `reconcile peak RSS, a month of ${monthRows} vs a day of ${dayRows} sales`,
          'MiB',
          { label: 'pos-sync reconcile, month', stats: stats(months.map((s) => MiB(s.peakRssKb))) },
          { label: 'pos-sync reconcile, day', stats: stats(daysAgain.map((s) => MiB(s.peakRssKb))) },
          { op: '<=', ratio: 1.2 },
        ),
      ],
      notes,
    };
  } finally {
    await central.close();
  }
}

/**
 * The cost of publishing in Kafka transactions (man page, KAFKA, "Each event once"): one pass
 * delivering and publishing a backlog, against the same pass with Kafka off, and the requests the
 * pass sent to Kafka (`kafka.requests` of sync --json). Needs the test broker
 * (KAFKA_TEST_BROKERS, as the Kafka tests); without one the case is pending.
 */
async function kafkaCase(bench: Bench): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const brokers = process.env['KAFKA_TEST_BROKERS'] ?? '127.0.0.1:39092';
  const first = brokers.split(',')[0]!.trim();
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: first.slice(0, first.lastIndexOf(':')), port: Number(first.slice(first.lastIndexOf(':') + 1)) });
    socket.setTimeout(1_000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (!reachable) return { status: 'pending', figures: [], notes: [`no Kafka broker at ${first}: bash test/kafka/broker.sh start`] };
  const rows = bench.sizes.kafkaRows;
  const tpl = await template(bench, `pending-${rows}`, rows);
  const dir = subdir(bench, 'kafka');
  const db = path.join(dir, 'POS_Local.db');
  const topic = `pos-sync-bench-${process.pid}-${Date.now().toString(36)}`;
  type Run = Sample & { requests: number; published: number };
  const pass = (kafka: boolean) => async (): Promise<Run> => {
    removeDb(db);
    fs.copyFileSync(tpl, db);
    bench.central.reset();
    const env: Record<string, string> = kafka ? { Kafka__Enabled: 'true', Kafka__BootstrapServers: brokers, Kafka__InventoryTopic: topic, Sync__TillId: 'bench' } : {};
    const s = await run(bench, posSync(bench, ['--db', db, '--central-url', bench.central.url, '--json', 'sync', '--batch-size', String(bench.sizes.batch), '--max-run-seconds', '600'], 120_000, env));
    if (s.code !== 0) throw new Error(`sync with Kafka ${kafka ? 'on' : 'off'} exited ${s.code}\n${s.stderr.slice(-2000)}`);
    const k = (JSON.parse(s.stdout) as { kafka: { published: number; requests?: number } | null }).kafka;
    if (kafka && k?.published !== rows) throw new Error(`the pass published ${k?.published ?? 0} of ${rows} events`);
    return { ...s, requests: k?.requests ?? 0, published: k?.published ?? 0 };
  };
  const [on, off] = await interleave(bench, bench.sizes.heavyRuns, pass(true), pass(false), true);
  const requests = (on as Run[]).map((r) => r.requests);
  return {
    status: 'ok',
    figures: [
      figure(
        `a pass delivering and publishing ${rows} rows, wall time`,
        'ms',
        { label: 'pos-sync sync, Kafka on (transactions)', stats: stats(on.map((x) => x.wallMs)) },
        { label: 'pos-sync sync, Kafka off', stats: stats(off.map((x) => x.wallMs)) },
        // Loading kafkajs and setting up the transactional producer (about 0.5-1 s) weighs most
        // on a small backlog.
        { op: '<=', ratio: 4 },
      ),
    ],
    notes: [`Kafka requests per pass publishing ${rows} events: ${[...new Set(requests)].join('/')} (${(stats(requests).median / rows).toFixed(3)} per event)`],
  };
}

const RUNNERS: Record<CaseName, (bench: Bench) => Promise<Omit<CaseResult, 'name' | 'durationMs'>>> = {
  idle: idleCase,
  deliver: deliverCase,
  breaker: breakerCase,
  seed: seedCase,
  drain: drainCase,
  memory: memoryCase,
  reconcile: reconcileCase,
  // The reference head office's fleet page (fleet.ts): 2,000 tills, also with --quick.
  fleet: (b) => fleetCase({ work: b.work, env: b.env, bin: BIN, runs: b.sizes.tickRuns, tills: 2000 }),
  kafka: kafkaCase,
};

// --- output ---

function fmt(value: number, unit: Figure['unit']): string {
  if (unit === 'rows/s') return `${Math.round(value).toLocaleString('en-US')}`;
  if (unit === 'MiB') return value.toFixed(1);
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function side(s: Side, unit: Figure['unit']): string {
  return `${fmt(s.stats.median, unit)} ${unit} (${fmt(s.stats.min, unit)}–${fmt(s.stats.max, unit)}, n=${s.stats.samples.length})`;
}

export function renderTable(results: readonly CaseResult[]): string {
  const lines: string[] = [];
  for (const c of results) {
    if (c.status === 'pending') {
      lines.push(`${c.name}: PENDING — ${c.notes.join('; ')}`);
      continue;
    }
    for (const f of c.figures) {
      lines.push(`${f.name}`);
      lines.push(`  pos-sync  ${side(f.subject, f.unit)}   [${f.subject.label}]`);
      lines.push(`  baseline  ${side(f.baseline, f.unit)}   [${f.baseline.label}]`);
      lines.push(`  ratio     ${f.ratio.toFixed(2)}× (paired runs ${f.pairedRatio.toFixed(2)}×)   target ${f.target.op} ${f.target.ratio}×   ${f.met ? 'MET' : 'MISSED'}`);
    }
    for (const n of c.notes) lines.push(`  note: ${n}`);
    if (c.status === 'failed') lines.push(`  ${c.name}: FAILED`);
  }
  return `${lines.join('\n')}\n`;
}

// --- main ---

export async function bench(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      'heavy-runs': { type: 'string' },
      out: { type: 'string' },
      bin: { type: 'string' },
    },
  });
  if (values.bin) BIN = path.resolve(values.bin);
  const base = values.quick ? QUICK : FULL;
  const sizes: Sizes = {
    ...base,
    ...(values.runs ? { tickRuns: Number(values.runs) } : {}),
    ...(values['heavy-runs'] ? { heavyRuns: Number(values['heavy-runs']) } : {}),
  };
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...CASES];
  for (const name of only) if (!(CASES as readonly string[]).includes(name)) throw new Error(`unknown case ${name}; cases: ${CASES.join(', ')}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pos-sync-bench-'));
  const method = detectRssMethod(work);
  const central = await startCentral({ dbPath: path.join(work, 'central.db'), requestLogSize: Math.ceil(Math.max(sizes.memoryLarge, sizes.drainLarge) / sizes.batch) + 10 });
  // Nothing of the caller's shell may steer pos-sync (POS_SYNC_*, Sync__*, STORE_ID…); HOME is the
  // bench's folder so no user config file is found; Kafka is off as pos-sync-internals(7) PERFORMANCE says.
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, Kafka__Enabled: 'false' };
  const b: Bench = { sizes, method, work, central, env };
  const startedAt = new Date();
  const info = machine();
  process.stdout.write(
    `pos-sync bench${values.quick ? ' --quick' : ''}: ${info['cores']} cores (${info['cpuModel']}), node ${info['node']}, load ${(info['loadAverage'] as number[]).join(' ')}; ` +
      `peak RSS by ${method === 'gnu-time' ? 'GNU time (/usr/bin/time %M)' : 'process.resourceUsage().maxRSS via --import hook'}\n\n`,
  );
  const results: CaseResult[] = [];
  try {
    // seed runs before memory: its output is memory's large backlog.
    for (const name of CASES.filter((c) => only.includes(c))) {
      const t0 = Date.now();
      let r: Omit<CaseResult, 'name' | 'durationMs'>;
      try {
        r = await RUNNERS[name](b);
      } catch (err) {
        r = { status: 'failed', figures: [], notes: [err instanceof Error ? err.message : String(err)] };
      }
      const result: CaseResult = { name, ...r, durationMs: Date.now() - t0 };
      results.push(result);
      process.stdout.write(renderTable([result]));
    }
  } finally {
    await central.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const report = {
    version: 1,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    quick: values.quick === true,
    machine: { ...info, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    rssMethod: method,
    bin: BIN,
    sizes,
    cases: results,
  };
  const outDir = values.out ?? path.join(REPO, 'bench-results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
  const missed = results.flatMap((c) => c.figures.filter((f) => !f.met).map((f) => f.name));
  process.stdout.write(`\nresults: ${outFile}\n${missed.length ? `targets missed: ${missed.join('; ')}` : 'every measured target met'}\n`);
  return results.some((c) => c.status === 'failed') ? 1 : 0;
}

if (process.argv[2] === 'bench') {
  bench(process.argv.slice(3)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.stdout.write('usage: node dist/test/bench/run.js bench [--quick] [--only idle,deliver,breaker,seed,drain,memory,reconcile,fleet,kafka] [--runs N] [--heavy-runs M] [--out DIR] [--bin FILE]\n');
}
