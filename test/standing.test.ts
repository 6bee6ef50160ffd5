// `status` and the heartbeat judge the same standing alike: one state file and one database, read
// by both, give the same verdict, headline and problems (with their hints). The heartbeat's own
// view (UTC when Sync.TimeZone is unset; the pass it follows as the trace) is beside the point
// here, so the store's zone is set and the trace is now for both.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { runStatus } from '../src/commands/status.js';
import { judge } from '../src/heartbeat/document.js';
import type { PassSummary } from '../src/domain/pass-summary.js';
import type { Peeked } from '../src/state/file.js';
import { EMPTY_STATE } from '../src/state/format.js';
import { openDatabase } from '../src/store/db.js';
import { readBacklog } from '../src/store/history.js';
import { listUnreadable } from '../src/store/unreadable.js';
import { seedDb, testConfig } from './helpers/sync.js';
import { tmpDirs } from './helpers/tmp.js';

const tmp = tmpDirs('standing');
after(tmp.cleanup);

const NOW = Date.parse('2026-12-07T04:00:00.000Z');
const pass = (exitCode: number, outcome: string): PassSummary => ({ at: NOW - 30_000, exitCode, outcome, delivered: 0, refused: 0, durationMs: 40, error: null, since: NOW - 3_600_000 });

/** State files as each reader peeks them; every one is judged by status and by the heartbeat. */
const PEEKED: Readonly<Record<string, Peeked>> = {
  'a pass that went well': { state: { ...EMPTY_STATE, lastPass: pass(0, 'drained'), lastSuccessAt: NOW - 30_000 }, found: true, problem: null },
  // Left alone: what it holds is unknown, and no sync moves it aside.
  'a state file this user may not read': { state: EMPTY_STATE, found: true, problem: 'permission denied (EACCES)', leftAlone: true },
  'a corrupt state file': { state: EMPTY_STATE, found: true, problem: 'is not valid JSON (cut short by a crash?)' },
  'credentials refused': { state: { ...EMPTY_STATE, lastPass: pass(77, 'credentials'), lastSuccessAt: NOW - 7_200_000 }, found: true, problem: null },
  'an open breaker': {
    state: {
      ...EMPTY_STATE,
      breaker: { state: 'open', consecutiveFailures: 3, openedAt: NOW - 60_000, nextProbeAt: NOW + 60_000, consecutiveOpens: 1, lastFailure: 'ECONNREFUSED' },
      lastPass: pass(75, 'unavailable'),
      lastSuccessAt: NOW - 600_000,
    },
    found: true,
    problem: null,
  },
  'a lone refusal': {
    state: { ...EMPTY_STATE, lastPass: pass(0, 'drained'), lastSuccessAt: NOW - 30_000, refusedAlone: { at: NOW - 30_000, reason: 'HTTP 422: {"error":"store not registered"}', ids: ['a'] } },
    found: true,
    problem: null,
  },
};

test('status and the heartbeat give one verdict, headline and problems for the same state file and database', () => {
  const dir = tmp.make();
  const file = seedDb(path.join(dir, 'pos.db'), 3, 2);
  const config = testConfig(file, 'http://127.0.0.1:9', { Sync: { TimeZone: 'Europe/Berlin' } });
  const open = () => openDatabase({ path: file, create: false, autoMigrate: false, readonly: true, busyTimeoutMs: 1000 });
  for (const [name, peeked] of Object.entries(PEEKED)) {
    const status = runStatus({ config, clock: { now: () => NOW }, openDb: open, readState: () => peeked, readTrace: () => NOW });
    const db = open();
    let heartbeat: ReturnType<typeof judge>;
    try {
      heartbeat = judge(config, { now: NOW, peeked, pending: readBacklog(db, NOW), unreadable: listUnreadable(db, 0).total });
    } finally {
      db.close();
    }
    assert.deepEqual(
      { verdict: heartbeat.verdict, headline: heartbeat.headline, problems: heartbeat.problems.map(({ problem, hint }) => ({ problem, hint })) },
      { verdict: status.verdict, headline: status.headline, problems: status.problems },
      name,
    );
  }
});
