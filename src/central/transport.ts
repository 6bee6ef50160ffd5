// The one way pos-sync talks HTTP to the central API: every request (delivery, the health check,
// reconcile's summary under ky, the heartbeat) goes through a Transport. It is node:http(s) with
// no web-standard layer (Request, Response, Headers, web streams): those load undici, which costs
// a process about 100 ms and 17 MiB peak RSS (measured: `node -e "new Response('x')"` against
// `node -e 0`, README → Performance), more than a whole idle tick; and an answer read through
// undici stays reachable until a full garbage collection, which a drain cannot afford.
//
// What every request gets here, so no caller can forget it:
// - proxies from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY and their lower-case forms),
//   by Node's own agents (`proxyEnv`): a plain proxy request for http://, a CONNECT tunnel with TLS
//   to the central inside it for https:// (pos-sync(1) ENVIRONMENT);
// - the configured trust (Sync.CaFile, client certificate) for https://;
// - one deadline (the signal) for connect, headers and the whole body;
// - compressed answers (gzip, deflate, br) decoded, the byte cap counted after decoding, so a
//   small compressed answer that expands without end is cut at the cap like any other;
// - no redirect followed.

import http from 'node:http';
import type https from 'node:https';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { scrub, scrubCutText } from '../domain/redact.js';
import { ConfigError } from '../errors.js';
import type { BoundedBody } from './bounded.js';

/** The trust for https: (tls.ts); none means the system's CAs. */
export interface TrustOptions {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** The proxy variables Node's agents read (HTTP_PROXY, https_proxy, NO_PROXY…): the process environment. */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface TransportOptions {
  readonly trust?: TrustOptions;
  readonly proxyEnv?: ProxyEnv;
}

export interface Sent {
  readonly url: string | URL;
  readonly method: 'GET' | 'POST' | 'HEAD' | 'PUT' | 'DELETE';
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text or its UTF-8 bytes; sent as they are, never copied. */
  readonly body?: string | Uint8Array;
  /** One deadline for the whole request (bounded.ts's requestSignal). */
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** The most of the decoded answer read. */
  readonly capBytes: number;
  /** Scrubbed from the answer's text before it goes anywhere. */
  readonly secrets: readonly string[];
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: BoundedBody;
}

export interface Transport {
  /**
   * Sends one request and reads its answer. Rejects only when there is no answer: the signal's
   * reason when it aborted, else a TypeError "fetch failed" with the socket error as its cause
   * (what client.ts's describeNetworkError reads, as for global fetch).
   */
  send(request: Sent): Promise<Answer>;
  /** Ends kept-alive connections, so a command exits as soon as it has its answer. */
  close(): void;
}

/** Accepted on every request: what decoder() below reads. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** The decoder for an answer's Content-Encoding; null for none; a string names one we cannot read. */
function decoder(encoding: string | undefined): zlib.Gunzip | zlib.Unzip | zlib.BrotliDecompress | null | string {
  const e = (encoding ?? '').trim().toLowerCase();
  if (e === '' || e === 'identity') return null;
  // Unzip reads both gzip and zlib-wrapped deflate (what HTTP's "deflate" is) by their header.
  if (e === 'gzip' || e === 'x-gzip' || e === 'deflate') return zlib.createUnzip();
  if (e === 'br') return zlib.createBrotliDecompress();
  return e;
}

const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'] as const;

/**
 * A proxy variable Node cannot use would be passed over without a word, and a till behind a proxy
 * would never deliver: a configuration error (78) instead, naming the variable, never its value
 * (it may carry a password).
 */
export function checkProxyEnv(env: ProxyEnv): void {
  for (const name of PROXY_VARIABLES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw new ConfigError(`the environment variable ${name} is not a proxy URL pos-sync can use${url ? ` (scheme ${url.protocol.slice(0, 20)})` : ''}`, {
        hint: 'set it to http://host:port (or http://user:password@host:port), or unset it',
      });
    }
  }
}

/**
 * NO_PROXY as curl reads it: Node's agents match a bare name exactly and ".example.com" as the
 * domain and its subdomains; curl matches a bare name as the domain too. So each bare name is also
 * given with a leading dot. "*", host:port and IPv4 ranges pass as they are.
 */
export function curlNoProxy(list: string): string {
  const entries = list.split(',').map((e) => e.trim()).filter((e) => e !== '');
  return entries.flatMap((e) => (e === '*' || e.startsWith('.') || e.startsWith('*.') || e.includes(':') || e.includes('-') ? [e] : [e, `.${e}`])).join(',');
}

