// Secrets out of text from outside, before anything is cut, and outside text made safe for a
// terminal. Pure: the secrets are a parameter.

/** Secrets shorter than this are not scrubbed: replacing every "a" or "12" would garble all output. */
export const MIN_SECRET_LENGTH = 4;

/** The shortest tail of a cut-off secret that is still redacted (a 2-character tail tells nothing). */
const MIN_TAIL = 3;

const REDACTED = '<redacted>';

/**
 * Replaces every secret in `text` with <redacted>: the raw value and its JSON-escaped form (a
 * secret holding a quote or backslash is written escaped inside JSON lines and --json output).
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another ("Bearer <token>") is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    out = out.split(s).join(REDACTED);
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) out = out.split(escaped).join(REDACTED);
  }
  return out;
}

/**
 * Text that was cut off (a body over the byte cap, a connection dropped mid-body) may end with
 * the first part of a secret: that part is redacted too.
 */
export function scrubCutText(text: string, secrets: readonly string[]): string {
  let out = scrub(text, secrets);
  for (const s of secrets) {
    if (s.length < MIN_SECRET_LENGTH) continue;
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1)])) {
      for (let n = Math.min(form.length - 1, out.length); n >= MIN_TAIL; n--) {
        if (out.endsWith(form.slice(0, n))) {
          out = out.slice(0, out.length - n) + REDACTED;
          break;
        }
      }
    }
  }
  return out;
}

/**
 * Control characters (ESC, BEL, CR, backspace, C1 controls, DEL…) in text from outside, written
 * as visible escapes, so a central's answer or a database row cannot move the cursor, retitle the
 * window or rewrite a technician's screen. Tabs are kept; newlines become "\n" (one line each).
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * The parts of a URL that are secrets by their place: the user info (`user:password@`) and the
 * query (`?code=…`, as Azure Functions keys and signed URLs carry them). Returned for scrub():
 * the whole query, each `name=value` pair and each value, raw and decoded, so whatever echoes the
 * URL (an error, the state file, `config`, `health`, a log line) prints <redacted> in its place.
 * A text that is not a URL has none.
 */
export function urlSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const out = new Set<string>();
  const add = (s: string): void => {
    if (s.length >= MIN_SECRET_LENGTH) out.add(s);
    try {
      const decoded = decodeURIComponent(s);
      if (decoded.length >= MIN_SECRET_LENGTH) out.add(decoded);
    } catch {
      // not percent-encoded text: the raw form is enough
    }
  };
  if (u.password !== '') {
    add(`${u.username}:${u.password}`);
    add(u.password);
  } else if (u.username !== '') {
    add(u.username); // a token given as the user name (https://TOKEN@host)
  }
  // The query as written (the configured text) and as URL normalises it.
  const raw = /\?([^#]*)/.exec(url)?.[1] ?? '';
  for (const query of new Set([raw, u.search.slice(1)])) {
    if (query === '') continue;
    add(query);
    for (const pair of query.split('&')) {
      const eq = pair.indexOf('=');
      if (eq < 0) {
        add(pair);
        continue;
      }
      if (eq === pair.length - 1) continue;
      add(pair);
      add(pair.slice(eq + 1));
    }
  }
  return [...out];
}

/**
 * Every URL in `text` with its password and its query values replaced by <redacted>
 * (`https://u:<redacted>@h/p?code=<redacted>`): for text made before the secrets are known,
 * such as a configuration error naming the URL it refuses.
 */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>]*)/gi, (_m, scheme: string, whole: string) => {
    // Punctuation after a URL in a sentence ("cannot reach <url>: ECONNREFUSED") is not part of it.
    const tail = /[:.,;)\]]+$/.exec(whole)?.[0] ?? '';
    const rest = whole.slice(0, whole.length - tail.length);
    const withoutPassword = rest.replace(/^([^/?#@:]*:)[^/?#@]*@/, `$1${REDACTED}@`);
    return scheme + withoutPassword.replace(/([?&][^=&#\s]*=)([^&#\s]*)/g, (_p, name: string, value: string) => (value === '' ? name : `${name}${REDACTED}`)) + tail;
  });
}
