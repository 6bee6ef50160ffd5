// The quarantine of a row that keeps failing (man page, "QUARANTINE"). Pure decisions, time as a
// parameter: which failures may be narrowed down to rows, when narrowing looks like an outage
// instead, and what one more failure of a row alone does to it.
//
// The rule: a pass that sees a request fail while the central answers others (or its health
// endpoint) narrows the failing batch down by halves, as it does for refusals. A row that was the
// whole of a failing request, in a pass where a request beside it succeeded, gets a strike; after
// `afterPasses` passes with a strike it is quarantined: held back, tried alone again after its own
// growing interval. A strike never counts toward the dead letter: a 5xx is never the row's fault
// for sure, so the row is only kept out of the way of the others.

import type { Outcome } from './classify.js';

export interface QuarantineSettings {
  /** Passes with a strike before the row is quarantined (Sync.QuarantineAfterPasses). */
  readonly afterPasses: number;
  /** The first wait in quarantine (Sync.RetryDelayMinutes); it doubles with each failed try. */
  readonly baseDelayMs: number;
  /** The longest wait between two tries of a quarantined row. */
  readonly maxDelayMs: number;
}

/** The longest wait between two tries of a quarantined row: one request an hour at worst. */
export const MAX_QUARANTINE_DELAY_MS = 60 * 60_000;

/** What pos-sync remembers about a row that failed alone. Times are epoch ms. */
export interface Suspect {
  /** Passes in which the row, alone, failed while other requests succeeded. */
  readonly strikes: number;
  /** Failed tries since it was quarantined (0 before). */
  readonly tries: number;
  readonly quarantinedAt: number | null;
  /** When a quarantined row may be tried again; null while it is only a suspect (tried every pass). */
  readonly nextAttemptAt: number | null;
}

/**
 * Failures that can be about one row: a 5xx, a connection reset, a timeout, a 2xx cut short. A
 * 408/409/425/429 or any answer with a Retry-After is the central pacing us, about no row: those
 * keep the ordinary retries and the breaker.
 */
export function isolatable(outcome: Outcome): boolean {
  if (outcome.kind !== 'temporary' || outcome.retryAfterMs !== null) return false;
  return outcome.status === null || outcome.status >= 500 || (outcome.status >= 200 && outcome.status < 300);
}

/**
 * Narrowing gives up and calls it an outage after this many failed requests in a row. Halves are
 * sent level by level, so m bad rows in one batch make at most about 2m fail in a row (a row
 * alone that fails is sent once more): one or two bad rows in a batch are always found.
 */
export const OUTAGE_AFTER_FAILURES = 6;

export function looksLikeOutage(failuresInARow: number): boolean {
  return failuresInARow >= OUTAGE_AFTER_FAILURES;
}

/** The wait before try `tries` + 1 of a quarantined row: base × 2^(tries − 1), at most the cap. */
export function quarantineDelayMs(tries: number, settings: QuarantineSettings): number {
  const base = Math.max(0, settings.baseDelayMs);
  return Math.min(settings.maxDelayMs, base * 2 ** Math.max(0, Math.min(30, tries - 1)));
}

/** One more pass in which the row, alone, failed while the central answered other requests. */
export function strike(prev: Suspect | null, now: number, settings: QuarantineSettings): Suspect {
  const strikes = (prev?.strikes ?? 0) + 1;
  if (strikes < settings.afterPasses) return { strikes, tries: 0, quarantinedAt: null, nextAttemptAt: null };
  const tries = (prev?.tries ?? 0) + 1;
  return { strikes, tries, quarantinedAt: prev?.quarantinedAt ?? now, nextAttemptAt: now + quarantineDelayMs(tries, settings) };
}
