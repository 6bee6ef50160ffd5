// HTTPS to the central API with a private CA (Sync.CaFile) and/or a client certificate
// (Sync.ClientCertFile + Sync.ClientKeyFile, mutual TLS).
//
// Node 20's global fetch takes no per-request CA. The two ways around that are the `undici`
// package's Agent passed as fetch's `dispatcher`, or a small fetch over node:https. Measured on
// this project's Node 20: loading undici costs about 90–120 ms, node:https about 11 ms, and
// undici's Agent must match the undici version bundled inside Node. So this is a fetch over
// node:https: no dependency, loaded only when a TLS file is configured.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { ConfigError } from '../errors.js';
import { explain, KEYS, type TlsFiles } from './tls-files.js';

export { checkTlsFiles, tlsConfigured, type TlsFiles } from './tls-files.js';

function read(name: keyof typeof KEYS, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${KEYS[name]} ${file} cannot be read: ${explain(err)}`);
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** Reads the files and checks that OpenSSL accepts them, naming the key at fault. */
export function loadTlsOptions(files: TlsFiles): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const options: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  if (files.caFile !== null) {
    options.ca = read('caFile', files.caFile);
    // createSecureContext accepts a file without any certificate in it; a CA file must hold one.
    if (!options.ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`Sync.CaFile ${files.caFile} holds no PEM certificate`);
    try {
      tls.createSecureContext({ ca: options.ca });
    } catch (err) {
      throw new ConfigError(`Sync.CaFile ${files.caFile} is not a valid PEM CA bundle: ${firstLine(err)}`);
    }
  }
  if (files.clientCertFile !== null || files.clientKeyFile !== null) {
    if (files.clientCertFile === null || files.clientKeyFile === null) {
      throw new ConfigError('Sync.ClientCertFile and Sync.ClientKeyFile must be set together (mutual TLS)');
    }
    options.cert = read('clientCertFile', files.clientCertFile);
    options.key = read('clientKeyFile', files.clientKeyFile);
    try {
      tls.createSecureContext({ cert: options.cert });
    } catch (err) {
      throw new ConfigError(`Sync.ClientCertFile ${files.clientCertFile} is not a valid PEM certificate: ${firstLine(err)}`);
    }
    try {
      tls.createSecureContext({ key: options.key });
    } catch (err) {
      throw new ConfigError(`Sync.ClientKeyFile ${files.clientKeyFile} is not a valid unencrypted PEM private key: ${firstLine(err)}`);
    }
    try {
      tls.createSecureContext({ cert: options.cert, key: options.key });
    } catch (err) {
      throw new ConfigError(`Sync.ClientKeyFile ${files.clientKeyFile} does not match Sync.ClientCertFile ${files.clientCertFile}: ${firstLine(err)}`);
    }
  }
  return options;
}

function headersOf(incoming: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * A fetch (what ky needs of it) over node:https with the configured trust. A server certificate
 * the CA does not vouch for fails the request; with Sync.CaFile the system's CAs are not used
 * for the central API, so a private CA is the only one trusted.
 */
export function createTlsFetch(files: TlsFiles): typeof fetch & { close(): void } {
  const agent = new https.Agent({ ...loadTlsOptions(files), keepAlive: true });
  const tlsFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const headers: Record<string, string> = Object.fromEntries(request.headers);
    if (body !== undefined) headers['content-length'] = String(body.length);
    const signal = request.signal;
    return new Promise<Response>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const options = { method: request.method, headers, ...(url.protocol === 'https:' ? { agent } : {}) };
      const req = (url.protocol === 'https:' ? https : http).request(url, options, (res) => {
        const status = res.statusCode ?? 0;
        const noBody = request.method === 'HEAD' || status === 204 || status === 304;
        if (noBody) res.resume();
        // Response accepts 200–599 only; anything else is not an answer we can use.
        if (status < 200 || status > 599) {
          res.destroy();
          reject(new TypeError(`fetch failed: HTTP status ${status}`));
          return;
        }
        const stream = noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: headersOf(res) }));
      });
      // Shaped like global fetch's failures (TypeError with the socket error as cause), so the
      // client's classification of TLS and network errors is the same for both.
      req.on('error', (err) => reject(signal.aborted ? signal.reason : new TypeError('fetch failed', { cause: err })));
      // The signal reaches the body too: aborting after the headers destroys the socket, so a
      // stalled or slow-drip body ends with the request's deadline.
      const abort = (): void => {
        req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', abort, { once: true });
      req.end(body);
    });
  };
  // Closing the agent ends kept-alive connections, so `health` exits as soon as it has its verdict.
  return Object.assign(tlsFetch as typeof fetch, { close: () => agent.destroy() });
}
