// What the last pass's exit code says about the store's sync, for `health` and `status` alike, and
// status's verdict: OK / DEGRADED / NOT SYNCING with one hint per problem. Pure functions: the
// facts (state file, backlog, thresholds, now) in, the words and exit code out.

import type { PassSummary } from './pass-summary.js';
import { effectiveMode, outageStart, type BreakerSettings, type BreakerState } from './breaker.js';
import { formatLocalTime, formatWhen, plural } from './localtime.js';
import { kafkaTrouble } from './kafka-trouble.js';
import { describeDeadline, type DeadlineStanding } from './offline-deadline.js';

/** A trouble that waiting does not heal: someone has to act. */
export interface PassTrouble {
  /** Named for people: "credentials refused", "configuration error", "local I/O error", "internal error". */
  readonly kind: 'credentials' | 'configuration' | 'localIo' | 'internal';
  readonly label: string;
  readonly hint: string;
}

/**
 * The trouble behind a pass's exit code, or null when the code is no such trouble (0 success,
 * 65 some rows refused, 75 temporary: the breaker and the age of the last success speak for it).
 * Read generically: any pass that exits 78 (a configuration error, a systemic refusal of every
 * row by the central) is a configuration trouble, whatever wrote it.
 */
export function passTrouble(exitCode: number): PassTrouble | null {
  switch (exitCode) {
    case 77:
      return { kind: 'credentials', label: 'the central API refused the credentials', hint: 'check the API token (Sync.ApiTokenFile, Sync.ApiToken or POS_SYNC_API_TOKEN) with the central\'s operator' };
    case 78:
      return { kind: 'configuration', label: 'configuration error', hint: 'fix the setting named in the error (pos-sync config shows every value and its source)' };
    case 74:
      return { kind: 'localIo', label: 'local I/O error', hint: 'check the database path, its permissions and the free disk space' };
    case 1:
      return { kind: 'internal', label: 'internal error', hint: 'run pos-sync --verbose sync for the stack and report it' };
    default:
      return null;
  }
}

/**
 * The timer that runs the passes of the till configured by `configFile`, as install.sh names it:
 * /etc/pos-sync/TILL.json is pos-sync@TILL's, anything else pos-sync's.
 */
export function timerFor(configFile: string | null): string {
  const m = configFile === null ? null : /^\/etc\/pos-sync\/([A-Za-z0-9_-]+)\.json$/.exec(configFile);
  return m === null || m[1] === 'appsettings' ? 'pos-sync.timer' : `pos-sync@${m[1]}.timer`;
}

/**
 * When no pass has run for longer than `noPassSeconds` (0: not checked): the passes' last trace
 * (the state file's mtime, src/pass/trace.ts, or the last recorded pass, whichever is later) is
 * too old, so nothing runs them. Null when a pass ran recently, or none ever did (a fresh install
 * says "no pass has run yet" instead).
 */
export function noPassSince(lastTraceAt: number | null, now: number, noPassSeconds: number): number | null {
  if (noPassSeconds <= 0 || lastTraceAt === null) return null;
  return now - lastTraceAt > noPassSeconds * 1000 ? lastTraceAt : null;
}

/** The later of the last recorded pass and the state file's mtime, either possibly unknown. */
export function latestTrace(lastPassAt: number | null, mtime: number | null): number | null {
  return lastPassAt === null ? mtime : mtime === null ? lastPassAt : Math.max(lastPassAt, mtime);
}

/** The hint for a till whose passes do not run. */
export function enableTimerHint(timer: string): string {
  return `nothing runs the passes: start the timer (systemctl enable --now ${timer}; systemctl list-timers ${timer} shows it)`;
}

/** How a pass ended, in words for people (the state file and --json keep the name). */
const OUTCOME_WORDS: Readonly<Record<string, string>> = {
  drained: 'everything due sent',
  time: 'out of time, the rest waits for the next pass',
  stopped: 'stopped on request',
  unavailable: 'the central API was unavailable',
  credentials: 'credentials refused',
  misconfigured: 'configuration error',
  notAboutRows: 'an answer not about the rows',
  breakerOpen: 'circuit breaker open, nothing sent',
  error: 'failed',
};

