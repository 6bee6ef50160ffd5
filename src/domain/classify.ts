// What an answer from the central API means for the rows in the request (pos-sync-central(7) table).
//
// Nothing the network says is trusted: a 2xx marks rows synced only when the whole answer arrived
// and is an acknowledgement, and a 400/413/422 counts against the rows only when it is the
// central's own JSON refusal (a proxy's HTML page is about the proxy, not about a sale).

export type Outcome =
  /** 2xx, whole and an acknowledgement; `rejected` lists ids the central refused inside the batch. */
  | { readonly kind: 'accepted'; readonly rejected: readonly { id: string; error: string }[] }
  /**
   * 400/422 with the central's JSON error body: it refuses the content; split to find the rows.
   * `rows`: the body's own well-formed `rejected` list, when it names every row that was sent
   * (then there is nothing to split: each row is refused with its own reason).
   */
  | { readonly kind: 'refused'; readonly status: number; readonly error: string; readonly rows?: readonly { id: string; error: string }[] }
  /**
   * 413: too large; split, and only a single row that is too large is a refusal. `foreign`: the
   * body was not the central's JSON (a proxy's limit): a single row meeting it is not a refusal.
   */
  | { readonly kind: 'tooLarge'; readonly status: number; readonly error: string; readonly foreign?: boolean }
  /** 400/422 that is not the central's JSON error body: something in between answered, not about the rows. */
  | { readonly kind: 'notAboutRows'; readonly status: number; readonly error: string }
  /** 401/403: credentials refused; stop the pass, penalise no row. */
  | { readonly kind: 'credentials'; readonly status: number; readonly error: string }
  /** Other 4xx: wrong endpoint or method; stop the pass, penalise no row. */
  | { readonly kind: 'misconfigured'; readonly status: number; readonly error: string }
  /** 408, 409, 425, 429, 5xx, timeouts, connection errors, a 2xx that is not a whole acknowledgement: retry. */
  | { readonly kind: 'temporary'; readonly status: number | null; readonly error: string; readonly retryAfterMs: number | null };

/** How much of an answer's body arrived (the client reads it as a bounded stream). */
export interface BodyRead {
  /** False when the body was cut short, could not be read, or went past the byte cap. */
  readonly complete: boolean;
  /** Why it is incomplete, for the error text ("cut short", "larger than 1048576 bytes"…). */
  readonly problem?: string;
}

const WHOLE: BodyRead = { complete: true };

const TEMPORARY_4XX = new Set([408, 409, 425, 429]);

/** Retry-After as seconds or an HTTP-date, relative to `now`; null when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return null;
  return Math.max(0, at - now);
}

function bodyError(status: number, body: string): string {
  const snippet = body.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
}

/**
 * What a page that is not the central's says about itself, for one line: its <title>, else its
 * first non-empty line without tags, cut to 120 characters; "an empty body" when there is none.
 */
export function describePage(body: string): string {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body)?.[1];
  const pick = (text: string): string => text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  const text = title !== undefined && pick(title) !== ''
    ? pick(title)
    : (body.split(/\r?\n/).map(pick).find((line) => line !== '') ?? '');
  return text === '' ? 'an empty body' : `"${text.slice(0, 120)}"`;
}

function parseObject(body: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The central's JSON error shape: an object with an `error` or `message` text, or an `errors` or
 * `rejected` list. Anything else on a 400/413/422 (HTML, plain text, empty) came from elsewhere.
 */
export function isCentralError(body: string): boolean {
  const o = parseObject(body);
  if (o === null) return false;
  return typeof o['error'] === 'string' || typeof o['message'] === 'string' || Array.isArray(o['errors']) || Array.isArray(o['rejected']);
}

/** Why a `rejected` list cannot be trusted, or the refused rows it names. */
type RejectedList = { readonly ok: true; readonly rejected: { id: string; error: string }[] } | { readonly ok: false; readonly why: string };

/**
 * The `rejected` list of a 2xx acknowledgement. Decision (pos-sync-central(7)): a list with any entry that is
 * not `{id, error?}` for an id that was sent is not an acknowledgement we can act on, so the whole
 * answer is temporary (nothing marked, the batch sent again, the central deduplicates). Marking
 * the rows synced could lose a refused sale; penalising them could dead-letter good ones.
 * Absent or null means no refusals; an id listed twice counts once.
 */
export function readRejectedList(list: unknown, sentIds: ReadonlySet<string>): RejectedList {
  if (list === undefined || list === null) return { ok: true, rejected: [] };
  if (!Array.isArray(list)) return { ok: false, why: '"rejected" is not a list' };
  const out: { id: string; error: string }[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return { ok: false, why: 'a "rejected" entry is not an object' };
    const { id, error } = item as { id?: unknown; error?: unknown };
    if (typeof id !== 'string') return { ok: false, why: 'a "rejected" entry has no text id' };
    if (!sentIds.has(id)) return { ok: false, why: 'a "rejected" entry names an id that was not sent' };
    if (error !== undefined && error !== null && typeof error !== 'string') return { ok: false, why: 'a "rejected" entry has an error that is not text' };
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, error: typeof error === 'string' && error !== '' ? error.slice(0, 500) : 'rejected by the central API' });
  }
  return { ok: true, rejected: out };
}

