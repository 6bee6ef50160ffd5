// Prometheus text exposition (format 0.0.4) of one pass, for node_exporter's textfile collector.
// Pure: a snapshot in, the file's text out; and the previous file's text in, the running totals out.
//
// Why the running totals (the `_total` counters) live in the metrics file itself and not in the
// state file: they matter only to whoever scrapes this file; the file is already rewritten
// atomically after every pass, so reading it back is one small read; the state file stays about
// the breaker and keeps its own format and versioning. If the file is lost, the counters start
// again from zero, which Prometheus treats as a counter reset (rate() and increase() handle it).

import type { Entity } from '../domain/rows.js';
import type { BreakerMode } from '../domain/breaker.js';

export type PerEntity = Readonly<Record<Entity, number>>;

export interface EntityBacklog {
  readonly pending: number;
  readonly oldestPendingAgeSeconds: number | null;
  readonly deadLettered: number;
  /** Rows held in the quarantine (absent from a backlog read by an older pos-sync). */
  readonly quarantined?: number;
  readonly kafkaBacklog: number;
}

export interface PassFacts {
  /** Epoch ms when the pass ended. */
  readonly at: number;
  readonly exitCode: number;
  readonly durationMs: number;
  readonly synced: PerEntity;
  readonly refused: PerEntity;
  readonly deadLettered: PerEntity;
  readonly requests: number;
  readonly failedRequests: number;
  /** The pass stopped at an answer that was not about the rows (a proxy's page, one shared refusal). */
  readonly notAboutRows?: boolean;
}

export interface BreakerFacts {
  readonly state: BreakerMode;
  readonly consecutiveFailures: number;
  readonly consecutiveOpens: number;
  /** Epoch ms, or null when closed. */
  readonly nextProbeAt: number | null;
}

/** The counters that must survive from one invocation to the next. */
export interface Totals {
  readonly synced: PerEntity;
  readonly refused: PerEntity;
  readonly deadLettered: PerEntity;
  /** Passes by exit code ("0", "65", "75"…). */
  readonly passes: Readonly<Record<string, number>>;
  readonly passSeconds: number;
  readonly requests: number;
  readonly failedRequests: number;
  readonly breakerOpens: number;
}

/** What the previous file tells the next pass. */
export interface Previous {
  readonly totals: Totals;
  /** Epoch ms of the last pass that exited 0 or 65, or null. */
  readonly lastSuccessAt: number | null;
  /** The breaker's consecutive openings as last written, or null when unknown. */
  readonly consecutiveOpens: number | null;
}

export interface MetricsSnapshot {
  readonly store: string;
  /** Sync.TillId; absent in snapshots made without one. */
  readonly till?: string;
  readonly version: string;
  readonly pass: PassFacts;
  /** Null when the database could not be read after the pass. */
  readonly backlog: Readonly<Record<Entity, EntityBacklog>> | null;
  readonly kafkaEnabled: boolean;
  readonly breaker: BreakerFacts | null;
  readonly totals: Totals;
  readonly lastSuccessAt: number | null;
  /** The last `pos-sync reconcile`, when one is recorded. */
  readonly reconcile?: ReconcileFacts | null;
  /** The oldest pending sale against Sync.OfflineDeadlineHours; null or absent when none is set. */
  readonly offlineDeadline?: { readonly deadlineSeconds: number; readonly secondsLeft: number } | null;
}

/** What the metrics show of the last reconciliation (state/reconcile-record.ts). */
export interface ReconcileFacts {
  readonly at: number;
  readonly outcome: 'match' | 'mismatch' | 'failed';
  readonly missingAtCentral: number;
  readonly extraAtCentral: number;
  readonly amountDiffers: number;
}

const ENTITIES: readonly Entity[] = ['transaction', 'inventory'];
const zero: PerEntity = { transaction: 0, inventory: 0 };

export const EMPTY_TOTALS: Totals = { synced: zero, refused: zero, deadLettered: zero, passes: {}, passSeconds: 0, requests: 0, failedRequests: 0, breakerOpens: 0 };
export const NO_PREVIOUS: Previous = { totals: EMPTY_TOTALS, lastSuccessAt: null, consecutiveOpens: null };

