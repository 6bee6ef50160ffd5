// The central API over HTTP (ky). One call = one request and a classified outcome; ky's own retry
// is off because retries live in one place (central/retry.ts).

import ky from 'ky';
import { classifyNetworkError, classifyResponse, type Outcome } from '../domain/classify.js';

export interface CentralSettings {
  readonly eventsUrl: string;
  readonly healthUrl: string;
  readonly storeId: string;
  readonly token: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** A fetch that knows the TLS settings (custom CA, client certificate); global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

export interface PostRequest {
  readonly body: string;
  readonly idempotencyKey: string;
  readonly ids: ReadonlySet<string>;
  readonly timeoutMs: number;
}

export interface HealthAnswer {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
}

export interface CentralClient {
  post(request: PostRequest, now: () => number): Promise<Outcome>;
  health(timeoutMs: number): Promise<HealthAnswer>;
}

const MAX_BODY_CHARS = 1_000_000;

/** TLS trust failures are configuration problems, not outages (they must not trip the breaker). */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_NOT_YET_VALID',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function describeNetworkError(err: unknown, url: string, timeoutMs: number): { message: string; tls: boolean } {
  const name = (err as { name?: unknown }).name;
  if (name === 'TimeoutError') return { message: `no answer from ${url} within ${Math.round(timeoutMs)} ms`, tls: false };
  const code = errorCode(err);
  const tls = code !== undefined && TLS_CODES.has(code);
  const cause = (err as { cause?: { message?: unknown } }).cause;
  const detail = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return { message: `cannot reach ${url}: ${code && !detail.includes(code) ? `${code} ` : ''}${detail}`, tls };
}

async function readBody(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.length > MAX_BODY_CHARS ? text.slice(0, MAX_BODY_CHARS) : text;
  } catch {
    // A body cut off mid-way: the status line already said what happened.
    return '';
  }
}

export function createCentralClient(settings: CentralSettings): CentralClient {
  const baseHeaders: Record<string, string> = { ...settings.headers, 'X-Store-Id': settings.storeId };
  if (settings.token) baseHeaders['Authorization'] = `Bearer ${settings.token}`;
  const http = ky.create({ retry: 0, throwHttpErrors: false, redirect: 'manual', ...(settings.fetch ? { fetch: settings.fetch } : {}) });

  return {
    async post(request, now) {
      try {
        const response = await http.post(settings.eventsUrl, {
          body: request.body,
          timeout: Math.max(1, Math.round(request.timeoutMs)),
          headers: { ...baseHeaders, 'Content-Type': 'application/json', 'Idempotency-Key': request.idempotencyKey },
        });
        const body = await readBody(response);
        return classifyResponse(response.status, body, response.headers.get('retry-after'), request.ids, now());
      } catch (err) {
        const { message, tls } = describeNetworkError(err, settings.eventsUrl, request.timeoutMs);
        if (tls) return { kind: 'misconfigured', status: 0, error: `${message} (TLS: check Sync.CaFile and the central's certificate)` };
        return classifyNetworkError(message);
      }
    },
    async health(timeoutMs) {
      try {
        const response = await http.get(settings.healthUrl, { timeout: Math.max(1, Math.round(timeoutMs)), headers: baseHeaders });
        await readBody(response);
        return response.ok ? { ok: true, status: response.status, error: null } : { ok: false, status: response.status, error: `HTTP ${response.status}` };
      } catch (err) {
        return { ok: false, status: null, error: describeNetworkError(err, settings.healthUrl, timeoutMs).message };
      }
    },
  };
}
