// The offline deadline (Sync.OfflineDeadlineHours): how long a sale may wait on this till before
// head office must have it (card schemes and POS vendors put such a limit on offline sales: Square
// 24 h, at most 72 h). Measured on the oldest pending sale: past half the deadline it is a warning,
// past 80 % critical, each saying how much time is left. Pure: the oldest sale's time, the deadline
// and "now" in, the standing out — status, health, the metrics file and the heartbeat all use it.

/** ok: under half the deadline (or nothing pending); warning: half or more; critical: 80 % or more, past it included. */
export type DeadlineLevel = 'ok' | 'warning' | 'critical';

export const DEADLINE_WARNING_FRACTION = 0.5;
export const DEADLINE_CRITICAL_FRACTION = 0.8;

export interface DeadlineStanding {
  readonly level: DeadlineLevel;
  /** The deadline, seconds. */
  readonly deadlineSeconds: number;
  /** When the oldest pending sale was written (epoch ms), or null when no sale is pending. */
  readonly oldestPendingSaleAt: number | null;
  /** When the oldest pending sale reaches the deadline (epoch ms), or null. */
  readonly dueAt: number | null;
  /** Seconds until then, negative once it has passed; the whole deadline when no sale is pending. */
  readonly secondsLeft: number;
  /** How much of the deadline the oldest pending sale has used, 0 … (beyond 1 once passed). */
  readonly fractionUsed: number;
}

/** The standing against the deadline; null when no deadline is configured (the default). */
export function offlineDeadline(oldestPendingSaleAt: number | null, deadlineSeconds: number | null, now: number): DeadlineStanding | null {
  if (deadlineSeconds === null) return null;
  if (oldestPendingSaleAt === null) {
    return { level: 'ok', deadlineSeconds, oldestPendingSaleAt: null, dueAt: null, secondsLeft: deadlineSeconds, fractionUsed: 0 };
  }
  // A sale written "in the future" (a clock set back) has used none of its time yet.
  const age = Math.max(0, (now - oldestPendingSaleAt) / 1000);
  const fractionUsed = age / deadlineSeconds;
  const level: DeadlineLevel = fractionUsed >= DEADLINE_CRITICAL_FRACTION ? 'critical' : fractionUsed >= DEADLINE_WARNING_FRACTION ? 'warning' : 'ok';
  const dueAt = oldestPendingSaleAt + deadlineSeconds * 1000;
  return { level, deadlineSeconds, oldestPendingSaleAt, dueAt, secondsLeft: Math.round((dueAt - now) / 1000), fractionUsed };
}

/** `3 h 12 min`, `45 min`, `50 s`: a duration for the deadline's words. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** "the oldest pending sale is due at head office in 3 h 12 min (deadline 24 h)", or "… 2 h ago" once passed. */
export function describeDeadline(d: DeadlineStanding): string {
  const limit = `deadline ${formatDuration(d.deadlineSeconds)}`;
  if (d.oldestPendingSaleAt === null) return `no sale pending (${limit})`;
  return d.secondsLeft >= 0
    ? `the oldest pending sale must reach head office within ${formatDuration(d.secondsLeft)} (${limit}, ${Math.floor(d.fractionUsed * 100)} % used)`
    : `the oldest pending sale is ${formatDuration(-d.secondsLeft)} past the offline deadline (${limit})`;
}