export function createTransport(options: TransportOptions = {}): Transport {
  let proxy = {};
  if (options.proxyEnv) {
    const env = options.proxyEnv;
    checkProxyEnv(env);
    // Lower case first, as curl and Node read them.
    const noProxy = env['no_proxy'] || env['NO_PROXY'];
    proxy = { proxyEnv: { ...env, ...(noProxy ? { no_proxy: curlNoProxy(noProxy), NO_PROXY: undefined } : {}) } };
  }
  const httpAgent = new http.Agent({ keepAlive: true, ...proxy });
  let httpsAgent: https.Agent | undefined;
  return {
    send(request) {
      return new Promise<Answer>((resolve, reject) => {
        const { signal } = request;
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const url = new URL(request.url);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') {
          reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
          return;
        }
        const secure = url.protocol === 'https:';
        // node:https only for an https: URL: it loads node:tls, which reads the system's CA store on
        // a thread of its own. A tick delivering 3 rows to an http:// central took 3–7 % more wall
        // time, 9–17 % more CPU time and 1.9 MiB more peak RSS with it (3 × 30 paired runs).
        const https = secure ? process.getBuiltinModule('node:https') : null;
        const agent = https !== null ? (httpsAgent ??= new https.Agent({ ...options.trust, keepAlive: true, ...proxy })) : httpAgent;
        const body = request.body === undefined || typeof request.body === 'string' ? request.body : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
        const headers: Record<string, string> = { 'accept-encoding': ACCEPT_ENCODING, ...request.headers };
        if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
        const attempt = (reusesLeft: number): void => {
          let answered = false;
          const onResponse = (res: http.IncomingMessage): void => {
            answered = true;
            const status = res.statusCode ?? 0;
            readBody(res, request).then((read) => resolve({ status, headers: res.headers, body: read }), reject);
          };
          const req = (https ?? http).request(url, { method: request.method, headers, agent }, onResponse);
          req.on('error', (err) => {
            // Once the answer has come, its body reader (readBody) says how the request ended.
            if (answered) return;
            if (signal.aborted) return reject(signal.reason);
            // A kept-alive connection the peer closed as we reused it (a proxy such as tinyproxy
            // closes after every answer without saying so): the request never got there, so it
            // goes again on a new connection — what Node's http documents (request.reusedSocket).
            // A central that did get it deduplicates by the Idempotency-Key.
            const code = (err as NodeJS.ErrnoException).code;
            if (req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE') && reusesLeft > 0) return attempt(reusesLeft - 1);
            reject(new TypeError('fetch failed', { cause: err }));
          });
          const abort = (): void => {
            req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          };
          signal.addEventListener('abort', abort, { once: true });
          // The listener goes with the request: a signal that outlives it keeps nothing of it.
          req.once('close', () => signal.removeEventListener('abort', abort));
          req.end(body);
        };
        attempt(2);
      });
    },
    close() {
      httpAgent.destroy();
      httpsAgent?.destroy();
    },
  };
}

/**
 * Reads an answer's body (decoded) until its end, the cap, or the deadline, whichever comes
 * first. Never rejects: an incomplete body says why. Secrets are scrubbed before the text is cut
 * anywhere else; a body cut off may end with part of a secret, which is redacted too.
 */
function readBody(res: http.IncomingMessage, request: Sent): Promise<BoundedBody> {
  const { signal, capBytes, timeoutMs, secrets } = request;
  if (request.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) {
    res.resume();
    return Promise.resolve({ text: '', complete: true });
  }
  const decode = decoder(res.headers['content-encoding']);
  if (typeof decode === 'string') {
    res.destroy();
    return Promise.resolve({ text: '', complete: false, problem: `in an encoding pos-sync cannot read (Content-Encoding: ${decode.slice(0, 40)})` });
  }
  const source: Readable = decode ? res.pipe(decode) : res;
  return new Promise<BoundedBody>((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (problem?: string): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // Whatever is left is not wanted: destroying closes the connection instead of waiting for it.
      if (problem !== undefined) {
        res.destroy();
        decode?.destroy();
      }
      const text = Buffer.concat(chunks, bytes).toString('utf8');
      resolve(problem === undefined ? { text: scrub(text, secrets), complete: true } : { text: scrubCutText(text, secrets), complete: false, problem });
    };
    const onAbort = (): void => finish(`not whole within ${Math.round(timeoutMs)} ms`);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    source.on('data', (chunk: Buffer) => {
      if (settled) return;
      const room = capBytes - bytes;
      if (chunk.length > room) {
        chunks.push(chunk.subarray(0, room));
        bytes = capBytes;
        finish(`larger than ${capBytes} bytes${decode ? ' once decoded' : ''}`);
        return;
      }
      chunks.push(chunk);
      bytes += chunk.length;
    });
    source.on('end', () => finish());
    source.on('error', () => finish(decode ? `not valid ${String(res.headers['content-encoding']).trim()} data` : 'cut short'));
    // The connection closed before the whole body came (a decoder's own end or error follows otherwise).
    res.on('close', () => {
      if (!res.complete) finish(signal.aborted ? `not whole within ${Math.round(timeoutMs)} ms` : 'cut short');
    });
  });
}

/**
 * A fetch over a Transport, for ky (reconcile's summary): the answer arrives whole and bounded,
 * then becomes a Response. An incomplete body ends its stream with an error, which bounded.ts's
 * readBounded reports as it would for a cut connection. Only reconcile loads this path (and with
 * it undici's Response), never a timer tick.
 */
export function transportFetch(transport: Transport, capBytes: number): typeof fetch & { close(): void } {
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const answer = await transport.send({
      url: request.url,
      method: request.method as Sent['method'],
      headers: Object.fromEntries(request.headers),
      ...(body !== undefined ? { body } : {}),
      signal: request.signal,
      timeoutMs: 0,
      capBytes,
      secrets: [],
    });
    if (answer.status < 200 || answer.status > 599) throw new TypeError(`fetch failed: HTTP status ${answer.status}`);
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      // The body is decoded here: its encoding and length no longer describe it.
      if (value === undefined || name === 'content-encoding' || name === 'content-length') continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const bytes = Buffer.from(answer.body.text, 'utf8');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        if (bytes.length > 0) controller.enqueue(bytes);
        if (answer.body.complete) controller.close();
        else controller.error(new Error(answer.body.problem ?? 'cut short'));
      },
    });
    const noBody = request.method === 'HEAD' || answer.status === 204 || answer.status === 304;
    return new Response(noBody ? null : stream, { status: answer.status, headers });
  };
  return Object.assign(f as typeof fetch, { close: () => transport.close() });
}
