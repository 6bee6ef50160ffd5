// Times as a store technician reads them: in the store's time zone (Sync.TimeZone, IANA, default
// the machine's), with the zone's short name and how long ago (`08:56 CET, 13 min ago`), and the
// store's local midnight for "today". Pure: the instant, "now" and the zone are parameters.

/** The zone Intl uses when none is given: the machine's (TZ in the environment, else the system's). */
export function machineTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The store's time zone, one rule for every command (status, health, sync, reconcile): Sync.TimeZone,
 * else the machine's. A till's clock is set to the store's local time (its receipts say so), so
 * the machine's zone is the store's unless someone said otherwise; UTC would put reconcile's "today"
 * hours away from the "today" status counts.
 */
export function storeTimeZone(configured: string | null): string {
  return configured ?? machineTimeZone();
}

interface Wall {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** A formatter giving every field of the wall clock in `zone` (throws RangeError for an unknown zone). */
export function partsFormatter(zone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** The wall-clock reading in `zone` at the instant `ms`. */
export function wallClock(ms: number, zone: string): Wall {
  const parts = Object.fromEntries(partsFormatter(zone).formatToParts(ms).map((p) => [p.type, p.value]));
  return { year: Number(parts['year']), month: Number(parts['month']), day: Number(parts['day']), hour: Number(parts['hour']) % 24, minute: Number(parts['minute']), second: Number(parts['second']) };
}

/** How far `zone`'s wall clock is ahead of UTC at `ms`, in ms. */
function offsetAt(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant of the store's local midnight that began the day containing `now`. */
export function startOfLocalDay(now: number, zone: string): number {
  const w = wallClock(now, zone);
  const wallMidnight = Date.UTC(w.year, w.month - 1, w.day);
  // Two rounds settle the offset even when midnight and `now` lie on either side of a DST change.
  let guess = wallMidnight - offsetAt(now, zone);
  guess = wallMidnight - offsetAt(guess, zone);
  return guess;
}

/** The zone's short name at `ms`: "CET", "EST", "UTC"; "GMT+9" where no abbreviation is in use. */
export function zoneAbbreviation(ms: number, zone: string): string {
  // en-US knows the American abbreviations, en-GB the European ones; each says "GMT+1" for the other's.
  let fallback = '';
  for (const locale of ['en-US', 'en-GB']) {
    const name = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'short' }).formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (name !== '' && !/^GMT[+-]/.test(name)) return name;
    fallback ||= name;
  }
  return fallback;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `08:56 CET` on the day of `now`, `2026-11-24 08:56 CET` on another day. */
export function formatLocalTime(ms: number, now: number, zone: string): string {
  const w = wallClock(ms, zone);
  const today = wallClock(now, zone);
  const sameDay = w.year === today.year && w.month === today.month && w.day === today.day;
  const date = sameDay ? '' : `${w.year}-${pad(w.month)}-${pad(w.day)} `;
  return `${date}${pad(w.hour)}:${pad(w.minute)} ${zoneAbbreviation(ms, zone)}`;
}

/** `45 s ago`, `13 min ago`, `2 h 5 min ago`, `3 days ago`; `in 2 min` for a time ahead. */
export function formatRelative(ms: number, now: number): string {
  const seconds = Math.round((now - ms) / 1000);
  const ahead = seconds < 0;
  const s = Math.abs(seconds);
  let text: string;
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86_400) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    text = m === 0 ? `${h} h` : `${h} h ${m} min`;
  } else {
    const d = Math.floor(s / 86_400);
    text = plural(d, 'day');
  }
  return ahead ? `in ${text}` : `${text} ago`;
}

/**
 * `08:56 CET, 13 min ago`: something that happened. One recorded ahead of this machine's clock
 * (the clock was set back since) is said to be so, never "in 59 min"; a few seconds ahead (two
 * processes' clocks) is "just now".
 */
export function formatWhen(ms: number, now: number, zone: string): string {
  const ahead = ms - now;
  if (ahead > 60_000) return `${formatLocalTime(ms, now, zone)}, recorded ${formatRelative(now, ms).replace(/ ago$/, '')} ahead of this machine's clock (was it set back?)`;
  return `${formatLocalTime(ms, now, zone)}, ${ahead > 0 ? 'just now' : formatRelative(ms, now)}`;
}

/** `1 day`, `2 days`: the count and the word, singular or plural. */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
