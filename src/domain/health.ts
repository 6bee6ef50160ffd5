// What `pos-sync health` concludes from what it found (pos-sync(1) COMMANDS): pure functions from the facts
// each check gathered to a status per check, the overall status and the perfdata, so every rule
// is a row in a test table. Statuses and exit codes follow the Monitoring Plugins convention.

import { DEADLINE_CRITICAL_FRACTION, DEADLINE_WARNING_FRACTION, describeDeadline, offlineDeadline, type DeadlineLevel, type DeadlineStanding } from './offline-deadline.js';
import type { PassSummary } from './pass-summary.js';
import { effectiveMode, outageStart, type BreakerSettings, type BreakerState } from './breaker.js';
import { formatWhen, plural } from './localtime.js';
import { describeOutcome, enableTimerHint, noPassSince, passTrouble } from './verdict.js';
import { describeKafkaTrouble, kafkaTrouble } from './kafka-trouble.js';

export type HealthStatus = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

export const HEALTH_EXIT: Readonly<Record<HealthStatus, 0 | 1 | 2 | 3>> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

/** Worst first: a CRITICAL beats a WARNING beats an UNKNOWN beats OK (max_state_alt of the plugins library). */
const SEVERITY: Readonly<Record<HealthStatus, number>> = { OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3 };

export function worstStatus(statuses: readonly HealthStatus[]): HealthStatus {
  let worst: HealthStatus = 'OK';
  for (const s of statuses) if (SEVERITY[s] > SEVERITY[worst]) worst = s;
  return worst;
}

/** The plugins' rule: above the critical threshold is CRITICAL, above the warning one WARNING. */
export function againstThresholds(value: number, warning: number, critical: number): HealthStatus {
  if (value > critical) return 'CRITICAL';
  if (value > warning) return 'WARNING';
  return 'OK';
}

export type CheckName = 'database' | 'central' | 'kafka' | 'kafkaBacklog' | 'breaker' | 'lastPass' | 'lastSuccess' | 'backlog' | 'deadLetters' | 'quarantine' | 'oldestPending' | 'offlineDeadline' | 'reconcile';

export interface CheckResult {
  readonly name: CheckName;
  readonly status: HealthStatus;
  readonly message: string;
}

export interface PerfValue {
  readonly label: string;
  /** null is printed as "U": the value could not be measured. */
  readonly value: number | null;
  readonly uom: '' | 's';
  readonly warn: number | null;
  readonly crit: number | null;
  readonly min?: number;
  readonly max?: number;
}

/** What the database check found (in a worker, with its own time limit). */
export type DatabaseFacts =
  | {
      readonly kind: 'ok';
      readonly schemaVersion: number;
      readonly quickCheck: string;
      readonly pending: number;
      readonly oldestPendingAt: number | null;
      /** CreatedAt of the oldest pending sale (a transaction; epoch ms), or null: the offline deadline's measure. */
      readonly oldestPendingSaleAt?: number | null;
      readonly deadLettered: number;
      /** Rows held in the quarantine, and the first few of them named (absent from an older worker). */
      readonly quarantined?: number;
      readonly quarantinedRows?: readonly { readonly id: string; readonly entity: string; readonly amount: string | null; readonly answer: string | null; readonly nextTryAt: string | null }[];
      readonly kafkaBacklog: number;
      /** SyncedAt of the oldest row delivered and not yet on Kafka (epoch ms), or null. */
      readonly kafkaOldestAt?: number | null;
      /** Neither PosTransactions nor InventoryUpdates holds a single row: likely not the POS's database. */
      readonly empty: boolean;
    }
  | { readonly kind: 'error'; readonly error: string }
  | { readonly kind: 'timeout'; readonly afterMs: number };

export type CentralFacts =
  | { readonly kind: 'answered'; readonly status: number; readonly ms: number; readonly url: string }
  | { readonly kind: 'error'; readonly error: string; readonly url: string }
  | { readonly kind: 'timeout'; readonly afterMs: number; readonly url: string };