/** Exit codes for which delivery worked: 65 only means the central refused some rows' content. */
export function isSuccess(exitCode: number): boolean {
  return exitCode === 0 || exitCode === 65;
}

const add = (a: PerEntity, b: PerEntity): PerEntity => ({ transaction: a.transaction + b.transaction, inventory: a.inventory + b.inventory });

/**
 * The totals after this pass. Breaker openings are counted from the rise of its consecutive
 * openings since the previous file (it only rises by opening; closing resets it to 0); without a
 * previous value nothing is invented.
 */
export function nextTotals(previous: Previous, pass: PassFacts, breaker: BreakerFacts | null): Totals {
  const prev = previous.totals;
  const code = String(pass.exitCode);
  let opens = 0;
  if (breaker && previous.consecutiveOpens !== null) {
    if (breaker.consecutiveOpens > previous.consecutiveOpens) opens = breaker.consecutiveOpens - previous.consecutiveOpens;
    // Closed and re-opened between two files (a pass without --metrics-file in between).
    else if (breaker.consecutiveOpens > 0 && breaker.consecutiveOpens < previous.consecutiveOpens) opens = breaker.consecutiveOpens;
  }
  return {
    synced: add(prev.synced, pass.synced),
    refused: add(prev.refused, pass.refused),
    deadLettered: add(prev.deadLettered, pass.deadLettered),
    passes: { ...prev.passes, [code]: (prev.passes[code] ?? 0) + 1 },
    passSeconds: prev.passSeconds + Math.max(0, pass.durationMs) / 1000,
    requests: prev.requests + pass.requests,
    failedRequests: prev.failedRequests + pass.failedRequests,
    breakerOpens: prev.breakerOpens + opens,
  };
}

// --- rendering ---

type Labels = Readonly<Record<string, string>>;
interface Sample {
  readonly labels?: Labels;
  readonly value: number;
}