/** The refused rows of a 2xx body, or [] when it is not a usable list (see readRejectedList). */
export function parseRejectedList(body: string, sentIds: ReadonlySet<string>): { id: string; error: string }[] {
  const o = parseObject(body);
  if (o === null) return [];
  const list = readRejectedList(o['rejected'], sentIds);
  return list.ok ? list.rejected : [];
}

function temporary(status: number | null, error: string, retryAfterMs: number | null = null): Outcome {
  return { kind: 'temporary', status, error, retryAfterMs };
}

/** A 2xx: an acknowledgement only when whole and empty or a JSON object with a well-formed list. */
function acknowledgement(status: number, body: string, read: BodyRead, sentIds: ReadonlySet<string>): Outcome {
  const notMarked = 'nothing marked, sent again';
  if (!read.complete) return temporary(status, `HTTP ${status} but the answer was ${read.problem ?? 'cut short'}: ${notMarked}`);
  if (body.trim() === '') return { kind: 'accepted', rejected: [] };
  const o = parseObject(body);
  if (o === null) return temporary(status, `HTTP ${status} with an answer that is not a JSON acknowledgement (${describePage(body)}): ${notMarked}`);
  const list = readRejectedList(o['rejected'], sentIds);
  if (!list.ok) return temporary(status, `HTTP ${status} with a malformed acknowledgement (${list.why}): ${notMarked}`);
  return { kind: 'accepted', rejected: list.rejected };
}

export function classifyResponse(
  status: number,
  body: string,
  retryAfter: string | null,
  sentIds: ReadonlySet<string>,
  now: number,
  read: BodyRead = WHOLE,
): Outcome {
  if (status >= 200 && status < 300) return acknowledgement(status, body, read, sentIds);
  const error = bodyError(status, body);
  // A refusal cut short cannot be judged (the central's or a proxy's?): it is asked again.
  if (!read.complete && (status === 400 || status === 413 || status === 422)) {
    return temporary(status, `${error} (the answer was ${read.problem ?? 'cut short'})`);
  }
  const central = isCentralError(body);
  const foreign = `HTTP ${status} from something other than the central API (${describePage(body)}), not about the rows`;
  if (status === 400 || status === 422) {
    if (!central) return { kind: 'notAboutRows', status, error: foreign };
    const list = readRejectedList(parseObject(body)?.['rejected'], sentIds);
    const every = list.ok && sentIds.size > 1 && list.rejected.length === sentIds.size;
    return every ? { kind: 'refused', status, error, rows: list.rejected.map((r) => ({ id: r.id, error: `HTTP ${status}: ${r.error}` })) } : { kind: 'refused', status, error };
  }
  if (status === 413) return central ? { kind: 'tooLarge', status, error } : { kind: 'tooLarge', status, error: foreign, foreign: true };
  if (status === 401 || status === 403) return { kind: 'credentials', status, error };
  if (TEMPORARY_4XX.has(status) || status >= 500) return temporary(status, error, parseRetryAfter(retryAfter, now));
  // 1xx/3xx (redirects are not followed: a moved endpoint must be fixed in the config) and other 4xx.
  return { kind: 'misconfigured', status, error };
}

export function classifyNetworkError(message: string): Outcome {
  return temporary(null, message);
}
