// The central API over HTTP (node-fetch.ts: node:http(s), not Node's global fetch, whose requests
// stay reachable until a full garbage collection). One call = one request and a classified
// outcome; no retry here because retries live in one place (central/retry.ts), and no redirect
// is followed.

import { isSecretHeader } from '../config/secrets.js';
import { classifyNetworkError, classifyResponse, type Outcome } from '../domain/classify.js';
import { scrub, urlSecrets } from '../domain/redact.js';
import { readBounded, requestSignal } from './bounded.js';
import { createNodeFetch, type NodeFetch } from './node-fetch.js';

export interface CentralSettings {
  readonly eventsUrl: string;
  readonly healthUrl: string;
  readonly storeId: string;
  readonly token: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /** A fetch that knows the TLS settings (custom CA, client certificate); node-fetch.ts's otherwise. */
  readonly fetch?: typeof fetch;
  /** Closes what `fetch` keeps open (the TLS path's agent). */
  readonly close?: () => void;
}

export interface PostRequest {
  /** JSON text, or its UTF-8 bytes (a batch's body: see pass/deliverer.ts's encode). */
  readonly body: string | Uint8Array;
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
  /** Closes kept-alive connections so nothing keeps the process running (health, end of a pass). */
  close?(): void;
}

/**
 * TLS trust failures are configuration problems, not outages (they must not trip the breaker).
 * Not CERT_NOT_YET_VALID: at boot, before NTP has set the clock, every certificate looks "not yet
 * valid"; that passes by itself, so it is temporary (75) like an unreachable central.
 */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED',
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

/** The server refused our client certificate (or its absence): a mutual TLS problem. */
const CLIENT_CERT_CODES = /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNKNOWN_CA|HANDSHAKE_FAILURE|ACCESS_DENIED|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE)$/;

/**
 * OpenSSL's handshake alerts and certificate checks (ERR_SSL_*, ERR_TLS_CERT_*) say the two sides
 * do not trust each other, which retrying cannot change.
 */
function isTlsCode(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_CERT');
}

/** What to look at for a TLS failure, by its code. */
export function tlsHint(code: string): string {
  return CLIENT_CERT_CODES.test(code)
    ? 'TLS: the central refused our client certificate; check Sync.ClientCertFile and Sync.ClientKeyFile'
    : "TLS: check Sync.CaFile and the central's certificate";
}

export function describeNetworkError(err: unknown, url: string, timeoutMs: number): { message: string; tls: boolean; code?: string } {
  const name = (err as { name?: unknown }).name;
  if (name === 'TimeoutError') return { message: `no answer from ${url} within ${Math.round(timeoutMs)} ms`, tls: false };
  const code = errorCode(err);
  const tls = code !== undefined && isTlsCode(code);
  const cause = (err as { cause?: { message?: unknown } }).cause;
  const detail = typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
  return { message: `cannot reach ${url}: ${code && !detail.includes(code) ? `${code} ` : ''}${detail}`, tls, ...(code ? { code } : {}) };
}

/**
 * An answer's text ends up in LastSyncError, SyncRetryLogs, the state file and logs. A central
 * (or a proxy) that echoes the request's headers in an error page must not copy our credentials
 * into all of them.
 */
function scrubOutcome(outcome: Outcome, secrets: readonly string[]): Outcome {
  if (secrets.length === 0) return outcome;
  if (outcome.kind === 'accepted') {
    return outcome.rejected.length === 0 ? outcome : { ...outcome, rejected: outcome.rejected.map((r) => ({ ...r, error: scrub(r.error, secrets) })) };
  }
  return { ...outcome, error: scrub(outcome.error, secrets) };
}

/** Headers pos-sync sets itself on every request. */
const OWN_HEADERS = new Set(['content-type', 'idempotency-key', 'x-store-id']);

export function createCentralClient(settings: CentralSettings): CentralClient {
  // HTTP header names ignore case: an ApiHeaders entry spelt "idempotency-key" or "x-store-id"
  // would be merged with ours into "theirs, ours" and break deduplication, so ours win. A seed
  // config's own Authorization header stays, unless a token is configured.
  const baseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.headers)) {
    const lower = name.toLowerCase();
    if (OWN_HEADERS.has(lower) || (settings.token && lower === 'authorization')) continue;
    baseHeaders[name] = value;
  }
  baseHeaders['X-Store-Id'] = settings.storeId;
  if (settings.token) baseHeaders['Authorization'] = `Bearer ${settings.token}`;
  const secrets = [
    ...(settings.token ? [`Bearer ${settings.token}`, settings.token] : []),
    ...Object.entries(settings.headers).filter(([name, value]) => isSecretHeader(name) && value !== '').map(([, value]) => value),
    // User info and query values in the endpoints, which errors name (redact.ts).
    ...urlSecrets(settings.eventsUrl),
    ...urlSecrets(settings.healthUrl),
  ].sort((a, b) => b.length - a.length);
  // The TLS path brings its own fetch (and closes it); otherwise this client makes one.
  let own: NodeFetch | undefined;
  const send = settings.fetch ?? (own = createNodeFetch());

  return {
    async post(request, now) {
      // One deadline for connect, headers and body (requestSignal), the body read under it too.
      const bound = requestSignal(request.timeoutMs);
      try {
        const response = await send(settings.eventsUrl, {
          method: 'POST',
          body: request.body,
          redirect: 'manual',
          signal: bound.signal,
          headers: { ...baseHeaders, 'Content-Type': 'application/json', 'Idempotency-Key': request.idempotencyKey },
        });
        const body = await readBounded(response, bound.signal, request.timeoutMs, secrets);
        return scrubOutcome(classifyResponse(response.status, body.text, response.headers.get('retry-after'), request.ids, now(), body), secrets);
      } catch (err) {
        const { message, tls, code } = describeNetworkError(err, settings.eventsUrl, request.timeoutMs);
        if (tls) return { kind: 'misconfigured', status: 0, error: scrub(`${message} (${tlsHint(code ?? '')})`, secrets) };
        return classifyNetworkError(scrub(message, secrets));
      } finally {
        bound.clear();
      }
    },
    async health(timeoutMs) {
      const bound = requestSignal(timeoutMs);
      try {
        const response = await send(settings.healthUrl, { method: 'GET', redirect: 'manual', signal: bound.signal, headers: baseHeaders });
        const body = await readBounded(response, bound.signal, timeoutMs, secrets);
        if (!body.complete && response.ok) return { ok: false, status: null, error: `HTTP ${response.status} but the answer was ${body.problem ?? 'cut short'}` };
        return response.ok ? { ok: true, status: response.status, error: null } : { ok: false, status: response.status, error: `HTTP ${response.status}` };
      } catch (err) {
        return { ok: false, status: null, error: scrub(describeNetworkError(err, settings.healthUrl, timeoutMs).message, secrets) };
      } finally {
        bound.clear();
      }
    },
    close() {
      settings.close?.();
      own?.close();
    },
  };
}
