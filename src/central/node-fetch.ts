// A fetch (what the central client and ky need of it) over node:http and node:https: every request
// to the central API goes through it, with the configured trust when a TLS file is set (tls.ts).
//
// Not Node's global fetch, for memory: undici registers each answer's body stream with a
// FinalizationRegistry through a WeakRef (ky's clone of an answer registers it again), and only a
// full garbage collection clears a WeakRef; the stream reaches back to the request, so a drain's
// ~200 KB request bodies (as strings and as encoded bytes) pile up in the old generation and in
// ArrayBuffers between mark-compacts: 2,000 such POSTs peak at ~210 MiB through fetch, ~140 MiB
// through node:http (README → Performance). Here the body and the answer die with the request.
//
// Shaped like global fetch where the client looks: a failure to connect or send is a TypeError
// "fetch failed" with the socket error as its cause; an aborted request rejects with the signal's
// reason, and aborting after the headers destroys the socket, so a stalled body ends with the
// request's deadline. No redirect is followed (the client asks for none), no compression asked for.

import http from 'node:http';
import type https from 'node:https';
import { Readable } from 'node:stream';

/** The trust for https: (tls.ts); none means the system's CAs, as global fetch has. */
export interface TrustOptions {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export type NodeFetch = typeof fetch & { close(): void };

function headersOf(incoming: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

interface Outgoing {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer | undefined;
  readonly signal: AbortSignal | null;
}

/**
 * What to send. The client's own calls (a URL string, a string or byte body) are taken as they
 * are, the bytes not copied; a Request (ky's, for reconcile's summary) through the Request API.
 */
async function outgoing(input: string | URL | Request, init: RequestInit | undefined): Promise<Outgoing> {
  const given = init?.body ?? undefined;
  if (!(input instanceof Request) && (given === undefined || typeof given === 'string' || given instanceof Uint8Array)) {
    const headers: Record<string, string> = Object.fromEntries(new Headers(init?.headers));
    const body = given === undefined || typeof given === 'string' ? given : Buffer.from(given.buffer, given.byteOffset, given.byteLength);
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return { url: new URL(input), method: (init?.method ?? 'GET').toUpperCase(), headers, body, signal: init?.signal ?? null };
  }
  const request = new Request(input, init);
  const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  const headers: Record<string, string> = Object.fromEntries(request.headers);
  if (body !== undefined) headers['content-length'] = String(body.length);
  return { url: new URL(request.url), method: request.method, headers, body, signal: request.signal };
}

/** A fetch over node:http(s) with kept-alive connections; close() ends them. */
export function createNodeFetch(trust: TrustOptions = {}): NodeFetch {
  const httpAgent = new http.Agent({ keepAlive: true });
  // node:https (and with it node:tls) is loaded on the first https: request only.
  let httpsAgent: https.Agent | undefined;
  const httpsFor = (): typeof https => process.getBuiltinModule('node:https');
  const nodeFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const { url, method, headers, body, signal } = await outgoing(input, init);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const secure = url.protocol === 'https:';
      const agent = secure ? (httpsAgent ??= new (httpsFor().Agent)({ ...trust, keepAlive: true })) : httpAgent;
      const onResponse = (res: http.IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        const noBody = method === 'HEAD' || status === 204 || status === 304;
        if (noBody) res.resume();
        // Response accepts 200–599 only; anything else is not an answer we can use.
        if (status < 200 || status > 599) {
          res.destroy();
          reject(new TypeError(`fetch failed: HTTP status ${status}`));
          return;
        }
        const stream = noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: headersOf(res) }));
      };
      const req = secure ? httpsFor().request(url, { method, headers, agent }, onResponse) : http.request(url, { method, headers, agent }, onResponse);
      req.on('error', (err) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
      if (signal) {
        const abort = (): void => {
          req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        signal.addEventListener('abort', abort, { once: true });
        // The listener goes with the request: a signal that outlives it keeps nothing of it.
        req.once('close', () => signal.removeEventListener('abort', abort));
      }
      req.end(body);
    });
  };
  // Closing the agents ends kept-alive connections, so `health` exits as soon as it has its verdict.
  return Object.assign(nodeFetch as typeof fetch, {
    close: () => {
      httpAgent.destroy();
      httpsAgent?.destroy();
    },
  });
}
