// `pos-sync sync --watch`, for hosts without systemd (containers): a pass every
// Sync.SyncIntervalSeconds, start to start like a systemd timer's OnUnitActiveSec, until a signal
// aborts it. The pass in progress finishes its batch; the wait between passes ends at once.

import type { Clock } from '../domain/time.js';

export interface WatchDeps {
  readonly intervalMs: number;
  readonly clock: Clock;
  /** Waits `ms`, or less when `signal` aborts; never rejects. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly signal: AbortSignal;
  /** One pass; returns its exit code. Throwing ends the watch (the caller decides what is fatal). */
  readonly pass: (signal: AbortSignal, n: number) => Promise<number>;
}

export interface WatchResult {
  readonly passes: number;
  /** The last pass's exit code (0 when stopped before the first). */
  readonly exitCode: number;
}

export async function runWatch(deps: WatchDeps): Promise<WatchResult> {
  let passes = 0;
  let exitCode = 0;
  while (!deps.signal.aborted) {
    const started = deps.clock.now();
    exitCode = await deps.pass(deps.signal, passes + 1);
    passes++;
    if (deps.signal.aborted) break;
    // A pass longer than the interval is followed at once by the next, never by two at once.
    const wait = started + deps.intervalMs - deps.clock.now();
    if (wait > 0) await deps.sleep(wait, deps.signal);
  }
  return { passes, exitCode };
}

/** A sleep that ends early when the signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
