// Fault matrix: the real binary against the reference central with one kind of fault
// at a time (and all at once). Every temporary fault must converge, within a bounded number of
// passes, to every row delivered exactly once after deduplication, nothing dead-lettered and no
// row's refusal count touched; passes exit only 0 or 75 on the way (pos-sync-central(7); pos-sync(1) EXIT STATUS).
//
// POS_SYNC_SOAK=1 uses 1,000 rows per case instead of 240. POS_SYNC_TEST_SEED=<n> replays a run.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCentral, type FaultsUpdate, type RequestRecord, type RunningCentral } from '../examples/central/server.js';
import { tmpDirs } from './helpers/tmp.js';
import {
  countPending,
  deliveryReport,
  describeReport,
  integrityCheck,
  passArgs,
  Processes,
  SOAK,
  stateFileProblem,
  testSeed,
  writeSettings,
  type PassRun,
} from './helpers/torture.js';

const SEED = testSeed(7_003);
const TRANSACTIONS = SOAK ? 750 : 180;
const INVENTORY = SOAK ? 250 : 60;
const MAX_PASSES = 40;
/** Generous: on two cores shared with other test files a pass can take seconds just to start. */
const CASE_BUDGET_MS = 150_000;

const tmp = tmpDirs('faults');
const procs = new Processes();
let template: string;

before(async () => {
  // One seeded database, copied for every case: the same rows meet every fault.
  const dir = tmp.make('faults-template');
  template = path.join(dir, 'POS_Local.db');
  const config = writeSettings(dir, {});
  const run = await procs.startPass(['--config', config, '--db', template, 'seed', '--transactions', String(TRANSACTIONS), '--inventory', String(INVENTORY), '--random-seed', String(SEED)], {
    cwd: dir,
    timeoutMs: 60_000,
  }).done;
  assert.equal(run.code, 0, run.stderr);
});

after(async () => {
  await procs.killAll();
  tmp.cleanup();
});

interface FaultCase {
  readonly name: string;
  readonly faults: FaultsUpdate;
  /** Sync settings over the matrix's defaults. */
  readonly sync?: Record<string, unknown>;
  /** Runs beside the passes (e.g. flipping the central); returns its stop function. */
  readonly meanwhile?: (central: RunningCentral) => () => void;
  /**
   * The fault makes the central store batches whose answer the pass never takes as an
   * acknowledgement: ids must go out again (the central keeps one copy). Without it, none may.
   */
  readonly resends?: boolean;
  /** Every pass must exit 0 (not only 0 or 75). */
  readonly allSucceed?: boolean;
  /** An extra check on what the central saw. */
  readonly check?: (requests: readonly RequestRecord[]) => void;
}

/** Within one pass, a retry of a batch answered 429 + Retry-After comes no sooner than it says. */
function honoursRetryAfter(minGapMs: number) {
  return (requests: readonly RequestRecord[]): void => {
    let checked = 0;
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]!;
      if (r.status !== 429) continue;
      const retry = requests.slice(i + 1).find((n) => n.headers['x-pass'] === r.headers['x-pass'] && n.idempotencyKey === r.idempotencyKey);
      if (!retry) continue; // the pass ended instead of waiting past its budget
      const gap = Date.parse(retry.at) - Date.parse(r.at);
      assert.ok(gap >= minGapMs, `a retry came ${gap} ms after a 429 asking for more than ${minGapMs} ms (pass ${r.headers['x-pass']})`);
      checked++;
    }
    assert.ok(checked > 0, 'no retry after a 429 happened within a pass: Retry-After was not exercised');
  };
}

