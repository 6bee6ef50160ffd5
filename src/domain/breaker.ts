// The circuit breaker as a pure state machine (pos-sync-operations(7) BETWEEN INVOCATIONS). Each invocation is a new process, so the
// state is plain data that the state file keeps between passes; every decision here is a function
// of that data, `now` and a random draw, so tests move a fake clock instead of sleeping.
//
//   closed ──FailureThreshold consecutive failures──▶ open ──nextProbeAt reached──▶ halfOpen
//   halfOpen ──probe answered──▶ closed (everything reset)
//   halfOpen ──probe failed──▶ open again, for longer (consecutive opens + 1)

import { jitter } from './backoff.js';
import type { Random } from './time.js';

export type BreakerMode = 'closed' | 'open' | 'halfOpen';

export interface BreakerState {
  readonly state: BreakerMode;
  /** Failed requests in a row (each after its retries within a pass). */
  readonly consecutiveFailures: number;
  /** Epoch ms when it last opened; null while closed. */
  readonly openedAt: number | null;
  /** Epoch ms from which the next pass may probe; null while closed. */
  readonly nextProbeAt: number | null;
  /** Times it opened without a successful answer in between; sets the length of the break. */
  readonly consecutiveOpens: number;
  /** The failure that last counted, for status and health (what went wrong, in words). */
  readonly lastFailure: string | null;
  /**
   * Epoch ms when it first opened in this outage: reopenings after failed probes keep it, an
   * answer clears it. What "open since" says; openedAt stays the last opening (it caps the probe).
   * Absent in state files written before it existed (openedAt stands in).
   */
  readonly outageSince?: number | null;
}

export interface BreakerSettings {
  readonly failureThreshold: number;
  readonly breakMs: number;
  readonly maxBreakMs: number;
}

export const CLOSED: BreakerState = {
  state: 'closed',
  consecutiveFailures: 0,
  openedAt: null,
  nextProbeAt: null,
  consecutiveOpens: 0,
  lastFailure: null,
};

/** Rows in a half-open probe batch: enough to be a real delivery, small enough to be cheap. */
export const PROBE_ROWS = 10;

/**
 * How long the breaker stays open after its n-th consecutive opening:
 * BreakSeconds × 2^(n−1) × a factor in [0.8, 1.2], capped at MaxBreakSeconds. The jitter keeps a
 * fleet of stores that lost the central together from probing it in the same second.
 */
export function breakDurationMs(consecutiveOpens: number, settings: BreakerSettings, random: Random): number {
  // 2^50 × any BreakSeconds is far past any cap; a bounded exponent keeps the product finite.
  const exponent = Math.min(50, Math.max(0, consecutiveOpens - 1));
  return Math.min(settings.maxBreakMs, jitter(settings.breakMs * 2 ** exponent, random));
}

/** What a pass may do, given the saved state. */
export type Admission =
  /** Deliver as usual. */
  | { readonly kind: 'closed' }
  /** The break is over: half-open, one small probe batch (or a health GET) decides. */
  | { readonly kind: 'probe' }
  /** `--force` while open: deliver as usual, and let the first answer decide like a probe. */
  | { readonly kind: 'forced' }
  /** Still open: no request at all; try again from nextProbeAt. */
  | { readonly kind: 'refuse'; readonly nextProbeAt: number };

/**
 * When the next probe is really due. A probe time further out than the configured cap (because
 * MaxBreakSeconds was lowered since) is pulled in; a breaker that opened "in the future" (the
 * clock was set back) is due at once — otherwise it would stay open until the clock caught up.
 */
export function probeDueAt(state: BreakerState, now: number, settings: BreakerSettings): number {
  if (state.nextProbeAt === null || state.openedAt === null || state.openedAt > now) return now;
  return Math.min(state.nextProbeAt, state.openedAt + settings.maxBreakMs);
}

