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
