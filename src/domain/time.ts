// Time and randomness are parameters of every decision, so tests move a fake clock instead of
// sleeping. Datetimes in the database are the seed's EF Core text: 'yyyy-MM-dd HH:mm:ss.FFFFFFF', UTC.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** A source of numbers in [0, 1), like Math.random. */
export type Random = () => number;

export const systemClock: Clock = { now: () => Date.now() };

const EF_DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]00:?00)?$/;

/** Formats epoch ms as EF Core datetime text with trailing fraction zeros dropped (FFFFFFF). */
export function formatDbTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2025-10-21T14:03:11.120Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
}

/**
 * EF Core datetime text → ISO 8601 UTC, keeping every digit of the fraction (up to 7) so no
 * precision is lost on the way to the central. Returns undefined for anything else.
 */
export function dbTimeToIso(text: string): string | undefined {
  const m = EF_DATETIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999, which would refuse
  // DateTime.MinValue (0001-01-01), a date a POS can write and the central can be sent as is.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  // Reject impossible dates like 2025-02-30 instead of letting Date roll them over.
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${frac ? `.${frac}` : ''}Z`;
}

/** EF Core datetime text → epoch ms (fraction truncated to ms), or undefined. */
export function parseDbTime(text: string): number | undefined {
  const iso = dbTimeToIso(text);
  if (!iso) return undefined;
  return Date.parse(iso.replace(/(\.\d{3})\d+Z$/, '$1Z'));
}
