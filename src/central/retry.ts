// The one place requests are retried: the first retry at once, then 2 s, 4 s… with jitter, a
// longer Retry-After honoured, and never a wait that would cross the pass's budget (pos-sync-central(7)).
//
// p-retry (a dependency the product owner fixed) runs the loop: how many retries (`retries`),
// which failures are retried (`shouldRetry`: temporary outcomes only), what happens between
// attempts (`onFailedAttempt`), and the end of the pass's budget (`signal`: aborted, with the
// reason, when the next attempt or wait would not fit). Its own timing is switched off
// (minTimeout 0) because minTimeout × factor^n × randomize∈[1,2] cannot say pos-sync-central(7)'s schedule:
// a first retry at once, then 2^(n−1) s × [0.8, 1.2] (domain/backoff.ts), a longer Retry-After in
// its place; and its maxRetryTime shortens the last wait to fit and retries at the deadline, where
// the pass must stop instead. The wait is ours, on the injected clock and sleep, so the tests move
// a fake clock instead of sleeping.

import { retryDelayMs } from '../domain/backoff.js';
import type { Outcome } from '../domain/classify.js';
import type { Clock, Random } from '../domain/time.js';

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryPolicy {
  readonly maxRetries: number;
  /** Epoch ms by which the pass must end. */
  readonly deadline: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly sleep: Sleep;
  readonly onRetry?: (info: { retry: number; waitMs: number; error: string }) => void;
}

export type RetriedOutcome = Outcome | { readonly kind: 'outOfTime'; readonly error: string };

class Temporary extends Error {
  constructor(readonly outcome: Extract<Outcome, { kind: 'temporary' }>) {
    super(outcome.error);
  }
}

class OutOfTime extends Error {}

/** Smallest useful time left for a request; below it the pass ends instead. */
export const MIN_REQUEST_MS = 50;

/**
 * Runs `attempt` (given the time it may take) until it gives a non-temporary outcome, the retries
 * are spent (the last temporary outcome is returned), or the budget would be crossed (outOfTime).
 */
export async function withRetries(attempt: (timeLeftMs: number) => Promise<Outcome>, policy: RetryPolicy): Promise<RetriedOutcome> {
  const timeLeft = (): number => policy.deadline - policy.clock.now();
  // The pass's budget: aborted (with an OutOfTime reason) when the next attempt or wait would not
  // fit; p-retry then ends the loop with that reason instead of another attempt.
  const budget = new AbortController();
  const outOfBudget = (message: string): OutOfTime => {
    budget.abort(new OutOfTime(message));
    return budget.signal.reason as OutOfTime;
  };
  try {
    // Imported on the first request, not with this module: `sync` loads this module on every
    // tick, and p-retry's module costs an idle or open-breaker tick several milliseconds.
    const { default: pRetry } = await import('p-retry');
    return await pRetry(
      async () => {
        const left = timeLeft();
        if (left < MIN_REQUEST_MS) throw outOfBudget('the pass ran out of time before the request');
        const outcome = await attempt(left);
        if (outcome.kind === 'temporary') throw new Temporary(outcome);
        return outcome;
      },
      {
        retries: policy.maxRetries,
        minTimeout: 0, // the waits are ours (onFailedAttempt): pos-sync-central(7)'s schedule, the injected clock and sleep
        maxTimeout: 0,
        signal: budget.signal,
        shouldRetry: ({ error }) => error instanceof Temporary,
        onFailedAttempt: async ({ error, retriesLeft, attemptNumber }) => {
          if (!(error instanceof Temporary) || retriesLeft <= 0) return;
          const wait = retryDelayMs(attemptNumber, error.outcome.retryAfterMs, policy.random);
          if (wait + MIN_REQUEST_MS > timeLeft()) {
            outOfBudget(`${error.message}; the next retry (in ${Math.round(wait / 1000)} s) would pass the time budget`);
            return;
          }
          policy.onRetry?.({ retry: attemptNumber, waitMs: wait, error: error.message });
          if (wait > 0) await policy.sleep(wait);
        },
      },
    );
  } catch (err) {
    if (err instanceof Temporary) return err.outcome;
    if (err instanceof OutOfTime) return { kind: 'outOfTime', error: err.message };
    throw err;
  }
}
