// What a pass leaves in the state file: the breaker, a summary of the pass, when delivery last
// succeeded, and an answer not about the rows while it stands (pos-sync-central(7) KAFKA).

import type { Config } from '../config/types.js';
import type { BreakerState } from '../domain/breaker.js';
import { ExitCode } from '../errors.js';
import { withSince, type PassSummary, type SavedState } from '../state/format.js';
import { leave } from '../domain/breaker.js';
import type { RefusedAlone } from '../domain/refusals.js';
import { kafkaTrouble } from '../domain/kafka-trouble.js';
import { total, type LedgerSummary } from './ledger.js';

/** What of a pass's result the state file keeps. */
export interface PassOutcome extends LedgerSummary {
  readonly durationMs: number;
  readonly kafka?: { readonly error: string | null } | null | undefined;
}

/** A quiet pass rewrites an unchanged state at most this often (see worthSaving). */
export function saveRefreshMs(config: Config): number {
  // Well inside the health warning, so a quiet store never looks stalled to monitoring.
  return Math.min(60_000, config.health.lastSuccessWarningSeconds * 500);
}

/**
 * `refusedAlone`: what the pass's refusals leave for the next pass to judge with (domain/refusals.ts);
 * undefined keeps what the file had.
 */
export function nextState(prev: SavedState, breaker: BreakerState, r: PassOutcome, at: number, refusedAlone?: RefusedAlone | null): SavedState {
  const lastPass: PassSummary = withSince(prev.lastPass, {
    at,
    exitCode: r.exitCode,
    outcome: r.stoppedBy,
    delivered: total(r.delivered),
    refused: total(r.rejected),
    durationMs: Math.max(0, Math.round(r.durationMs)),
    error: r.error,
    ...(r.kafka?.error ? { kafkaError: r.kafka.error, kafkaErrorSince: kafkaErrorSince(prev.lastPass, r.kafka.error, at) } : {}),
  });
  // 65 counts as a success for health: delivery works, only some rows' content was refused.
  const succeeded = r.exitCode === ExitCode.ok || r.exitCode === ExitCode.rejected;
  // An answer not about the rows stays on show (status, health, metrics) until a pass succeeds.
  const notAboutRows = r.stoppedBy === 'notAboutRows' ? { at, reason: r.error ?? '' } : succeeded ? null : (prev.notAboutRows ?? null);
  const alone = refusedAlone === undefined ? (prev.refusedAlone ?? null) : refusedAlone;
  // The heartbeat's memory is the heartbeat's (heartbeat/send.ts): carried over untouched.
  return {
    breaker: leave(breaker),
    lastPass,
    lastSuccessAt: succeeded ? at : prev.lastSuccessAt,
    ...(notAboutRows ? { notAboutRows } : {}),
    ...(alone ? { refusedAlone: alone } : {}),
    ...(prev.heartbeat ? { heartbeat: prev.heartbeat } : {}),
  };
}

/** When publishing began to fail for this kind of reason: carried over while the kind stays the same. */
function kafkaErrorSince(prev: PassSummary | null, error: string, at: number): number {
  const before = prev?.kafkaError ?? null;
  if (before === null || kafkaTrouble(before).kind !== kafkaTrouble(error).kind) return at;
  const since = prev?.kafkaErrorSince ?? prev?.at ?? at;
  return since <= at ? since : at;
}

/** A pass that failed outright (database error, bug) still keeps what it learnt about the central. */
export function failedState(prev: SavedState, breaker: BreakerState, exitCode: number, err: unknown, summary: LedgerSummary, at: number, durationMs: number): SavedState {
  const message = err instanceof Error ? err.message : String(err);
  return {
    ...prev,
    breaker: leave(breaker),
    lastPass: withSince(prev.lastPass, { at, exitCode, outcome: 'error', delivered: total(summary.delivered), refused: total(summary.rejected), durationMs, error: message }),
  };
}
