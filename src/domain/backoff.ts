// Waiting rules, as pure functions of attempt numbers and a random draw in [0, 1).

/** Spread of every jittered wait: a factor in [0.8, 1.2]. */
export function jitter(ms: number, random: () => number): number {
  return ms * (0.8 + 0.4 * random());
}

/**
 * Wait before retry number `retry` (1-based) of a temporary failure within a pass: the first at
 * once, the n-th after 2^(n-1) s (2 s, 4 s…) jittered; a longer Retry-After replaces it (pos-sync-central(7)).
 */
export function retryDelayMs(retry: number, retryAfterMs: number | null, random: () => number): number {
  const base = retry <= 1 ? 0 : jitter(2 ** (retry - 1) * 1000, random);
  return retryAfterMs !== null && retryAfterMs > base ? retryAfterMs : base;
}

/** After the n-th refusal a row waits RetryDelayMinutes × 2^(n−1) before it is tried again. */
export function rejectionDelayMs(rejections: number, retryDelayMs: number): number {
  return retryDelayMs * 2 ** Math.max(0, rejections - 1);
}

export interface RejectionDecision {
  readonly rejections: number;
  readonly deadLettered: boolean;
  /** Epoch ms of the next attempt, or null when dead-lettered. */
  readonly nextAttemptAt: number | null;
}

/** One more refusal of a row: dead-letter it once it reached maxRejections, else back it off. */
export function decideRejection(previousRejections: number, maxRejections: number, retryDelayMs: number, now: number): RejectionDecision {
  const rejections = previousRejections + 1;
  if (rejections >= maxRejections) return { rejections, deadLettered: true, nextAttemptAt: null };
  return { rejections, deadLettered: false, nextAttemptAt: now + rejectionDelayMs(rejections, retryDelayMs) };
}

/** Splits a refused batch in two halves to isolate refused rows (binary search). */
export function splitBatch<T>(rows: readonly T[]): [T[], T[]] {
  const mid = Math.ceil(rows.length / 2);
  return [rows.slice(0, mid), rows.slice(mid)];
}
