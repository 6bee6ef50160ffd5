// The pass an open breaker refuses (pos-sync(1) COMMANDS): nothing is sent, the database, the lock
// and the HTTP stack are never touched, and the state file is rewritten only under the
// worthSaving rule. One function for both places that answer such a tick — the full pass
// (pass.ts) and the fast path (src/idle.ts) — so their result and their state-file decision are
// the same by construction.

import type { Config } from '../config/types.js';
import { describeBreaker } from '../domain/breaker.js';
import type { Clock } from '../domain/time.js';
import { ExitCode } from '../errors.js';
import { databaseIdentity, peekState, type StateStore } from '../state/file.js';
import { worthSaving, type SavedState } from '../state/format.js';
import { Ledger, StopPass } from './ledger.js';
import type { PassResult } from './pass.js';
import { nextState, saveRefreshMs } from './saved.js';

export interface RefusedPass {
  readonly config: Config;
  readonly clock: Clock;
  /** When the pass started (epoch ms, on `clock`). */
  readonly start: number;
  readonly store: StateStore;
  /** The state the breaker refused with; `nextProbeAt` from its admission (domain/breaker.ts admit). */
  readonly prev: SavedState;
  readonly nextProbeAt: number;
  /** Whether the pass holds the pass lock (a refusal met only under it, after the database was opened). */
  readonly underLock: boolean;
}

/** The result of a pass an open breaker stopped before it sent anything; saves the state when worth it. */
export function refusedPass({ config, clock, start, store, prev, nextProbeAt, underLock }: RefusedPass): PassResult {
  const b = prev.breaker;
  // Stable text (no "in 12 s"): it is saved, and an unchanged state is not rewritten every tick.
  const failures = `${b.consecutiveFailures} failed request${b.consecutiveFailures === 1 ? '' : 's'} in a row`;
  const ledger = new Ledger();
  ledger.stop(new StopPass('breakerOpen', `the circuit breaker is open (${failures}${b.lastFailure ? `, last: ${b.lastFailure}` : ''}); no request sent; next probe at ${new Date(nextProbeAt).toISOString()}`, ExitCode.tempFail));
  const { exitCode, stoppedBy, error, ...counts } = ledger.summary();
  const result: PassResult = {
    command: 'sync',
    exitCode,
    stoppedBy,
    startedAt: new Date(start).toISOString(),
    durationMs: clock.now() - start,
    ...counts,
    dryRun: false,
    error,
    breaker: describeBreaker(b, clock.now(), config.breaker),
    probe: false,
  };
  const next = nextState(prev, prev.breaker, result, clock.now());
  if (worthSaving(prev, next, true, clock.now(), saveRefreshMs(config))) {
    if (underLock) {
      store.save(next);
    } else {
      // Not under the pass lock: taking it needs the SQLite module, which an open-circuit tick
      // never loads (pos-sync-internals(7) PERFORMANCE). Instead the file is read again just before it is replaced, and
      // left alone when a pass changed the breaker meanwhile (that pass saved a fresher state).
      const current = peekState(store.path, databaseIdentity(config.db.path));
      if (JSON.stringify(current.state.breaker) === JSON.stringify(prev.breaker)) store.save(next);
    }
  }
  return result;
}
