// The circuit breaker while a pass runs: entered from the saved state and the pass's admission,
// told of every answer and every failure, and left (half-open goes back to open) when it ends.

import { enter, leave, onAnswer, onFailure, type Admission, type BreakerSettings, type BreakerState } from '../domain/breaker.js';
import type { Clock, Random } from '../domain/time.js';
import type { Logger } from '../log.js';

export interface BreakerSessionDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly settings: BreakerSettings;
  readonly log: Logger;
}

export class BreakerSession {
  #state: BreakerState;

  private constructor(
    state: BreakerState,
    readonly admission: Admission,
    /** Whether this pass is the half-open probe (or a --force pass through an open breaker). */
    readonly probing: boolean,
    private readonly deps: BreakerSessionDeps,
  ) {
    this.#state = state;
  }

  /** A pass admitted by the breaker: a probe or a forced pass runs half-open. */
  static enter(saved: BreakerState, admission: Admission, deps: BreakerSessionDeps): BreakerSession {
    const state = enter(saved, admission);
    if (admission.kind === 'probe') deps.log.info('the circuit breaker is half-open: probing the central API');
    if (admission.kind === 'forced') deps.log.warn('ignoring the open circuit breaker for this pass (--force)');
    return new BreakerSession(state, admission, state.state === 'halfOpen', deps);
  }

  /** A dry run sends nothing: the breaker is only shown as it is. */
  static observe(saved: BreakerState, deps: BreakerSessionDeps): BreakerSession {
    return new BreakerSession(saved, { kind: 'closed' }, false, deps);
  }

  /** The state as it is now (half-open while the probe has not been decided). */
  get state(): BreakerState {
    return this.#state;
  }

  /** The state to save when the pass ends. */
  get left(): BreakerState {
    return leave(this.#state);
  }

  /** Half-open on a probe: one small trial batch (no retries, no read-ahead) decides. */
  get inProbe(): boolean {
    return this.admission.kind === 'probe' && this.#state.state === 'halfOpen';
  }

  /** The central answered (2xx, or a refusal of content): it is up. */
  answered(): void {
    if (this.#state.state === 'halfOpen') this.deps.log.info('the central API answered: circuit breaker closed');
    this.#state = onAnswer(this.#state);
  }

  /** A request failed after its retries. */
  failed(why: string): void {
    const wasOpen = this.#state.state !== 'closed';
    this.#state = onFailure(this.#state, this.deps.clock.now(), this.deps.settings, this.deps.random, why);
    if (this.#state.state !== 'open') return;
    const again = this.admission.kind === 'forced' ? 'the forced pass failed: circuit breaker open again' : 'the probe failed: circuit breaker open again';
    this.deps.log.warn(wasOpen ? again : 'circuit breaker opened', {
      consecutiveFailures: this.#state.consecutiveFailures,
      consecutiveOpens: this.#state.consecutiveOpens,
      nextProbeAt: new Date(this.#state.nextProbeAt!).toISOString(),
    });
  }
}
