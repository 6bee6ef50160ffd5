// What an answer from the central API means for the rows in the request (SPEC §5 table).

export type Outcome =
  /** 2xx: delivered; `rejected` lists ids the central refused inside an accepted batch. */
  | { readonly kind: 'accepted'; readonly rejected: readonly { id: string; error: string }[] }
  /** 400/422: the central refuses the content; split to find the refused rows. */
  | { readonly kind: 'refused'; readonly status: number; readonly error: string }
  /** 413: too large; split, and only a single row that is too large is a refusal. */
  | { readonly kind: 'tooLarge'; readonly status: number; readonly error: string }
  /** 401/403: credentials refused; stop the pass, penalise no row. */
  | { readonly kind: 'credentials'; readonly status: number; readonly error: string }
  /** Other 4xx: wrong endpoint or method; stop the pass, penalise no row. */
  | { readonly kind: 'misconfigured'; readonly status: number; readonly error: string }
  /** 408, 409, 425, 429, 5xx, timeouts, connection errors: retry within the pass. */
  | { readonly kind: 'temporary'; readonly status: number | null; readonly error: string; readonly retryAfterMs: number | null };

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
 * The `rejected` list of an accepted batch. Anything malformed is ignored rather than trusted:
 * only ids that were in the request can be rejected, so a broken list can never penalise a row
 * that was not sent, and an unreadable body still means the batch was accepted.
 */
export function parseRejectedList(body: string, sentIds: ReadonlySet<string>): { id: string; error: string }[] {
  if (!body.trimStart().startsWith('{')) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const list = (parsed as { rejected?: unknown }).rejected;
  if (!Array.isArray(list)) return [];
  const out: { id: string; error: string }[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    if (item === null || typeof item !== 'object') continue;
    const { id, error } = item as { id?: unknown; error?: unknown };
    if (typeof id !== 'string' || !sentIds.has(id) || seen.has(id)) continue;
    seen.add(id);
    out.push({ id, error: typeof error === 'string' && error !== '' ? error.slice(0, 500) : 'rejected by the central API' });
  }
  return out;
}

export function classifyResponse(status: number, body: string, retryAfter: string | null, sentIds: ReadonlySet<string>, now: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'accepted', rejected: parseRejectedList(body, sentIds) };
  const error = bodyError(status, body);
  if (status === 400 || status === 422) return { kind: 'refused', status, error };
  if (status === 413) return { kind: 'tooLarge', status, error };
  if (status === 401 || status === 403) return { kind: 'credentials', status, error };
  if (TEMPORARY_4XX.has(status) || status >= 500) return { kind: 'temporary', status, error, retryAfterMs: parseRetryAfter(retryAfter, now) };
  // 1xx/3xx (redirects are not followed: a moved endpoint must be fixed in the config) and other 4xx.
  return { kind: 'misconfigured', status, error };
}

export function classifyNetworkError(message: string): Outcome {
  return { kind: 'temporary', status: null, error: message, retryAfterMs: null };
}
