// The heartbeat document (man page, HEARTBEAT; man/schemas/heartbeat.schema.json): the till's
// standing for the head office, built from the same facts `status --json` reads — the state file,
// the database's backlog, mapped as status maps them (standing.ts) and judged by the same verdict
// rules (domain/verdict.ts) — plus what only a fleet needs: which till, free disk, the clock
// against the central's, and which configuration.

import { createHash } from 'node:crypto';
import type { Config } from '../config/types.js';
import { isSecretHeader, isSecretProducerKey } from '../config/secrets.js';
import { describeBreaker } from '../domain/breaker.js';
import type { DeadlineLevel } from '../domain/offline-deadline.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { judgeStatus, type StatusVerdict, type Verdict } from '../domain/verdict.js';
import { VERSION } from '../version.js';
import { verdictFacts, type StandingFacts } from './standing.js';

export const HEARTBEAT_SCHEMA_VERSION = 1;

export interface HeartbeatDocument {
  readonly schemaVersion: typeof HEARTBEAT_SCHEMA_VERSION;
  readonly kind: 'pos-sync.heartbeat';
  readonly sentAt: string;
  readonly version: string;
  readonly storeId: string;
  readonly tillId: string;
  readonly verdict: Verdict;
  readonly verdictSince: string;
  readonly headline: string;
  readonly problems: readonly string[];
  readonly pending: Record<Entity, { readonly pending: number; readonly oldestPendingAt: string | null }>;
  readonly oldestPendingAgeSeconds: number | null;
  readonly deadLettered: number;
  /** Rows held in the quarantine (man page, QUARANTINE). */
  readonly quarantined: number;
  /** Sync.OfflineDeadlineHours counted down on the oldest pending sale, as status --json has it; null when unset. */
  readonly offlineDeadline: { readonly hours: number; readonly level: DeadlineLevel; readonly dueAt: string | null; readonly secondsLeft: number } | null;
  readonly breaker: { readonly state: 'closed' | 'open' | 'halfOpen'; readonly consecutiveFailures: number; readonly openedAt: string | null; readonly nextProbeAt: string | null };
  readonly lastSuccessAt: string | null;
  readonly lastPass: { readonly at: string; readonly exitCode: number; readonly outcome: string; readonly since: string } | null;
  readonly kafka: { readonly enabled: boolean; readonly backlog: number | null; readonly trouble: string | null };
  readonly disk: { readonly freeBytes: number | null; readonly totalBytes: number | null };
  readonly clockOffsetMs: number | null;
  readonly configHash: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The heartbeat's facts: status's mapping (standing.ts), with the heartbeat's own view. */
function heartbeatFacts(config: Config, f: StandingFacts): ReturnType<typeof verdictFacts> {
  return verdictFacts(config, f, {
    // The texts go to head office, which reads many tills: the store's zone when configured, else
    // UTC rather than each machine's own (which would also start ICU on every heartbeat, ~50 ms).
    timeZone: config.timeZone ?? 'UTC',
    // The heartbeat follows a pass: that pass is the trace (a till whose passes stop sends none,
    // and head office's silence rule shows it), so no timer is ever named.
    lastTraceAt: f.now,
    timer: 'pos-sync.timer',
  });
}

/** The verdict `status` would give on these facts (same mapping, same rules, same thresholds). */
export function judge(config: Config, f: StandingFacts): StatusVerdict {
  return judgeStatus(heartbeatFacts(config, f));
}

export interface DocumentExtras {
  readonly verdictSince: number;
  readonly clockOffsetMs: number | null;
  readonly disk: { readonly freeBytes: number | null; readonly totalBytes: number | null };
}

export function buildHeartbeat(config: Config, f: StandingFacts, extras: DocumentExtras): HeartbeatDocument {
  const saved = f.peeked.state;
  const facts = heartbeatFacts(config, f);
  const verdict = judgeStatus(facts);
  const b = describeBreaker(saved.breaker, f.now, config.breaker);
  const p = saved.lastPass;
  const kafkaError = facts.kafkaError;
  const deadline = facts.offlineDeadline;
  return {
    schemaVersion: HEARTBEAT_SCHEMA_VERSION,
    kind: 'pos-sync.heartbeat',
    sentAt: iso(f.now),
    version: VERSION,
    storeId: config.storeId,
    tillId: config.tillId,
    verdict: verdict.verdict,
    verdictSince: iso(Math.min(extras.verdictSince, f.now)),
    headline: verdict.headline,
    problems: verdict.problems.map((x) => x.problem),
    pending: Object.fromEntries(ENTITIES.map((e) => [e, { pending: f.pending[e].pending, oldestPendingAt: f.pending[e].oldestPendingAt }])) as HeartbeatDocument['pending'],
    oldestPendingAgeSeconds: facts.oldestPendingAt === null ? null : Math.max(0, Math.round((f.now - facts.oldestPendingAt) / 1000)),
    deadLettered: facts.deadLettered,
    quarantined: facts.quarantined,
    offlineDeadline: deadline === null ? null : { hours: deadline.deadlineSeconds / 3600, level: deadline.level, dueAt: deadline.dueAt === null ? null : iso(deadline.dueAt), secondsLeft: deadline.secondsLeft },
    breaker: { state: b.state, consecutiveFailures: b.consecutiveFailures, openedAt: b.openedAt, nextProbeAt: b.nextProbeAt },
    lastSuccessAt: saved.lastSuccessAt === null ? null : iso(saved.lastSuccessAt),
    lastPass: p === null ? null : { at: iso(p.at), exitCode: p.exitCode, outcome: p.outcome, since: iso(p.since) },
    kafka: {
      enabled: config.kafka.enabled,
      backlog: facts.kafkaBacklog,
      // The text can quote a broker's error: cut to what a fleet row can show.
      trouble: kafkaError === null ? null : kafkaError.slice(0, 300),
    },
    disk: extras.disk,
    clockOffsetMs: extras.clockOffsetMs,
    configHash: configHash(config),
  };
}

/**
 * sha256 (first 16 hex digits) of the effective configuration with every secret replaced by a
 * marker and the till's identity (store, till) left out: two tills with the same hash run the
 * same settings; a changed secret does not show.
 */
export function configHash(config: Config): string {
  const { storeId: _store, tillId: _till, ...settings } = config;
  const redacted = {
    ...settings,
    http: {
      ...config.http,
      token: config.http.token === null ? null : '<redacted>',
      headers: redact(config.http.headers, isSecretHeader),
    },
    kafka: { ...config.kafka, producerConfig: redact(config.kafka.producerConfig, isSecretProducerKey) },
  };
  return createHash('sha256').update(canonical(redacted)).digest('hex').slice(0, 16);
}

function redact(map: Readonly<Record<string, string>>, secret: (key: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, secret(k) ? '<redacted>' : v]));
}

/** JSON with keys sorted at every level, so the hash does not depend on the order they were built in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
