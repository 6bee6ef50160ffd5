// The lines `sync` tells an open breaker's tick with, apart from sync.ts so that the fast path
// (src/idle.ts) renders them with the same functions without loading the command line: it
// answers an open breaker's timer tick itself (pos-sync-internals(7) PERFORMANCE).

import { age } from '../cli/render.js';
import type { BreakerView } from '../domain/breaker.js';
import type { PassResult } from '../pass/pass.js';

/** "next probe in 25 s", from the breaker after the pass and the moment the pass ended. */
export function nextProbe(b: BreakerView, now: number): string {
  if (b.nextProbeAt === null) return 'the next pass probes';
  const inMs = Date.parse(b.nextProbeAt) - now;
  // Relative: an open-circuit tick must not load Intl's time-zone data for a wall-clock time, and
  // "in 25 s" is what a reader needs (the state file and --json keep the instant).
  return inMs <= 0 ? 'the next pass probes' : `next probe in ${age(Math.ceil(inMs / 1000))}`;
}

/**
 * The warning an open breaker's pass is logged with (off a terminal, its one line). The saved text
 * names the instant (stable, so an unchanged state is not rewritten); the log line says how long
 * to wait.
 */
export function breakerOpenWarning(error: string, r: PassResult): string {
  return error.replace(/; next probe at \S+$/, `; ${nextProbe(r.breaker, Date.parse(r.startedAt) + r.durationMs)}`);
}
