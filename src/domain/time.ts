// Time and randomness are parameters of every decision, so tests move a fake clock instead of
// sleeping. Datetimes in the database are the seed's EF Core text: 'yyyy-MM-dd HH:mm:ss.FFFFFFF', UTC.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A source of numbers in [0, 1), like Math.random. */
export type Random = () => number;

/**
 * Milliseconds from an arbitrary origin that never steps (CLOCK_MONOTONIC). process.hrtime, not
 * performance.now(): the global `performance` loads node:perf_hooks and its dozen modules on first
 * touch, a millisecond of every timer tick (pos-sync-internals(7) PERFORMANCE) for the same clock.
 */
const monotonicMs = (): number => {
  const [s, ns] = process.hrtime();
  return s * 1000 + ns / 1e6;
};

/** A clock for measuring (CLOCK_MONOTONIC). Intervals and waits (--watch) use it directly. */
export const monotonicClock: Clock = { now: monotonicMs };

export interface AnchoredClock extends Clock {
  /** Reads the wall clock again (the start of each --watch pass). */
  reanchor(): void;
}

/**
 * The wall-clock time read once (at the anchor), carried forward by the monotonic clock. Every
 * duration, deadline and retry wait of a pass is a difference of two readings, so a clock step
 * (NTP at boot) in the middle of a pass can neither make one negative nor eat or stretch the
 * pass's budget (pos-sync-operations(7) TIME); the timestamps stored or shown are the wall clock as of the anchor.
 * A pass is bounded (Sync.MaxRunSeconds) and --watch re-anchors before each pass, so they never
 * drift from the wall clock by more than a step made during one pass.
 */
export function anchoredClock(wall: () => number = () => Date.now(), mono: () => number = monotonicMs): AnchoredClock {
  let wallAt = wall();
  let monoAt = mono();
  return {
    now: () => wallAt + (mono() - monoAt),
    reanchor() {
      wallAt = wall();
      monoAt = mono();
    },
  };
}

/** The process's clock: wall time at start (or at the last reanchor), advanced monotonically. */
export const systemClock: AnchoredClock = anchoredClock();

/** EF Core's own datetime text, 'yyyy-MM-dd HH:mm:ss' and up to 7 fraction digits, no zone. */
const EF_PLAIN = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,7})?$/;
const EF_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]00:?00)?$/;

/** Formats epoch ms as EF Core datetime text with trailing fraction zeros dropped (FFFFFFF). */
export function formatDbTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-10-21T14:03:11.120Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
}

/** The last calendar date found real: the rows of a batch mostly share their day (4 % of a drain). */
let lastRealDate = '';

/** Whether y-mo-d is a date of the calendar (2025-02-30 is not). */
function realDate(y: string, mo: string, d: string): boolean {
  const key = `${y}-${mo}-${d}`;
  if (key === lastRealDate) return true;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999, which would refuse
  // DateTime.MinValue (0001-01-01), a date a POS can write and the central can be sent as is.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  // Reject impossible dates like 2025-02-30 instead of letting Date roll them over.
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return false;
  lastRealDate = key;
  return true;
}

/** The number the two ASCII digits at `i` write. */
const twoDigits = (text: string, i: number): number => (text.charCodeAt(i) - 48) * 10 + (text.charCodeAt(i + 1) - 48);

/**
 * EF Core datetime text → ISO 8601 UTC, keeping every digit of the fraction (up to 7) so no
 * precision is lost on the way to the central. Returns undefined for anything else.
 */
export function dbTimeToIso(text: string): string | undefined {
  if (EF_PLAIN.test(text)) {
    // The form EF Core writes, which every row of a drain has: checked without a match array and
    // its seven substrings — 40 → 11 ms CPU per 100,000 seeded rows (it was 4 % of a drain). The
    // result is what the general path below gives (domain-events.test.ts checks both agree).
    if (twoDigits(text, 11) > 23 || twoDigits(text, 14) > 59 || twoDigits(text, 17) > 59) return undefined;
    const day = text.slice(0, 10);
    if (day !== lastRealDate && !realDate(text.slice(0, 4), text.slice(5, 7), text.slice(8, 10))) return undefined;
    return `${day}T${text.slice(11)}Z`;
  }
  const m = EF_DATETIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  if (!realDate(y!, mo!, d!)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${frac ? `.${frac}` : ''}Z`;
}

/** EF Core datetime text → epoch ms (fraction truncated to ms), or undefined. */
export function parseDbTime(text: string): number | undefined {
  const iso = dbTimeToIso(text);
  if (!iso) return undefined;
  return Date.parse(iso.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}