/** Label values escape backslash, double quote and newline (exposition format). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function family(out: string[], name: string, type: 'gauge' | 'counter', help: string, samples: readonly Sample[]): void {
  if (samples.length === 0) return;
  out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
  out.push(`# TYPE ${name} ${type}`);
  for (const s of samples) {
    const labels = s.labels ? Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',') : '';
    out.push(`${name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
  }
}

const perEntity = (values: PerEntity): Sample[] => ENTITIES.map((entity) => ({ labels: { entity }, value: values[entity] }));
const seconds = (ms: number): number => Math.round(ms) / 1000;

export function renderMetrics(s: MetricsSnapshot): string {
  const out: string[] = [];
  const p = s.pass;
  const t = s.totals;
  const info: Record<string, string> = s.till === undefined ? { store: s.store, version: s.version } : { store: s.store, till: s.till, version: s.version };
  family(out, 'pos_sync_info', 'gauge', 'Always 1; labels name the store, the till (Sync.TillId) and the pos-sync version.', [{ labels: info, value: 1 }]);
  family(out, 'pos_sync_last_pass_timestamp_seconds', 'gauge', 'When the last pass ended (Unix time).', [{ value: seconds(p.at) }]);
  family(out, 'pos_sync_last_pass_duration_seconds', 'gauge', 'How long the last pass took.', [{ value: seconds(p.durationMs) }]);
  family(out, 'pos_sync_last_pass_exit_code', 'gauge', 'Exit code of the last pass (0 ok, 65 rows refused, 74 local I/O, 75 temporary, 77 credentials, 78 configuration).', [{ value: p.exitCode }]);
  family(out, 'pos_sync_last_pass_synced_rows', 'gauge', 'Rows the last pass delivered, by entity.', perEntity(p.synced));
  family(out, 'pos_sync_last_pass_refused_rows', 'gauge', 'Rows the central refused in the last pass, by entity.', perEntity(p.refused));
  family(out, 'pos_sync_last_pass_dead_lettered_rows', 'gauge', 'Rows the last pass dead-lettered, by entity.', perEntity(p.deadLettered));
  family(out, 'pos_sync_last_pass_not_about_rows', 'gauge', '1 when the last pass stopped at an answer that was not about the rows (a proxy\'s own 400/413 page, or every row refused for one reason): exit 78, no row penalised.', [{ value: p.notAboutRows ? 1 : 0 }]);
  if (s.lastSuccessAt !== null) {
    family(out, 'pos_sync_last_success_timestamp_seconds', 'gauge', 'When the last pass that delivered without failing ended (exit 0 or 65; Unix time).', [{ value: seconds(s.lastSuccessAt) }]);
  }
  family(out, 'pos_sync_synced_rows_total', 'counter', 'Rows delivered to the central API, by entity.', perEntity(t.synced));
  family(out, 'pos_sync_refused_rows_total', 'counter', 'Row refusals by the central API (a row refused twice counts twice), by entity.', perEntity(t.refused));
  family(out, 'pos_sync_dead_lettered_rows_total', 'counter', 'Rows dead-lettered after too many refusals, by entity.', perEntity(t.deadLettered));
  family(out, 'pos_sync_passes_total', 'counter', 'Passes run, by exit code.', Object.keys(t.passes).sort((a, b) => Number(a) - Number(b)).map((code) => ({ labels: { exit_code: code }, value: t.passes[code]! })));
  family(out, 'pos_sync_pass_seconds_total', 'counter', 'Time spent in passes; divided by pos_sync_passes_total, the average pass duration.', [{ value: Math.round(t.passSeconds * 1000) / 1000 }]);
  family(out, 'pos_sync_requests_total', 'counter', 'HTTP requests sent to the central API (retries included).', [{ value: t.requests }]);
  family(out, 'pos_sync_failed_requests_total', 'counter', 'HTTP requests that failed temporarily (5xx, 408, 429, timeouts, connection errors).', [{ value: t.failedRequests }]);
  if (s.backlog) {
    const b = s.backlog;
    family(out, 'pos_sync_pending_rows', 'gauge', 'Rows waiting to be delivered (dead letters excluded), by entity.', ENTITIES.map((entity) => ({ labels: { entity }, value: b[entity].pending })));
    family(out, 'pos_sync_oldest_pending_age_seconds', 'gauge', 'Age of the oldest pending row (0 when none), by entity.', ENTITIES.map((entity) => ({ labels: { entity }, value: b[entity].oldestPendingAgeSeconds ?? 0 })));
    family(out, 'pos_sync_dead_letter_rows', 'gauge', 'Rows in the dead letter queue now (requeue brings them back), by entity.', ENTITIES.map((entity) => ({ labels: { entity }, value: b[entity].deadLettered })));
    family(out, 'pos_sync_quarantined_rows', 'gauge', 'Rows held in the quarantine now: they failed alone while the rest went through (pos-sync status names them), by entity.', ENTITIES.map((entity) => ({ labels: { entity }, value: b[entity].quarantined ?? 0 })));
    if (s.offlineDeadline) {
      // Both, so an alert can say "half of the deadline gone" (remaining < 0.5 × deadline) in PromQL.
      family(out, 'pos_sync_offline_deadline_seconds', 'gauge', 'Sync.OfflineDeadlineHours in seconds: how long a sale may wait here.', [{ value: s.offlineDeadline.deadlineSeconds }]);
      family(out, 'pos_sync_offline_deadline_remaining_seconds', 'gauge', 'Time until the oldest pending sale reaches the offline deadline (negative once past; the whole deadline when none is pending).', [{ value: s.offlineDeadline.secondsLeft }]);
    }
    if (s.kafkaEnabled) {
      family(out, 'pos_sync_kafka_backlog_rows', 'gauge', 'Delivered rows not yet published to Kafka, by entity.', ENTITIES.map((entity) => ({ labels: { entity }, value: b[entity].kafkaBacklog })));
    }
  }
  if (s.breaker) {
    const br = s.breaker;
    const states: readonly [BreakerMode, string][] = [['closed', 'closed'], ['open', 'open'], ['halfOpen', 'half_open']];
    family(out, 'pos_sync_breaker_state', 'gauge', 'Circuit breaker state: 1 for the current one.', states.map(([mode, label]) => ({ labels: { state: label }, value: br.state === mode ? 1 : 0 })));
    family(out, 'pos_sync_breaker_consecutive_failures', 'gauge', 'Failed requests in a row (after retries).', [{ value: br.consecutiveFailures }]);
    family(out, 'pos_sync_breaker_consecutive_opens', 'gauge', 'Times in a row the breaker opened (each doubles the break).', [{ value: br.consecutiveOpens }]);
    if (br.nextProbeAt !== null) family(out, 'pos_sync_breaker_next_probe_timestamp_seconds', 'gauge', 'When the open breaker lets the next probe through (Unix time).', [{ value: seconds(br.nextProbeAt) }]);
  }
  family(out, 'pos_sync_breaker_opens_total', 'counter', 'Times the circuit breaker opened.', [{ value: t.breakerOpens }]);
  if (s.reconcile) {
    const r = s.reconcile;
    family(out, 'pos_sync_last_reconcile_timestamp_seconds', 'gauge', 'When the last pos-sync reconcile ended (Unix time).', [{ value: seconds(r.at) }]);
    family(out, 'pos_sync_last_reconcile_result', 'gauge', 'Result of the last reconcile: 1 for the current one (match, mismatch, failed).', (['match', 'mismatch', 'failed'] as const).map((result) => ({ labels: { result }, value: r.outcome === result ? 1 : 0 })));
    family(out, 'pos_sync_last_reconcile_differing_rows', 'gauge', 'Rows the last reconcile found different, by kind.', [
      { labels: { kind: 'missing_at_central' }, value: r.missingAtCentral },
      { labels: { kind: 'extra_at_central' }, value: r.extraAtCentral },
      { labels: { kind: 'amount_differs' }, value: r.amountDiffers },
    ]);
  }
  return `${out.join('\n')}\n`;
}

// --- reading the previous file back ---

/** One sample line: name, optional {labels}, value; timestamps are not written by us. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseNumber(text: string): number | undefined {
  const n = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * The totals and times a previous file holds. Tolerant: a line it cannot read, a negative or
 * non-finite counter, or a file that is not ours yields what could be read (at worst nothing,
 * which is a counter reset), never an error.
 */
