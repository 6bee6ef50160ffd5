// The heartbeat's timing (man page, HEARTBEAT): whether `sync` should post the till's standing
// now. Pure and cheap on purpose: the idle tick asks it with nothing but the state file and the
// clock (verdict unknown), so a tick with nothing to do stays a tick with nothing to do.

import type { Verdict } from './verdict.js';

/** What the state file remembers of the heartbeat between passes. */
export interface HeartbeatMemory {
  /** Epoch ms of the last heartbeat sent (answered or not). */
  readonly lastAt: number | null;
  /** The verdict that heartbeat carried. */
  readonly verdict: Verdict | null;
  /** Epoch ms since which the till has had that verdict (first heartbeat that saw it). */
  readonly verdictSince: number | null;
  /** Epoch ms before which the central is not asked again: it answered 404/405 (no endpoint). */
  readonly unsupportedUntil: number | null;
  /** Local clock minus the central's Date header, from the last answer; null when unknown. */
  readonly clockOffsetMs: number | null;
}

export const NO_HEARTBEAT: HeartbeatMemory = { lastAt: null, verdict: null, verdictSince: null, unsupportedUntil: null, clockOffsetMs: null };

/** A central without the endpoint is asked again after this long. */
export const UNSUPPORTED_RETRY_MS = 24 * 3600 * 1000;

export type HeartbeatDecision =
  | { readonly send: true; readonly reason: 'first' | 'interval' | 'verdict' | 'clockStep' }
  | { readonly send: false; readonly reason: 'off' | 'unsupported' | 'recent' };

/**
 * Whether a heartbeat is due. `intervalMs` 0 turns heartbeats off. `verdict` null: not known at
 * this point (the idle tick), so only time decides; a known verdict different from the last one
 * sent makes it due at once. A wall clock stepped back (now before the last heartbeat, or more than
 * a day before the "ask again" time) is not trusted to hold heartbeats back.
 */
export function heartbeatDue(memory: HeartbeatMemory, now: number, intervalMs: number, verdict: Verdict | null): HeartbeatDecision {
  if (intervalMs <= 0) return { send: false, reason: 'off' };
  const u = memory.unsupportedUntil;
  if (u !== null && now < u && now >= u - UNSUPPORTED_RETRY_MS) return { send: false, reason: 'unsupported' };
  if (memory.lastAt === null) return { send: true, reason: 'first' };
  if (verdict !== null && verdict !== memory.verdict) return { send: true, reason: 'verdict' };
  if (now < memory.lastAt) return { send: true, reason: 'clockStep' };
  if (now - memory.lastAt >= intervalMs) return { send: true, reason: 'interval' };
  return { send: false, reason: 'recent' };
}

/**
 * The idle tick's whole question, from the state file and the clock alone: is a heartbeat due by
 * time, or did a pass end differently (its run of exit codes, `lastPass.since`, began after the
 * last heartbeat) so that the verdict may have changed? True: take the full path (judge the
 * verdict, maybe send); false: nothing to do for the heartbeat.
 */
export function heartbeatMayBeDue(memory: HeartbeatMemory, lastPassSince: number | null, now: number, intervalMs: number): boolean {
  const byTime = heartbeatDue(memory, now, intervalMs, null);
  if (byTime.send) return true;
  return byTime.reason === 'recent' && lastPassSince !== null && memory.lastAt !== null && lastPassSince > memory.lastAt;
}

/** How the central answered a heartbeat, as far as the next decision cares. */
export type HeartbeatAnswer =
  | { readonly kind: 'accepted'; readonly clockOffsetMs: number | null }
  | { readonly kind: 'unsupported' }
  | { readonly kind: 'failed' };

/** The memory after a heartbeat was sent at `now` carrying `verdict`. */
export function afterHeartbeat(memory: HeartbeatMemory, now: number, verdict: Verdict, answer: HeartbeatAnswer): HeartbeatMemory {
  return {
    lastAt: now,
    verdict,
    verdictSince: verdictSince(memory, now, verdict),
    unsupportedUntil: answer.kind === 'unsupported' ? now + UNSUPPORTED_RETRY_MS : null,
    clockOffsetMs: answer.kind === 'accepted' ? answer.clockOffsetMs : memory.clockOffsetMs,
  };
}

/** The verdict's "since": kept while the verdict holds, else now. */
export function verdictSince(memory: HeartbeatMemory, now: number, verdict: Verdict): number {
  return memory.verdict === verdict && memory.verdictSince !== null && memory.verdictSince <= now ? memory.verdictSince : now;
}

/**
 * Local clock minus the central's clock, from an HTTP Date header (whole seconds) read when the
 * answer arrived; the request's own duration bounds the error. Null for a missing or bad header.
 */
export function clockOffset(dateHeader: string | null, receivedAt: number): number | null {
  if (dateHeader === null) return null;
  const central = Date.parse(dateHeader);
  if (!Number.isFinite(central)) return null;
  // The header is truncated to the second: compare with the local time truncated the same way.
  return Math.floor(receivedAt / 1000) * 1000 - central;
}