const CASES: readonly FaultCase[] = [
  { name: '503 for half the requests', faults: { failRate: 0.5, failStatus: 503 } },
  { name: '500 for a third of the requests', faults: { failRate: 0.35, failStatus: 500 } },
  { name: '502 and 504 from a proxy, scripted', faults: { script: [502, 504, 502, 'ok', 504, 502, 'ok', 502, 504, 502, 504] } },
  { name: '429 without Retry-After', faults: { rateLimitRate: 0.5, retryAfterSeconds: null } },
  { name: '429 with Retry-After: 1 (seconds)', faults: { rateLimitRate: 0.4, retryAfterSeconds: 1 }, sync: { MaxRunSeconds: 4 }, check: honoursRetryAfter(950) },
  {
    name: '429 with Retry-After as an HTTP-date',
    faults: { rateLimitRate: 0.4, retryAfterSeconds: 2, retryAfterFormat: 'http-date' },
    sync: { MaxRunSeconds: 5 },
    // A date two seconds ahead, cut to whole seconds: more than one second away.
    check: honoursRetryAfter(950),
  },
  { name: 'connection dropped before the central stored anything', faults: { dropRate: 0.4 } },
  { name: 'connection dropped after the central stored the batch (a lost 2xx)', faults: { dropAfterStoreRate: 0.4 }, resends: true },
  { name: 'answers slower than Sync.HttpTimeoutSeconds', faults: { slowRate: 0.4, slowMs: 1_500 }, sync: { HttpTimeoutSeconds: 0.5 }, resends: true },
  // A hung request was never stored (the reference central hangs before storing): nothing goes out twice.
  { name: 'requests never answered', faults: { hangRate: 0.3 }, sync: { HttpTimeoutSeconds: 0.5 } },
  // The central stored these batches, but its answer is no acknowledgement (pos-sync-central(7)): nothing is
  // marked and the batch is sent again, so ids go out twice and the central deduplicates.
  { name: '2xx with a truncated body', faults: { truncateRate: 0.5 }, resends: true },
  { name: '2xx with a body that is not JSON', faults: { notJsonRate: 0.5 }, resends: true },
  { name: '2xx with a malformed rejected list (and an id not in the batch)', faults: { malformedRejectedRate: 0.5 }, resends: true },
  { name: '2xx over the 1 MiB cap, or headers then a stalled or slow-drip body', faults: { script: ['oversize', 'stall-body', 'ok', 'drip-body', 'oversize', 'ok', 'stall-body'] }, sync: { HttpTimeoutSeconds: 0.5 }, resends: true },
  { name: '204 without a body', faults: { successStatus: 204 }, allSucceed: true },
  {
    name: 'a central flipping between up and down',
    faults: {},
    meanwhile: (central) => {
      const timer = setInterval(() => central.setFaults({ down: !central.faults().down }), 350);
      return () => {
        clearInterval(timer);
        central.setFaults({ down: false });
      };
    },
  },
  {
    name: 'every fault at once',
    faults: {
      failRate: 0.06,
      rateLimitRate: 0.06,
      retryAfterSeconds: 1,
      dropRate: 0.06,
      dropAfterStoreRate: 0.06,
      hangRate: 0.04,
      truncateRate: 0.06,
      notJsonRate: 0.06,
      malformedRejectedRate: 0.06,
      slowRate: 0.1,
      slowMs: 700,
    },
    sync: { HttpTimeoutSeconds: 0.5 },
    resends: true,
  },
  {
    // Every answer takes 500 ms and the pass has 3 s: a pass must stop starting batches when an
    // answer cannot come back in time, not send one it will cut off (a re-send and a false 75).
    name: 'a pass budget shorter than the backlog, with slow answers',
    faults: { slowRate: 1, slowMs: 500 },
    sync: { MaxRunSeconds: 3, HttpTimeoutSeconds: 10, BatchSize: 20 },
    allSucceed: true,
  },
];

describe(`fault matrix: every temporary fault converges to everything delivered, nothing dead-lettered (seed ${SEED})`, { concurrency: 2 }, () => {
  for (const [index, c] of CASES.entries()) {
    test(c.name, { timeout: CASE_BUDGET_MS + 30_000 }, async (t) => {
      const dir = tmp.make(`fault-${index}`);
      const db = path.join(dir, 'POS_Local.db');
      const state = path.join(dir, 'POS_Local.db.pos-sync.state.json');
      fs.copyFileSync(template, db);
      const config = writeSettings(dir, {
        Sync: {
          MaxRunSeconds: 3,
          HttpTimeoutSeconds: 2,
          MaxRetryAttempts: 2,
          BatchSize: 30,
          MaxRejections: 3,
          CircuitBreaker: { FailureThreshold: 3, BreakSeconds: 0.2, MaxBreakSeconds: 0.5 },
          ...c.sync,
        },
      });
      const central = await startCentral({ seed: SEED + index, faults: c.faults, requestLogSize: 100_000 });
      const stop = c.meanwhile?.(central);
      const runs: PassRun[] = [];
      const started = Date.now();
      try {
        while (countPending(db) > 0) {
          assert.ok(runs.length < MAX_PASSES, `still ${countPending(db)} rows pending after ${MAX_PASSES} passes (seed ${SEED}); exits ${runs.map((r) => r.code).join(',')}`);
          assert.ok(Date.now() - started < CASE_BUDGET_MS, `still ${countPending(db)} rows pending after ${CASE_BUDGET_MS} ms (seed ${SEED})`);
          const run = await procs.startPass([...passArgs({ config, db, state }, central.url), 'sync'], {
            cwd: dir,
            env: { 'Sync__ApiHeaders__X-Pass': String(runs.length + 1) },
            timeoutMs: 30_000,
          }).done;
          runs.push(run);
          const allowed = c.allSucceed ? [0] : [0, 75];
          assert.ok(allowed.includes(run.code ?? -1), `pass ${runs.length} exited ${run.code} ${run.signal ?? ''} (seed ${SEED}): ${run.stderr.slice(-600)}`);
          assert.equal(stateFileProblem(state), null, 'the state file is not whole JSON');
        }
        stop?.();
        const report = deliveryReport(central, db);
        const codes = runs.map((r) => r.code).join(',');
        t.diagnostic(`${runs.length} passes (exits ${codes}), ${central.stats().posts} requests; ${describeReport(report)}`);
        assert.equal(report.lost.length, 0, `rows lost (seed ${SEED})`);
        assert.equal(report.syncedNotDelivered.length, 0, 'rows marked synced that the central does not have');
        assert.equal(report.unknownInCentral.length, 0);
        assert.equal(report.synced, report.localRows);
        assert.equal(report.deadLettered, 0, 'a temporary fault dead-lettered a row');
        assert.deepEqual(report.penalised, [], 'a temporary fault counted as a refusal');
        assert.equal(
          report.duplicateReceipts > 0,
          c.resends === true,
          c.resends ? 'no id went out twice: the fault never struck after the central stored a batch' : 'an id went out twice although the central never stored a batch without answering',
        );
        assert.equal(central.stats().idempotencyKeyConflicts, 0);
        assert.equal(integrityCheck(db), 'ok');
        c.check?.(central.requests());
      } finally {
        stop?.();
        await central.close();
      }
    });
  }
});