/** The topic as the brokers describe it (null fields: not known to this user). */
export interface TopicReplication {
  readonly partitions: number;
  /** The smallest replica count among its partitions. */
  readonly replicationFactor: number;
  readonly minInsyncReplicas: number | null;
}

export type KafkaFacts =
  | { readonly kind: 'disabled' }
  | { readonly kind: 'ok'; readonly ms: number; readonly topic?: TopicReplication | null }
  | { readonly kind: 'error'; readonly error: string; readonly configuration: boolean }
  | { readonly kind: 'timeout'; readonly afterMs: number };

export interface StateFacts {
  readonly breaker: BreakerState;
  readonly lastSuccessAt: number | null;
  /** The state file exists (a fresh install has none). */
  readonly found: boolean;
  /** Why the state file is unusable, or null. */
  readonly problem: string | null;
  /** The problem is not the content's (permission, link, FIFO, another database's): never moved aside. */
  readonly leftAlone?: boolean;
  readonly path: string;
  /** How the most recent pass ended (any pass, idle and refused ones too). */
  readonly lastPass: PassSummary | null;
  /** The latest trace of a pass: the state file's mtime or the last pass, whichever is later (verdict.ts noPassSince). */
  readonly lastTraceAt: number | null;
  /** The timer that runs this till's passes (verdict.ts timerFor). */
  readonly timer: string;
}

/** The last `pos-sync reconcile` (state/reconcile-record.ts), when Sync.Health.ReconcileMaxAgeHours asks for the check. */
export type ReconcileFacts =
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable'; readonly problem: string }
  | { readonly kind: 'found'; readonly at: number; readonly outcome: 'match' | 'mismatch' | 'failed'; readonly differing: number; readonly error: string | null };

export interface HealthThresholds {
  readonly backlogWarning: number;
  readonly backlogCritical: number;
  readonly oldestPendingWarningSeconds: number;
  readonly oldestPendingCriticalSeconds: number;
  readonly lastSuccessWarningSeconds: number;
  readonly lastSuccessCriticalSeconds: number;
  readonly deadLetteredWarning: number;
  /** No pass recorded for this long: nothing runs them (NOT SYNCING / CRITICAL); 0: not checked. */
  readonly noPassSeconds: number;
  readonly kafkaBacklogWarning: number;
  readonly kafkaBacklogCritical: number;
  readonly kafkaOldestWarningSeconds: number;
  readonly kafkaOldestCriticalSeconds: number;
}

export interface HealthFacts {
  readonly now: number;
  /** The store's IANA zone, for the times in messages. */
  readonly timeZone: string;
  readonly expectedSchemaVersion: number;
  readonly database: DatabaseFacts;
  readonly central: CentralFacts;
  readonly kafka: KafkaFacts;
  readonly state: StateFacts;
  readonly breakerSettings: BreakerSettings;
  readonly thresholds: HealthThresholds;
  /** Only when the reconcile check is on. */
  readonly reconcile?: { readonly facts: ReconcileFacts; readonly maxAgeSeconds: number };
  /** Sync.OfflineDeadlineHours in seconds; null or absent: the check is off. */
  readonly offlineDeadlineSeconds?: number | null;
}

