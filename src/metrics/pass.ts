// After a pass: the previous metrics file's totals + this pass + the backlog → the new file.

import type { BreakerView } from '../domain/breaker.js';
import type { Entity } from '../domain/rows.js';
import { isSuccess, nextTotals, renderMetrics, type BreakerFacts, type EntityBacklog, type PassFacts } from './exposition.js';
import { readPreviousMetrics, writeMetricsFile } from './file.js';

/**
 * What the metrics read of a pass's result. Declared here, not imported from src/pass/: the
 * metrics sit below the pass (README → Architecture); pass.ts's PassResult has these fields.
 */
export interface PassOutcome {
  readonly exitCode: number;
  readonly stoppedBy: string;
  readonly durationMs: number;
  readonly delivered: Readonly<Record<Entity, number>>;
  readonly rejected: Readonly<Record<Entity, number>>;
  readonly deadLettered: Readonly<Record<Entity, number>>;
  readonly requests: number;
  readonly failedRequests: number;
  /** Optional: a result from before the breaker existed has none. */
  readonly breaker?: Pick<BreakerView, 'state' | 'consecutiveFailures' | 'consecutiveOpens' | 'nextProbeAt'>;
}

export interface PassMetricsInput {
  readonly file: string;
  readonly store: string;
  readonly till?: string;
  readonly version: string;
  readonly result: PassOutcome;
  /** Null when the database could not be read; the backlog gauges are then left out. */
  readonly backlog: Readonly<Record<Entity, EntityBacklog>> | null;
  readonly kafkaEnabled: boolean;
  /** Epoch ms at the end of the pass. */
  readonly now: number;
  /** The last reconciliation, when one is recorded. */
  readonly reconcile?: import('./exposition.js').ReconcileFacts | null;
  /** The oldest pending sale against Sync.OfflineDeadlineHours, when one is set. */
  readonly offlineDeadline?: { readonly deadlineSeconds: number; readonly secondsLeft: number } | null;
}

function breakerFacts(result: PassOutcome): BreakerFacts | null {
  const b = result.breaker;
  if (!b) return null;
  const next = b.nextProbeAt === null ? null : Date.parse(b.nextProbeAt);
  return { state: b.state, consecutiveFailures: b.consecutiveFailures, consecutiveOpens: b.consecutiveOpens, nextProbeAt: next !== null && Number.isFinite(next) ? next : null };
}

/** Throws LocalIoError when the file cannot be written. */
export function writePassMetrics(input: PassMetricsInput): void {
  const { result } = input;
  const previous = readPreviousMetrics(input.file);
  const pass: PassFacts = {
    at: input.now,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    synced: result.delivered,
    refused: result.rejected,
    deadLettered: result.deadLettered,
    requests: result.requests,
    failedRequests: result.failedRequests,
    notAboutRows: result.stoppedBy === 'notAboutRows',
  };
  const breaker = breakerFacts(result);
  const text = renderMetrics({
    store: input.store,
    ...(input.till === undefined ? {} : { till: input.till }),
    version: input.version,
    pass,
    backlog: input.backlog,
    kafkaEnabled: input.kafkaEnabled,
    breaker,
    totals: nextTotals(previous, pass, breaker),
    lastSuccessAt: isSuccess(result.exitCode) ? input.now : previous.lastSuccessAt,
    reconcile: input.reconcile ?? null,
    offlineDeadline: input.offlineDeadline ?? null,
  });
  writeMetricsFile(input.file, text);
}