export function describeOutcome(outcome: string): string {
  return OUTCOME_WORDS[outcome] ?? outcome.replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`);
}

export type Verdict = 'OK' | 'DEGRADED' | 'NOT SYNCING';

/** Exit codes of `status`, like `health`'s: scripts test them. */
export const VERDICT_EXIT: Readonly<Record<Verdict, 0 | 1 | 2>> = { OK: 0, DEGRADED: 1, 'NOT SYNCING': 2 };

export interface Problem {
  readonly severity: 'degraded' | 'notSyncing';
  /** What is wrong, one short clause. */
  readonly problem: string;
  /** What to do about it. */
  readonly hint: string;
}

export interface VerdictFacts {
  readonly now: number;
  readonly timeZone: string;
  readonly lastPass: PassSummary | null;
  readonly lastSuccessAt: number | null;
  /** The latest trace of a pass (see noPassSince), or null. */
  readonly lastTraceAt: number | null;
  /** The timer that runs this till's passes (timerFor). */
  readonly timer: string;
  readonly stateProblem: string | null;
  /** The state file could not be read at all (permission, link, FIFO): what it holds is unknown. */
  readonly stateLeftAlone?: boolean;
  readonly breaker: BreakerState;
  readonly breakerSettings: BreakerSettings;
  readonly pending: number;
  /** Pending rows waiting out a refusal backoff. */
  readonly waiting: number;
  readonly deadLettered: number;
  /** Rows held in the quarantine (they fail alone while the rest goes through). */
  readonly quarantined?: number;
  /** Rows holding a value pos-sync cannot read (never sent until the POS fixes them). */
  readonly unreadable?: number;
  /** A lone refusal waiting for another row to judge it by (the state file's refusedAlone), or null. */
  readonly refusedAlone?: { readonly reason: string; readonly ids: readonly string[] } | null;
  readonly oldestPendingAt: number | null;
  readonly kafkaBacklog: number | null;
  /** Why the last pass could not publish to Kafka, or null. */
  readonly kafkaError: string | null;
  /** The oldest pending sale against Sync.OfflineDeadlineHours; null or absent: no deadline. */
  readonly offlineDeadline?: DeadlineStanding | null;
  readonly thresholds: {
    readonly backlogWarning: number;
    readonly oldestPendingWarningSeconds: number;
    readonly lastSuccessWarningSeconds: number;
    readonly lastSuccessCriticalSeconds: number;
    readonly deadLetteredWarning: number;
    readonly noPassSeconds: number;
  };
}

export interface StatusVerdict {
  readonly verdict: Verdict;
  readonly exitCode: 0 | 1 | 2;
  /** The first line's words after the verdict. */
  readonly headline: string;
  readonly problems: readonly Problem[];
}

export function judgeStatus(f: VerdictFacts): StatusVerdict {
  const problems: Problem[] = [];
  const when = (ms: number): string => formatWhen(ms, f.now, f.timeZone);
  const p = f.lastPass;
  const trouble = p === null ? null : passTrouble(p.exitCode);
  const stalled = noPassSince(f.lastTraceAt, f.now, f.thresholds.noPassSeconds);
  if (f.stateProblem !== null && f.stateLeftAlone === true) {
    // Unknown, not "no pass has run yet": the passes are recorded in the file this user cannot read.
    problems.push({
      severity: 'degraded',
      problem: `cannot read the state file: ${f.stateProblem}`,
      hint: f.stateProblem.startsWith('permission denied')
        ? 'run as the service user or a user of the POS group (runuser -u pos-sync -- pos-sync status)'
        : 'pos-sync leaves it alone and every sync stops on it: remove it',
    });
  } else if (p === null && f.lastTraceAt === null) {
    problems.push({
      severity: 'notSyncing',
      problem: 'no pass has run yet',
      hint: `start the timer (systemctl enable --now ${f.timer}) or run pos-sync sync`,
    });
  } else if (stalled !== null) {
    // First: whatever the last pass said is old news when no pass runs at all.
    problems.push({ severity: 'notSyncing', problem: `no pass since ${when(stalled)}`, hint: enableTimerHint(f.timer) });
  }
  if (p !== null && trouble !== null) {
    problems.push({ severity: 'notSyncing', problem: `${trouble.label} since ${when(p.since)}`, hint: trouble.hint });
  }
  const mode = effectiveMode(f.breaker, f.now, f.breakerSettings);
  const lastSuccessAge = f.lastSuccessAt === null ? null : (f.now - f.lastSuccessAt) / 1000;
  const longWithout = lastSuccessAge === null || lastSuccessAge > f.thresholds.lastSuccessCriticalSeconds;
  if (mode !== 'closed') {
    problems.push({
      severity: 'notSyncing',
      problem: `the central API is unavailable (circuit breaker open since ${when(outageStart(f.breaker) ?? f.now)})`,
      hint: 'nothing is lost, rows wait; if it lasts, check the network and the central API (pos-sync health); pos-sync sync --force tries now',
    });
  } else if (p !== null && p.exitCode === 75 && f.breaker.consecutiveFailures > 0) {
    problems.push({
      severity: longWithout ? 'notSyncing' : 'degraded',
      problem: `the last pass could not reach the central API`,
      hint: 'nothing is lost; the next pass retries; check the network and the central API if it repeats',
    });
  }
  if (f.stateProblem !== null && f.stateLeftAlone !== true) {
    problems.push({ severity: 'degraded', problem: `the state file ${f.stateProblem}`, hint: 'the next sync moves it aside and starts afresh' });
  }
  if (f.deadLettered > f.thresholds.deadLetteredWarning) {
    problems.push({
      severity: 'degraded',
      problem: `${plural(f.deadLettered, 'row')} dead-lettered`,
      hint: 'see which and why: pos-sync status --dead-letters; after fixing the cause: pos-sync requeue --id <id>',
    });
  }
  if (f.refusedAlone) {
    problems.push({
      severity: 'degraded',
      problem: `the central refused every row tried since the last accepted one (${plural(f.refusedAlone.ids.length, 'row')}) for one reason: ${f.refusedAlone.reason}`,
      hint: 'no row is penalised yet; if the reason is about the store (not registered, a version), fix it at the central; the next row decides whether it is about the row',
    });
  }
  if ((f.unreadable ?? 0) > 0) {
    problems.push({
      severity: 'degraded',
      problem: `${plural(f.unreadable ?? 0, 'row')} not sent: the POS wrote a value pos-sync cannot read`,
      hint: 'pos-sync status names each row and the value; fix it in the POS (or its vendor) and it goes out on its own',
    });
  }
  if ((f.quarantined ?? 0) > 0) {
    problems.push({
      severity: 'degraded',
      problem: `${plural(f.quarantined ?? 0, 'row')} quarantined: failing alone at the central while the rest goes through`,
      hint: 'pos-sync status names them with the central\'s answer; they are tried alone again on their own; ask the central\'s team about the answer; pos-sync requeue --id <id> sends one at the next pass',
    });
  }
  if (f.waiting > 0) {
    problems.push({
      severity: 'degraded',
      problem: `${plural(f.waiting, 'row')} refused, waiting to be retried`,
      hint: 'nothing to do unless it repeats: they are sent again after Sync.RetryDelayMinutes; the log line "row refused" names the reason',
    });
  }
  const oldestAge = f.oldestPendingAt === null ? 0 : (f.now - f.oldestPendingAt) / 1000;
  if (f.pending > f.thresholds.backlogWarning || oldestAge > f.thresholds.oldestPendingWarningSeconds) {
    problems.push({
      severity: 'degraded',
      problem: f.pending > f.thresholds.backlogWarning ? 'the backlog is past its warning threshold' : 'the oldest pending row is past its warning age',
      hint: 'a backlog that does not shrink means passes fail or are not run: check pos-sync health and the timer',
    });
  }
  // Beside the oldest-pending age above, never instead of it: that one says the queue is slow, this
  // one how long until a sale misses head office's deadline (both show when both hold).
  const deadline = f.offlineDeadline ?? null;
  if (deadline !== null && deadline.level !== 'ok') {
    problems.push({
      severity: 'degraded',
      problem: `offline deadline: ${describeDeadline(deadline)}${deadline.dueAt === null ? '' : `; due ${formatLocalTime(deadline.dueAt, f.now, f.timeZone)}`}`,
      hint: 'get the pending sales to head office before the deadline: pos-sync health shows what stops them (the central, the network, the breaker)',
    });
  }
  // Only when nothing above explains it: a stalled timer shows no failing pass at all.
  const explained = problems.some((x) => x.severity === 'notSyncing') || (p !== null && p.exitCode === 75);
  if (p !== null && !explained && f.pending > 0 && (lastSuccessAge === null || lastSuccessAge > f.thresholds.lastSuccessWarningSeconds)) {
    problems.push({
      severity: longWithout ? 'notSyncing' : 'degraded',
      problem: f.lastSuccessAt === null ? 'no pass has succeeded yet' : `no successful pass since ${when(f.lastSuccessAt)}`,
      hint: 'check that the timer runs (systemctl list-timers pos-sync.timer) and the log (journalctl -u pos-sync)',
    });
  }
  const kafka = f.kafkaError === null ? null : kafkaTrouble(f.kafkaError);
  if (kafka !== null && !kafka.heals) {
    // Delivery to the central goes on: degraded, not stopped; but waiting will not mend it.
    problems.push({ severity: 'degraded', problem: `${kafka.label} (cannot heal by waiting)`, hint: kafka.hint });
  } else if (f.kafkaBacklog !== null && f.kafkaBacklog > f.thresholds.backlogWarning) {
    problems.push({ severity: 'degraded', problem: `${plural(f.kafkaBacklog, 'event')} not yet published to Kafka`, hint: 'check the Kafka line of pos-sync health' });
  }
  const verdict: Verdict = problems.some((x) => x.severity === 'notSyncing') ? 'NOT SYNCING' : problems.length > 0 ? 'DEGRADED' : 'OK';
  const first = problems.find((x) => x.severity === 'notSyncing') ?? problems[0];
  const headline = first === undefined ? (f.pending === 0 ? 'syncing, nothing pending' : `syncing, ${plural(f.pending, 'row')} pending`) : first.problem;
  return { verdict, exitCode: VERDICT_EXIT[verdict], headline, problems };
}