export function admit(state: BreakerState, now: number, settings: BreakerSettings, force: boolean): Admission {
  if (state.state === 'closed') return { kind: 'closed' };
  const due = probeDueAt(state, now, settings);
  if (now >= due) return { kind: 'probe' };
  if (force) return { kind: 'forced' };
  return { kind: 'refuse', nextProbeAt: due };
}

/** The in-pass state once a pass was admitted: probing and forced passes run half-open. */
export function enter(state: BreakerState, admission: Admission): BreakerState {
  if (admission.kind === 'probe' || admission.kind === 'forced') return { ...state, state: 'halfOpen' };
  return state;
}

/**
 * The central answered in a way that shows it is up (2xx, or a 400/413/422 refusal of content):
 * the failure count resets, and a half-open breaker closes with everything reset.
 */
export function onAnswer(_state: BreakerState): BreakerState {
  return CLOSED;
}

/**
 * A request failed after its retries (5xx, 408/429, timeout, connection refused). Closed: one more
 * failure, opening at the threshold. Half-open: the probe failed, so it opens again for longer.
 * (401/403 and wrong-endpoint answers never reach here: they say nothing about availability.)
 */
export function onFailure(state: BreakerState, now: number, settings: BreakerSettings, random: Random, error: string | null = null): BreakerState {
  const failures = state.consecutiveFailures + 1;
  if (state.state === 'closed' && failures < settings.failureThreshold) {
    return { ...state, consecutiveFailures: failures, lastFailure: error };
  }
  const opens = state.consecutiveOpens + 1;
  // A reopening (no answer since the last opening) belongs to the same outage; one in the future
  // (a clock set back since) does not stand.
  const earlier = state.consecutiveOpens > 0 ? (state.outageSince ?? state.openedAt) : null;
  return {
    state: 'open',
    consecutiveFailures: failures,
    openedAt: now,
    nextProbeAt: now + breakDurationMs(opens, settings, random),
    consecutiveOpens: opens,
    lastFailure: error,
    outageSince: earlier !== null && earlier <= now ? earlier : now,
  };
}

/**
 * After the pass: a half-open breaker that got neither an answer nor a failure (the pass stopped
 * on 401/403, a wrong endpoint or its time budget before the probe) goes back to open with its
 * old probe time, so the next pass probes again.
 */
export function leave(state: BreakerState): BreakerState {
  return state.state === 'halfOpen' ? { ...state, state: 'open' } : state;
}

/** The state as a reader (status, health) should see it at `now`. */
export function effectiveMode(state: BreakerState, now: number, settings: BreakerSettings): BreakerMode {
  if (state.state === 'closed') return 'closed';
  return now >= probeDueAt(state, now, settings) ? 'halfOpen' : 'open';
}

/** The breaker as status, health and `sync --json` show it (times as ISO 8601 UTC). */
export interface BreakerView {
  readonly state: BreakerMode;
  readonly consecutiveFailures: number;
  readonly consecutiveOpens: number;
  readonly openedAt: string | null;
  /** When the outage began: the first opening of this run of openings. */
  readonly outageSince: string | null;
  readonly nextProbeAt: string | null;
  readonly lastFailure: string | null;
}

export function describeBreaker(state: BreakerState, now: number, settings: BreakerSettings): BreakerView {
  const mode = effectiveMode(state, now, settings);
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    state: mode,
    consecutiveFailures: state.consecutiveFailures,
    consecutiveOpens: state.consecutiveOpens,
    openedAt: iso(state.openedAt),
    outageSince: state.state === 'closed' ? null : iso(outageStart(state)),
    nextProbeAt: state.state === 'closed' ? null : iso(probeDueAt(state, now, settings)),
    lastFailure: state.lastFailure,
  };
}

/** When the outage an open breaker is part of began (files without outageSince: the last opening). */
export function outageStart(state: BreakerState): number | null {
  return state.outageSince ?? state.openedAt;
}