export function parsePrevious(text: string): Previous {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line.trim());
    if (!m) continue;
    const value = parseNumber(m[3]!);
    if (value === undefined || !Number.isFinite(value)) continue;
    const labels: string[] = [];
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels.push(`${l[1]}=${l[2]}`);
    values.set(`${m[1]}{${labels.sort().join(',')}}`, value);
  }
  const counter = (key: string): number => {
    const v = values.get(key);
    return v !== undefined && v >= 0 ? v : 0;
  };
  const entityCounter = (name: string): PerEntity => ({ transaction: counter(`${name}{entity=transaction}`), inventory: counter(`${name}{entity=inventory}`) });
  const passes: Record<string, number> = {};
  for (const [key, v] of values) {
    const m = /^pos_sync_passes_total\{exit_code=(\d{1,3})\}$/.exec(key);
    if (m && v >= 0) passes[m[1]!] = v;
  }
  const lastSuccess = values.get('pos_sync_last_success_timestamp_seconds{}');
  const opens = values.get('pos_sync_breaker_consecutive_opens{}');
  return {
    totals: {
      synced: entityCounter('pos_sync_synced_rows_total'),
      refused: entityCounter('pos_sync_refused_rows_total'),
      deadLettered: entityCounter('pos_sync_dead_lettered_rows_total'),
      passes,
      passSeconds: counter('pos_sync_pass_seconds_total{}'),
      requests: counter('pos_sync_requests_total{}'),
      failedRequests: counter('pos_sync_failed_requests_total{}'),
      breakerOpens: counter('pos_sync_breaker_opens_total{}'),
    },
    lastSuccessAt: lastSuccess !== undefined && lastSuccess > 0 ? Math.round(lastSuccess * 1000) : null,
    consecutiveOpens: opens !== undefined && opens >= 0 && Number.isInteger(opens) ? opens : null,
  };
}
