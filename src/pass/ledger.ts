// What a pass did, counted as it happens: rows delivered, refused and dead-lettered, requests,
// the slowest answer, why the pass stopped. The one place that decides a pass's exit code.

import type { CentralEvent } from '../domain/events.js';
import type { Entity } from '../domain/rows.js';
import { ExitCode, exitCodeOf, worstExitCode } from '../errors.js';

export type PerEntity = Record<Entity, number>;

export type StopReason = 'drained' | 'time' | 'stopped' | 'unavailable' | 'credentials' | 'misconfigured' | 'notAboutRows' | 'breakerOpen';

export const zero = (): PerEntity => ({ transaction: 0, inventory: 0 });
export const total = (p: PerEntity): number => p.transaction + p.inventory;

/** Ends a pass early; carries what the whole pass should report. */
export class StopPass extends Error {
  constructor(readonly reason: StopReason, message: string, readonly exitCode: number) {
    super(message);
  }

  /** Running out of time or being asked to stop is an ordinary end: the next pass goes on. */
  get failure(): boolean {
    return this.reason !== 'time' && this.reason !== 'stopped';
  }
}

export const outOfTime = (): StopPass => new StopPass('time', 'time budget reached; the next pass goes on', ExitCode.ok);

/** With --dry-run: what would be sent (first batch's events in full, then counts). */
export interface WouldSend {
  batches: number;
  readonly rows: PerEntity;
  readonly firstBatch: CentralEvent[];
}

/** The counted part of a pass's result. */
export interface LedgerSummary {
  readonly exitCode: number;
  readonly stoppedBy: StopReason;
  readonly delivered: PerEntity;
  readonly rejected: PerEntity;
  readonly deadLettered: PerEntity;
  /** Rows holding a value pos-sync cannot read: not sent, not refused by the central, listed by status. */
  readonly unreadable: PerEntity;
  readonly requests: number;
  readonly failedRequests: number;
  readonly error: string | null;
}

export class Ledger {
  readonly delivered = zero();
  readonly rejected = zero();
  readonly deadLettered = zero();
  readonly unreadable = zero();
  readonly wouldSend: WouldSend = { batches: 0, rows: zero(), firstBatch: [] };
  #requests = 0;
  #failedRequests = 0;
  /** The slowest answer of this pass: a batch is only started when one can come back in time. */
  #slowestAnswerMs = 0;
  #stop: StopPass | null = null;

  get requests(): number {
    return this.#requests;
  }

  get failedRequests(): number {
    return this.#failedRequests;
  }

  requestSent(): void {
    this.#requests++;
  }

  /** A request that got no usable answer (after which it may be retried). */
  requestFailed(): void {
    this.#failedRequests++;
  }

  answeredIn(ms: number): void {
    this.#slowestAnswerMs = Math.max(this.#slowestAnswerMs, ms);
  }

  /**
   * Whether a batch started now can get its answer back before the deadline: one cut off by the
   * budget would be a false "unavailable" (75) and a re-send of rows the central may have stored.
   */
  timeForABatch(timeLeftMs: number): boolean {
    return timeLeftMs >= Math.max(100, 2 * this.#slowestAnswerMs);
  }

  markDelivered(entity: Entity, rows: number): void {
    this.delivered[entity] += rows;
  }

  markRefused(entity: Entity, deadLettered: boolean): void {
    this.rejected[entity]++;
    if (deadLettered) this.deadLettered[entity]++;
  }

  /** Rows pos-sync cannot read (the POS wrote a value it cannot represent faithfully): held, listed. */
  markUnreadable(entity: Entity, rows: number): void {
    this.unreadable[entity] += rows;
  }

  markWouldSend(entity: Entity, events: readonly CentralEvent[]): void {
    this.wouldSend.batches++;
    this.wouldSend.rows[entity] += events.length;
    if (this.wouldSend.firstBatch.length === 0) this.wouldSend.firstBatch.push(...events);
  }

  stop(reason: StopPass): void {
    this.#stop = reason;
  }

  get stoppedBy(): StopReason {
    return this.#stop?.reason ?? 'drained';
  }

  /** The failure that ended the pass; null when it drained, ran out of time or was asked to stop. */
  get error(): string | null {
    return this.#stop?.failure ? this.#stop.message : null;
  }

  /** The pass's exit code: the stop's, and 65 (data error) at least when some row was refused or could not be read. */
  get exitCode(): number {
    const stopped = this.#stop?.failure ? this.#stop.exitCode : ExitCode.ok;
    return total(this.rejected) + total(this.unreadable) > 0 ? worstExitCode([stopped, ExitCode.rejected]) : stopped;
  }

  /** A pass that failed outright (database error, bug) exits as its error says (SQLITE_BUSY is 75). */
  exitCodeOfFailure(err: unknown): number {
    return exitCodeOf(err);
  }

  /** Nothing sent, nothing refused, nothing delivered: an idle pass, which leaves no trace in the history. */
  get quiet(): boolean {
    return this.#requests === 0 && total(this.rejected) === 0 && total(this.delivered) === 0 && total(this.unreadable) === 0;
  }

  summary(): LedgerSummary {
    return {
      exitCode: this.exitCode,
      stoppedBy: this.stoppedBy,
      delivered: this.delivered,
      rejected: this.rejected,
      deadLettered: this.deadLettered,
      unreadable: this.unreadable,
      requests: this.#requests,
      failedRequests: this.#failedRequests,
      error: this.error,
    };
  }
}