export interface HealthVerdict {
  readonly status: HealthStatus;
  readonly summary: string;
  readonly checks: readonly CheckResult[];
  readonly perfdata: readonly PerfValue[];
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

function limits(warn: number, crit: number, unit: (n: number) => string): string {
  return `warning above ${unit(warn)}, critical above ${unit(crit)}`;
}

function databaseCheck(f: HealthFacts): CheckResult {
  const d = f.database;
  if (d.kind === 'timeout') return { name: 'database', status: 'UNKNOWN', message: `the check did not finish within ${formatAge(d.afterMs / 1000)}` };
  if (d.kind === 'error') return { name: 'database', status: 'CRITICAL', message: d.error };
  if (d.quickCheck !== 'ok') return { name: 'database', status: 'CRITICAL', message: `PRAGMA quick_check found problems: ${d.quickCheck}` };
  if (d.schemaVersion > f.expectedSchemaVersion) {
    return { name: 'database', status: 'CRITICAL', message: `schema version ${d.schemaVersion} is newer than this pos-sync knows (${f.expectedSchemaVersion}): upgrade pos-sync` };
  }
  if (d.schemaVersion < f.expectedSchemaVersion) {
    return { name: 'database', status: 'WARNING', message: `schema version ${d.schemaVersion}, this pos-sync needs ${f.expectedSchemaVersion}: the next sync migrates it` };
  }
  if (d.empty) {
    return { name: 'database', status: 'WARNING', message: 'the database holds no sales and no inventory updates at all: is --db / Database.ConnectionString the POS\'s database?' };
  }
  return { name: 'database', status: 'OK', message: `quick_check ok, schema version ${d.schemaVersion}` };
}

function centralCheck(f: HealthFacts): CheckResult {
  const c = f.central;
  if (c.kind === 'timeout') return { name: 'central', status: 'CRITICAL', message: `no answer from ${c.url} within ${Math.round(c.afterMs)} ms` };
  if (c.kind === 'error') return { name: 'central', status: 'CRITICAL', message: c.error };
  if (c.status >= 200 && c.status < 300) return { name: 'central', status: 'OK', message: `HTTP ${c.status} from ${c.url} in ${Math.round(c.ms)} ms` };
  const hint = c.status === 401 || c.status === 403 ? ': credentials refused' : c.status >= 400 && c.status < 500 ? ': check Sync.HealthCheckEndpoint' : '';
  return { name: 'central', status: 'CRITICAL', message: `HTTP ${c.status} from ${c.url}${hint}` };
}

function kafkaCheck(f: HealthFacts): CheckResult | null {
  const k = f.kafka;
  switch (k.kind) {
    case 'disabled':
      return null;
    case 'ok': {
      // A broker answering and the topic's metadata readable do not prove this user may write to
      // it (kafkajs cannot ask for the user's topic permissions). The last pass's own publish
      // does: a refusal there that waiting cannot heal stays CRITICAL until a pass publishes.
      const published = f.state.lastPass?.kafkaError ?? null;
      if (published !== null && !kafkaTrouble(published).heals) {
        return { name: 'kafka', status: 'CRITICAL', message: `a broker answered, but the last pass could not publish: ${describeKafkaTrouble(published)}` };
      }
      // What the passes see (too few in-sync replicas, no coordinator) is not what this check's
      // metadata request sees: the last pass's own publish is reported beside it.
      if (published !== null) return { name: 'kafka', status: 'WARNING', message: `a broker answered, but ${passesCannotPublish(f, published)}` };
      const replication = replicationWarning(k.topic ?? null);
      if (replication !== null) return { name: 'kafka', status: 'WARNING', message: replication };
      return { name: 'kafka', status: 'OK', message: `a broker answered in ${Math.round(k.ms)} ms` };
    }
    case 'timeout':
      // Kafka being down delays publishing and loses nothing (pos-sync-central(7) KAFKA): a warning, not critical.
      return { name: 'kafka', status: 'WARNING', message: `no broker answered within ${Math.round(k.afterMs)} ms${alsoThePasses(f)}` };
    case 'error': {
      // What waiting cannot heal (credentials, ACLs, TLS trust, a missing file) needs someone:
      // CRITICAL, named as such. An outage only delays the events: WARNING.
      const trouble = kafkaTrouble(k.error);
      if (!trouble.heals) return { name: 'kafka', status: 'CRITICAL', message: describeKafkaTrouble(k.error) };
      // This check's own request may meet a dead broker where the passes met the cause (too few
      // in-sync replicas, no coordinator): both are said.
      return { name: 'kafka', status: k.configuration ? 'UNKNOWN' : 'WARNING', message: `${k.error}${alsoThePasses(f)}` };
    }
  }
}

/** "passes cannot publish since …: <reason>", from the last pass's own publish. */
function passesCannotPublish(f: HealthFacts, published: string): string {
  const since = f.state.lastPass?.kafkaErrorSince ?? f.state.lastPass?.at ?? f.now;
  return `passes cannot publish since ${formatWhen(since, f.now, f.timeZone)}: ${describeKafkaTrouble(published)}`;
}

/** The last pass's publish failure beside this check's own, or nothing when it published. */
function alsoThePasses(f: HealthFacts): string {
  const published = f.state.lastPass?.kafkaError ?? null;
  return published === null ? '' : `; ${passesCannotPublish(f, published)}`;
}

/** Why the topic cannot survive the loss of one broker, or null when it can (or is not known). */
export function replicationWarning(t: TopicReplication | null): string | null {
  if (t === null) return null;
  if (t.replicationFactor < 2) {
    return `the topic has ${plural(t.replicationFactor, 'replica')}: each event has one copy, lost with its broker (create it with replication factor 3, min.insync.replicas 2)`;
  }
  if (t.minInsyncReplicas !== null && t.minInsyncReplicas >= t.replicationFactor) {
    return `the topic's min.insync.replicas (${t.minInsyncReplicas}) is not below its replication factor (${t.replicationFactor}): one broker down stops publishing (set min.insync.replicas to ${t.replicationFactor - 1})`;
  }
  return null;
}

/** Events delivered to the central and not yet on Kafka, by count and by age. */
function kafkaBacklogCheck(f: HealthFacts): CheckResult | null {
  const d = f.database;
  if (f.kafka.kind === 'disabled') return null;
  if (d.kind !== 'ok') return { name: 'kafkaBacklog', status: 'UNKNOWN', message: 'not known: the database check failed' };
  const t = f.thresholds;
  const age = d.kafkaOldestAt === null || d.kafkaOldestAt === undefined ? 0 : Math.max(0, Math.round((f.now - d.kafkaOldestAt) / 1000));
  const status = worstStatus([againstThresholds(d.kafkaBacklog, t.kafkaBacklogWarning, t.kafkaBacklogCritical), againstThresholds(age, t.kafkaOldestWarningSeconds, t.kafkaOldestCriticalSeconds)]);
  const message =
    d.kafkaBacklog === 0
      ? 'every delivered row is on Kafka'
      : `${plural(d.kafkaBacklog, 'event')} waiting, the oldest ${formatAge(age)} (${limits(t.kafkaBacklogWarning, t.kafkaBacklogCritical, String)} events; ${limits(t.kafkaOldestWarningSeconds, t.kafkaOldestCriticalSeconds, formatAge)})`;
  return { name: 'kafkaBacklog', status, message };
}

function breakerCheck(f: HealthFacts): CheckResult {
  const s = f.state;
  if (s.problem !== null && s.leftAlone === true) {
    return { name: 'breaker', status: 'WARNING', message: `cannot read the state file: ${s.problem} (${s.problem.startsWith('permission denied') ? 'run as the service user or a user of the POS group' : 'pos-sync leaves it alone; remove it'})` };
  }
  if (s.problem !== null) {
    return { name: 'breaker', status: 'WARNING', message: `the state file ${s.path} ${s.problem} (the next sync moves it aside and starts closed)` };
  }
  const b = s.breaker;
  const mode = effectiveMode(b, f.now, f.breakerSettings);
  if (mode === 'closed') {
    return { name: 'breaker', status: 'OK', message: b.consecutiveFailures > 0 ? `closed, ${plural(b.consecutiveFailures, 'failed request')} in a row` : 'closed' };
  }
  const last = b.lastFailure ? `; last failure: ${b.lastFailure}` : '';
  if (mode === 'halfOpen') return { name: 'breaker', status: 'WARNING', message: `open, the next pass probes the central${last}` };
  const inSeconds = Math.max(0, Math.ceil(((b.nextProbeAt ?? f.now) - f.now) / 1000));
  return { name: 'breaker', status: 'WARNING', message: `open since ${formatWhen(outageStart(b) ?? f.now, f.now, f.timeZone)}, next probe in ${formatAge(inSeconds)}${last}` };
}

function lastSuccessCheck(f: HealthFacts): { check: CheckResult; ageSeconds: number | null } {
  const t = f.thresholds;
  const at = f.state.lastSuccessAt;
  if (at === null) {
    const why = f.state.found ? 'none recorded in the state file' : `no state file yet (${f.state.path}): has a sync run?`;
    return { check: { name: 'lastSuccess', status: 'WARNING', message: `no successful pass: ${why}` }, ageSeconds: null };
  }
  const age = Math.max(0, Math.round((f.now - at) / 1000));
  const s = (n: number): string => formatAge(n);
  return {
    check: { name: 'lastSuccess', status: againstThresholds(age, t.lastSuccessWarningSeconds, t.lastSuccessCriticalSeconds), message: `${s(age)} ago (${limits(t.lastSuccessWarningSeconds, t.lastSuccessCriticalSeconds, s)})` },
    ageSeconds: age,
  };
}

/**
 * How the last pass ended: a trouble that waiting does not heal (credentials refused, a
 * configuration error — a systemic refusal included —, local I/O, a bug) is CRITICAL, with the
 * reason and since when; other endings are covered by the breaker and last-success checks.
 */
function lastPassCheck(f: HealthFacts): CheckResult {
  const p = f.state.lastPass;
  const stalled = noPassSince(f.state.lastTraceAt, f.now, f.thresholds.noPassSeconds);
  if (stalled !== null) {
    return {
      name: 'lastPass',
      status: 'CRITICAL',
      message: `no pass since ${formatWhen(stalled, f.now, f.timeZone)} (Sync.Health.NoPassSeconds ${formatAge(f.thresholds.noPassSeconds)}) — ${enableTimerHint(f.state.timer)}`,
    };
  }
  if (p === null) return { name: 'lastPass', status: 'OK', message: 'no pass recorded yet' };
  const trouble = passTrouble(p.exitCode);
  const at = formatWhen(p.at, f.now, f.timeZone);
  if (trouble === null) return { name: 'lastPass', status: 'OK', message: `exit ${p.exitCode} (${describeOutcome(p.outcome)}) at ${at}` };
  return {
    name: 'lastPass',
    status: 'CRITICAL',
    message: `${trouble.label} since ${formatWhen(p.since, f.now, f.timeZone)} (last pass ${at}, exit ${p.exitCode})${p.error ? `: ${p.error}` : ''} — ${trouble.hint}`,
  };
}

/**
 * The last reconciliation: differences found are CRITICAL (sales head office does not have, or
 * has differently); none recorded, one that could not run, or one older than the limit, WARNING.
 */
export function reconcileCheck(facts: ReconcileFacts, now: number, maxAgeSeconds: number): CheckResult {
  if (facts.kind === 'none') return { name: 'reconcile', status: 'WARNING', message: 'no reconciliation recorded: run pos-sync reconcile (daily, from a timer)' };
  if (facts.kind === 'unreadable') return { name: 'reconcile', status: 'WARNING', message: facts.problem };
  const age = Math.max(0, Math.round((now - facts.at) / 1000));
  if (facts.outcome === 'mismatch') {
    const what = facts.differing > 0 ? `${facts.differing} rows differ from the central` : 'the figures differ from the central (amounts unreadable here)';
    return { name: 'reconcile', status: 'CRITICAL', message: `${what} (${formatAge(age)} ago): run pos-sync reconcile for the list` };
  }
  if (facts.outcome === 'failed') return { name: 'reconcile', status: 'WARNING', message: `the last reconciliation could not finish (${formatAge(age)} ago): ${facts.error ?? 'unknown error'}` };
  if (age > maxAgeSeconds) return { name: 'reconcile', status: 'WARNING', message: `the last reconciliation is ${formatAge(age)} old (warning above ${formatAge(maxAgeSeconds)})` };
  return { name: 'reconcile', status: 'OK', message: `matched ${formatAge(age)} ago` };
}

/** Each check's verdict, the overall status, a one-line summary and the perfdata. */
const DEADLINE_STATUS: Readonly<Record<DeadlineLevel, HealthStatus>> = { ok: 'OK', warning: 'WARNING', critical: 'CRITICAL' };

export function judgeHealth(f: HealthFacts): HealthVerdict {
  const t = f.thresholds;
  const d = f.database;
  const checks: CheckResult[] = [databaseCheck(f), centralCheck(f)];
  const kafka = kafkaCheck(f);
  if (kafka) checks.push(kafka);
  const kafkaBacklog = kafkaBacklogCheck(f);
  if (kafkaBacklog) checks.push(kafkaBacklog);
  checks.push(breakerCheck(f));
  checks.push(lastPassCheck(f));
  const last = lastSuccessCheck(f);
  checks.push(last.check);

  let oldestAge: number | null = null;
  if (d.kind === 'ok') {
    checks.push({
      name: 'backlog',
      status: againstThresholds(d.pending, t.backlogWarning, t.backlogCritical),
      message: `${d.pending} pending (${limits(t.backlogWarning, t.backlogCritical, String)})`,
    });
    checks.push({
      name: 'deadLetters',
      status: d.deadLettered > t.deadLetteredWarning ? 'WARNING' : 'OK',
      message:
        d.deadLettered === 0
          ? 'none'
          : `${plural(d.deadLettered, 'row')} dead-lettered: list them with pos-sync status --dead-letters (warning above ${t.deadLetteredWarning})`,
    });
    const held = d.quarantined ?? 0;
    const named = (d.quarantinedRows ?? []).map((r) => `${r.entity} ${r.id}${r.amount === null ? '' : ` (${r.amount})`}: ${r.answer ?? 'failed'}, next try ${r.nextTryAt ?? 'at the next pass'}`);
    checks.push({
      name: 'quarantine',
      status: held > 0 ? 'WARNING' : 'OK',
      message:
        held === 0
          ? 'none'
          : `${plural(held, 'row')} failing alone at the central while the rest goes through — ${named.join('; ')}${named.length < held ? '; …' : ''} (pos-sync status lists them)`,
    });
    oldestAge = d.oldestPendingAt === null ? 0 : Math.max(0, Math.round((f.now - d.oldestPendingAt) / 1000));
    checks.push({
      name: 'oldestPending',
      status: againstThresholds(oldestAge, t.oldestPendingWarningSeconds, t.oldestPendingCriticalSeconds),
      message: d.oldestPendingAt === null ? 'nothing pending' : `${formatAge(oldestAge)} (${limits(t.oldestPendingWarningSeconds, t.oldestPendingCriticalSeconds, formatAge)})`,
    });
  } else {
    checks.push({ name: 'backlog', status: 'UNKNOWN', message: 'not known: the database check failed' });
    checks.push({ name: 'deadLetters', status: 'UNKNOWN', message: 'not known: the database check failed' });
    checks.push({ name: 'quarantine', status: 'UNKNOWN', message: 'not known: the database check failed' });
    checks.push({ name: 'oldestPending', status: 'UNKNOWN', message: 'not known: the database check failed' });
  }

  // The offline deadline beside the oldest-pending thresholds, not instead of them: each is its own
  // check, and the worse one sets the status (man page, Sync.OfflineDeadlineHours).
  let deadline: DeadlineStanding | null = null;
  if (f.offlineDeadlineSeconds !== undefined && f.offlineDeadlineSeconds !== null) {
    if (d.kind === 'ok') {
      deadline = offlineDeadline(d.oldestPendingSaleAt ?? null, f.offlineDeadlineSeconds, f.now)!;
      checks.push({ name: 'offlineDeadline', status: DEADLINE_STATUS[deadline.level], message: describeDeadline(deadline) });
    } else {
      checks.push({ name: 'offlineDeadline', status: 'UNKNOWN', message: 'not known: the database check failed' });
    }
  }

  if (f.reconcile) checks.push(reconcileCheck(f.reconcile.facts, f.now, f.reconcile.maxAgeSeconds));

  const status = worstStatus(checks.map((c) => c.status));
  const bad = checks.filter((c) => c.status === status && status !== 'OK');
  const summary =
    status === 'OK'
      ? `${d.kind === 'ok' ? `${d.pending} pending, ` : ''}central up, breaker closed`
      : bad.map((c) => `${LABELS[c.name]}: ${c.message}`).join('; ');

  const b = f.state.breaker;
  const perfdata: PerfValue[] = [
    { label: 'backlog', value: d.kind === 'ok' ? d.pending : null, uom: '', warn: t.backlogWarning, crit: t.backlogCritical, min: 0 },
    { label: 'oldest_pending', value: oldestAge, uom: 's', warn: t.oldestPendingWarningSeconds, crit: t.oldestPendingCriticalSeconds, min: 0 },
    { label: 'last_success_age', value: last.ageSeconds, uom: 's', warn: t.lastSuccessWarningSeconds, crit: t.lastSuccessCriticalSeconds, min: 0 },
    { label: 'dead_lettered', value: d.kind === 'ok' ? d.deadLettered : null, uom: '', warn: t.deadLetteredWarning, crit: null, min: 0 },
    { label: 'quarantined', value: d.kind === 'ok' ? (d.quarantined ?? 0) : null, uom: '', warn: 0, crit: null, min: 0 },
    { label: 'breaker_open', value: effectiveMode(b, f.now, f.breakerSettings) === 'closed' ? 0 : 1, uom: '', warn: null, crit: null, min: 0, max: 1 },
    { label: 'consecutive_failures', value: b.consecutiveFailures, uom: '', warn: null, crit: null, min: 0 },
    { label: 'central_response', value: f.central.kind === 'answered' ? Math.round(f.central.ms) / 1000 : null, uom: 's', warn: null, crit: null, min: 0 },
  ];
  if (f.offlineDeadlineSeconds !== undefined && f.offlineDeadlineSeconds !== null) {
    const used = deadline === null ? null : Math.floor(deadline.fractionUsed * 100);
    perfdata.push({ label: 'offline_deadline_used', value: used, uom: '', warn: DEADLINE_WARNING_FRACTION * 100, crit: DEADLINE_CRITICAL_FRACTION * 100, min: 0 });
  }
  if (f.kafka.kind !== 'disabled') {
    perfdata.push({ label: 'kafka_backlog', value: d.kind === 'ok' ? d.kafkaBacklog : null, uom: '', warn: t.kafkaBacklogWarning, crit: t.kafkaBacklogCritical, min: 0 });
  }
  return { status, summary, checks, perfdata };
}

export const LABELS: Readonly<Record<CheckName, string>> = {
  database: 'database',
  central: 'central API',
  kafka: 'Kafka',
  kafkaBacklog: 'Kafka backlog',
  breaker: 'circuit breaker',
  lastPass: 'last pass',
  lastSuccess: 'last successful pass',
  backlog: 'backlog',
  deadLetters: 'dead letters',
  quarantine: 'quarantine',
  oldestPending: 'oldest pending row',
  offlineDeadline: 'offline deadline',
  reconcile: 'last reconciliation',
};

/** `label=value[uom];warn;crit;min;max`, the Monitoring Plugins perfdata syntax. */
export function formatPerfdata(values: readonly PerfValue[]): string {
  const n = (x: number | null | undefined): string => (x === null || x === undefined ? '' : String(x));
  return values
    .map((p) => {
      const fields = [p.value === null ? 'U' : `${p.value}${p.uom}`, n(p.warn), n(p.crit), n(p.min), n(p.max)];
      while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
      return `${p.label}=${fields.join(';')}`;
    })
    .join(' ');
}
