// `npm run bench --only fleet`: the reference head office's fleet page for 2,000 tills must be
// served well under a second (README of examples/central, "The fleet"). The heartbeats are real:
// a few pos-sync processes (bin/pos-sync) in different standings post theirs to a central, and
// those documents are replayed over HTTP under 2,000 store/till names to a fresh central, some of
// them then left silent past the threshold (NOT REPORTING). Then GET /fleet, whole answers, timed.

import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { startCentral } from '../../examples/central/server.js';
import type { Heartbeat } from '../../examples/central/fleet.js';
import { closedPort } from '../helpers/central.js';
import { stats } from './measure.js';
import type { CaseResult, Figure } from './run.js';

export interface FleetBenchInput {
  readonly work: string;
  readonly env: Record<string, string>;
  readonly bin: string;
  /** Timed page loads. */
  readonly runs: number;
  /** Tills replayed (2,000). */
  readonly tills: number;
}

const TILLS_PER_STORE = 5;

/** One real pos-sync command (asynchronous: the central answers in this process); throws unless it ends with `expect`. */
function posSync(input: FleetBenchInput, dir: string, args: string[], env: Record<string, string>, expect: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [input.bin, ...args], { cwd: dir, env: { ...input.env, ...env }, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (code !== expect) reject(new Error(`pos-sync ${args.join(' ')} exited ${code}, expected ${expect}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}


/** Heartbeats of real pos-sync processes: OK, DEGRADED (a dead letter), NOT SYNCING (events unreachable). */
async function captureHeartbeats(input: FleetBenchInput): Promise<Heartbeat[]> {
  const central = await startCentral({});
  try {
    const dead = await closedPort();
    const kinds: Array<{ till: string; env: Record<string, string>; expect: number; refuse?: boolean }> = [
      { till: 'ok', env: {}, expect: 0 },
      { till: 'degraded', env: { Sync__MaxRejections: '1' }, expect: 65, refuse: true },
      { till: 'not-syncing', env: { Sync__CentralApiEndpoint: `http://127.0.0.1:${dead}/api/inventory/events`, Sync__HeartbeatEndpoint: `${central.url}/api/inventory/heartbeat`, Sync__MaxRetryAttempts: '0' }, expect: 75 },
    ];
    const out: Heartbeat[] = [];
    for (const [i, k] of kinds.entries()) {
      const dir = path.join(input.work, 'fleet-capture', k.till);
      fs.mkdirSync(dir, { recursive: true });
      const env = { STORE_ID: 'CAPTURE', Sync__TillId: k.till, CENTRAL_API_URL: central.url, ...k.env };
      const db = path.join(dir, 'pos.db');
      await posSync(input, dir, ['--db', db, 'seed', '--transactions', String(5 + i), '--inventory', '2', '--random-seed', String(i + 1)], env, 0);
      if (k.refuse) {
        // Refuse one of its sales: the central knows the id from the till's own database.
        const ids = await posSync(input, dir, ['--db', db, '--json', 'sync', '--dry-run'], env, 0);
        const first = (JSON.parse(ids) as { wouldSend: { firstBatch: Array<{ id: string }> } }).wouldSend.firstBatch[0]!.id;
        central.setFaults({ refuseIds: [first] });
      }
      await posSync(input, dir, ['--db', db, 'sync'], env, k.expect);
      central.resetFaults();
      const got = central.fleet.book.history('CAPTURE', k.till);
      if (got === null || got.length === 0) throw new Error(`no heartbeat from the ${k.till} till`);
      out.push(got[0]!.heartbeat);
    }
    return out;
  } finally {
    await central.close();
  }
}

export async function fleetCase(input: FleetBenchInput): Promise<Omit<CaseResult, 'name' | 'durationMs'>> {
  const notes: string[] = [];
  const captured = await captureHeartbeats(input);
  notes.push(`captured ${captured.length} heartbeats of real pos-sync processes (${captured.map((h) => h.verdict).join(', ')}), ${captured.map((h) => JSON.stringify(h).length).join('/')} bytes`);
  let skewMs = 0;
  const central = await startCentral({ now: () => Date.now() + skewMs, fleet: { silenceSeconds: 300 } });
  try {
    const silent = Math.floor(input.tills / 10);
    const replay = async (from: number, to: number): Promise<void> => {
      // 16 at a time, as tills would arrive: each its own store/till, the rest of the document real.
      let next = from;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < to; i = next++) {
          const h = captured[i % captured.length]!;
          const storeId = `STORE${String(Math.floor(i / TILLS_PER_STORE)).padStart(4, '0')}`;
          const body = JSON.stringify({ ...h, storeId, tillId: `till-${i % TILLS_PER_STORE}` });
          const r = await fetch(`${central.url}/api/inventory/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-store-id': storeId }, body });
          if (r.status !== 200) throw new Error(`heartbeat ${i} answered ${r.status}: ${await r.text()}`);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    };
    const t0 = performance.now();
    await replay(0, silent);
    skewMs += 10 * 60_000; // the first tenth fall silent past the threshold
    await replay(silent, input.tills);
    const replayMs = performance.now() - t0;
    notes.push(`replayed ${input.tills} tills' heartbeats over HTTP in ${Math.round(replayMs)} ms (${Math.round(input.tills / (replayMs / 1000))}/s)`);

    const timed = async (url: string): Promise<{ ms: number; bytes: number; text: string }> => {
      const s = performance.now();
      const r = await fetch(url);
      const text = await r.text();
      if (r.status !== 200) throw new Error(`${url} answered ${r.status}`);
      return { ms: performance.now() - s, bytes: Buffer.byteLength(text), text };
    };
    const first = await timed(`${central.url}/fleet`); // warm-up, and the check that all are there
    const rows = (first.text.match(/<tr class="till /g) ?? []).length;
    if (rows !== input.tills) throw new Error(`/fleet lists ${rows} tills, expected ${input.tills}`);
    const notReporting = (first.text.match(/data-verdict="NOT REPORTING">/g) ?? []).length;
    if (notReporting !== silent) throw new Error(`/fleet shows ${notReporting} NOT REPORTING, expected ${silent}`);
    const pages: number[] = [];
    for (let i = 0; i < input.runs; i++) pages.push((await timed(`${central.url}/fleet`)).ms);
    const api: number[] = [];
    const metrics: number[] = [];
    for (let i = 0; i < Math.max(3, Math.floor(input.runs / 3)); i++) {
      api.push((await timed(`${central.url}/api/fleet`)).ms);
      metrics.push((await timed(`${central.url}/metrics`)).ms);
    }
    notes.push(`/fleet for ${input.tills} tills (${silent} NOT REPORTING): ${(first.bytes / 1024).toFixed(0)} KiB; /api/fleet median ${stats(api).median.toFixed(1)} ms; /metrics median ${stats(metrics).median.toFixed(1)} ms`);
    const subject = stats(pages);
    const baseline = stats(pages.map(() => 1000));
    const ratio = subject.median / baseline.median;
    const figure: Figure = {
      name: `fleet page for ${input.tills} tills (GET /fleet, whole answer, over loopback)`,
      unit: 'ms',
      subject: { label: 'reference central /fleet', stats: subject },
      baseline: { label: 'one second ("well under a second": at most a quarter)', stats: baseline },
      ratio,
      pairedRatio: ratio,
      target: { op: '<=', ratio: 0.25 },
      met: ratio <= 0.25,
    };
    return { status: 'ok', figures: [figure], notes };
  } finally {
    await central.close();
  }
}
