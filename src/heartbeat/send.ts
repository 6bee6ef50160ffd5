// After a pass (`sync`): post the till's standing to the central's heartbeat endpoint when one is
// due (domain/heartbeat.ts). It comes after delivery, within what is left of the pass's budget
// with a short timeout, over the pass's own central client (same token, headers, TLS, proxy); it
// never changes the pass's exit code: every failure here is a log line at most.

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { CentralClient } from '../central/client.js';
import type { Config } from '../config/types.js';
import { afterHeartbeat, clockOffset, heartbeatDue, heartbeatMayBeDue, NO_HEARTBEAT, verdictSince, type HeartbeatAnswer, type HeartbeatDecision } from '../domain/heartbeat.js';
import type { Clock } from '../domain/time.js';
import type { Logger } from '../log.js';
import { databaseIdentity, openStateFile, peekState } from '../state/file.js';
import { readBacklog } from '../store/history.js';
import { listUnreadable } from '../store/unreadable.js';
import { buildHeartbeat, judge, type HeartbeatDocument } from './document.js';
import type { StandingFacts } from './standing.js';

/** The longest a heartbeat may take, whatever is left of the pass. */
export const HEARTBEAT_TIMEOUT_MS = 3000;
/** Less than this left in the pass: no heartbeat now (the next pass sends it). */
const MIN_BUDGET_MS = 250;

export interface HeartbeatDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly log: Logger;
  /** Opens the database read-only. */
  readonly openDb: () => Promise<Database>;
  /** The pass's central client (created on first use). */
  readonly central: () => Promise<CentralClient>;
  /** What is left of the pass's time budget, in ms. */
  readonly remainingMs: () => number;
}

/** What the pass that just ended tells the heartbeat. */
export interface PassFacts {
  /** The pass sent nothing and changed nothing: only time (or a changed pass outcome) makes a heartbeat due. */
  readonly quiet: boolean;
  readonly exitCode: number;
  readonly breakerOpen: boolean;
  /** SIGTERM/SIGINT arrived: the process is to end promptly. */
  readonly stopping: boolean;
}

export type HeartbeatOutcome =
  | { readonly sent: false; readonly why: HeartbeatDecision['reason'] | 'budget' | 'unreachable' | 'noState' }
  | { readonly sent: true; readonly status: number | null; readonly document: HeartbeatDocument };

export async function maybeSendHeartbeat(deps: HeartbeatDeps, pass: PassFacts): Promise<HeartbeatOutcome> {
  const { config, clock } = deps;
  const intervalMs = config.heartbeatSeconds * 1000;
  // An open breaker means no network traffic; a central not trusted or not understood in this
  // very pass (78: TLS, a proxy's page, a wrong endpoint) would not take a heartbeat either; a stop
  // request wants the process to end. A pass that could not deliver (75) does send one: the events
  // endpoint may be down while head office still listens, and NOT SYNCING is what it must see. A
  // refused token (77) is sent too: head office lists the till among the refused heartbeats.
  if (pass.breakerOpen || pass.exitCode === 78 || pass.stopping) return { sent: false, why: 'unreachable' };
  const peeked = peekState(config.stateFile);
  if (peeked.problem !== null) return { sent: false, why: 'noState' };
  const memory = peeked.state.heartbeat ?? NO_HEARTBEAT;
  const now = clock.now();
  const byTime = heartbeatDue(memory, now, intervalMs, null);
  // A quiet pass asks what an idle tick asks; a pass that did something may have changed the
  // verdict, which only the database can tell.
  if (!byTime.send && (byTime.reason !== 'recent' || (pass.quiet && !heartbeatMayBeDue(memory, peeked.state.lastPass?.since ?? null, now, intervalMs)))) {
    return { sent: false, why: byTime.reason };
  }
  const db = await deps.openDb();
  let facts: StandingFacts;
  try {
    facts = { now, peeked, pending: readBacklog(db, now), unreadable: listUnreadable(db, 0).total };
  } finally {
    db.close();
  }
  const verdict = judge(config, facts).verdict;
  const decision = heartbeatDue(memory, now, intervalMs, verdict);
  if (!decision.send) return { sent: false, why: decision.reason };
  const budget = Math.min(HEARTBEAT_TIMEOUT_MS, config.http.timeoutMs, deps.remainingMs());
  if (budget < MIN_BUDGET_MS) return { sent: false, why: 'budget' };

  const document = buildHeartbeat(config, facts, { verdictSince: verdictSince(memory, now, verdict), clockOffsetMs: memory.clockOffsetMs, disk: freeSpace(config.db.path) });
  const client = await deps.central();
  let answer: HeartbeatAnswer = { kind: 'failed' };
  let status: number | null = null;
  if (client.postDocument === undefined) return { sent: false, why: 'off' };
  const reply = await client.postDocument(config.endpoints.heartbeat, JSON.stringify(document), budget, () => clock.now());
  status = reply.status;
  if (reply.status !== null && reply.status >= 200 && reply.status < 300) {
    answer = { kind: 'accepted', clockOffsetMs: clockOffset(reply.date, reply.receivedAt) };
  } else if (reply.status === 404 || reply.status === 405) {
    // A central without the endpoint: asked again in a day, and said only at debug level.
    answer = { kind: 'unsupported' };
    deps.log.debug('the central has no heartbeat endpoint; asking again in a day', { url: config.endpoints.heartbeat, status: reply.status });
  } else {
    deps.log.info(`heartbeat not taken: ${reply.error ?? `HTTP ${String(reply.status)}`}; delivery is not affected`, { url: config.endpoints.heartbeat });
  }
  remember(config, deps, afterHeartbeat(memory, now, verdict, answer));
  return { sent: true, status, document };
}

/**
 * Writes the heartbeat's memory into the state file as it is now (a pass may have saved it
 * meanwhile): only the heartbeat part changes.
 */
function remember(config: Config, deps: HeartbeatDeps, memory: NonNullable<ReturnType<typeof afterHeartbeat>>): void {
  const current = peekState(config.stateFile);
  if (current.problem !== null) return;
  openStateFile(config.stateFile, { log: deps.log, now: () => deps.clock.now(), database: databaseIdentity(config.db.path) }).save({ ...current.state, heartbeat: memory });
}

/** Free and total bytes of the file system holding the database (statfs); null when it cannot be read. */
export function freeSpace(dbPath: string): { freeBytes: number | null; totalBytes: number | null } {
  try {
    const s = statfsSync(dirname(dbPath));
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch {
    return { freeBytes: null, totalBytes: null };
  }
}
