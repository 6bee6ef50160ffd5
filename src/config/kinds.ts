// Value kinds for configuration settings: each parses an outside value (from a JSON/YAML file,
// where types are native, or from an environment variable / flag, where everything is text)
// and either returns the typed value or a short reason that names what was expected.

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

export interface Kind<T> {
  /** Human description used in error messages and docs, e.g. "an integer from 1 to 10000". */
  readonly describe: string;
  parse(raw: unknown, fromText: boolean): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(expected: string): Parsed<T> => ({ ok: false, expected });

const DECIMAL_TEXT = /^[+-]?\d+(\.\d+)?$/;

function numberFrom(raw: unknown, fromText: boolean): number | undefined {
  if (typeof raw === 'number') return raw;
  // The seed's appsettings.json and .NET env overrides carry numbers as text too ("3").
  if (typeof raw === 'string' && DECIMAL_TEXT.test(raw.trim())) return Number(raw.trim());
  void fromText;
  return undefined;
}

export function integer(min: number, max: number): Kind<number> {
  const describe = `an integer from ${min} to ${max}`;
  return {
    describe,
    parse(raw, fromText) {
      const n = numberFrom(raw, fromText);
      return n !== undefined && Number.isInteger(n) && n >= min && n <= max ? ok(n) : bad(describe);
    },
  };
}

export function decimal(min: number, max: number): Kind<number> {
  const describe = `a number from ${min} to ${max}`;
  return {
    describe,
    parse(raw, fromText) {
      const n = numberFrom(raw, fromText);
      return n !== undefined && Number.isFinite(n) && n >= min && n <= max ? ok(n) : bad(describe);
    },
  };
}

export const boolean: Kind<boolean> = {
  describe: 'true or false',
  parse(raw) {
    if (typeof raw === 'boolean') return ok(raw);
    if (typeof raw === 'string') {
      const t = raw.trim().toLowerCase();
      if (t === 'true') return ok(true);
      if (t === 'false') return ok(false);
    }
    return bad('true or false');
  },
};

export function text(options: { pattern?: RegExp; describe?: string; allowEmpty?: boolean } = {}): Kind<string> {
  const describe = options.describe ?? (options.allowEmpty ? 'a string' : 'a non-empty string');
  return {
    describe,
    parse(raw) {
      if (typeof raw !== 'string') return bad(describe);
      if (!options.allowEmpty && raw.trim() === '') return bad(describe);
      if (options.pattern && !options.pattern.test(raw)) return bad(describe);
      return ok(raw);
    },
  };
}

export function oneOf<T extends string>(values: readonly T[]): Kind<T> {
  const describe = `one of ${values.map((v) => `"${v}"`).join(', ')}`;
  return {
    describe,
    parse(raw) {
      return typeof raw === 'string' && (values as readonly string[]).includes(raw) ? ok(raw as T) : bad(describe);
    },
  };
}

export const URL_CREDENTIALS = 'a URL without user:password@ (put the credential in Sync.ApiToken or Sync.ApiHeaders)';

export const httpUrl: Kind<string> = {
  describe: 'an http:// or https:// URL',
  parse(raw) {
    if (typeof raw !== 'string') return bad(this.describe);
    try {
      const url = new URL(raw.trim());
      // user:password@ would go to the central in clear in every request's URL handling and error
      // text, and fetch refuses it anyway: the credential belongs in Sync.ApiToken or Sync.ApiHeaders.
      if (url.username !== '' || url.password !== '') return bad(URL_CREDENTIALS);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return ok(url.href);
    } catch {
      // fall through: reported as the expected shape
    }
    return bad(this.describe);
  },
};

/** A map of string to string, e.g. Sync.ApiHeaders or Kafka.ProducerConfig. */
export const stringMap: Kind<Readonly<Record<string, string>>> = {
  describe: 'an object of string values',
  parse(raw) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return bad(this.describe);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else return bad(this.describe);
    }
    return ok(out);
  },
};

/** A value that may be left unset (null in a file, empty in the environment). */
export function optional<T>(kind: Kind<T>): Kind<T | null> {
  return {
    describe: `${kind.describe}, or null`,
    parse(raw, fromText) {
      if (raw === null || raw === undefined || (fromText && raw === '')) return ok(null);
      return kind.parse(raw, fromText);
    },
  };
}

/** An IANA time zone name this Node knows ("Europe/Berlin", "UTC"). */
export const timeZone: Kind<string> = {
  describe: 'an IANA time zone name like "Europe/Berlin" or "UTC"',
  parse(raw) {
    if (typeof raw !== 'string' || raw.trim() === '') return bad(this.describe);
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: raw.trim() });
      return ok(raw.trim());
    } catch {
      return bad(this.describe);
    }
  },
};
