// HTTPS to the central API with a private CA (Sync.CaFile) and/or a client certificate
// (Sync.ClientCertFile + Sync.ClientKeyFile, mutual TLS).
// The trust is read here only when a TLS file is configured, and handed to the one transport
// (transport.ts) every request to the central goes through.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConfigError } from '../errors.js';
import { MAX_BODY_BYTES } from './bounded.js';
import { createTransport, transportFetch, type ProxyEnv, type Transport } from './transport.js';
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

/**
 * The transport with the configured trust. A server certificate the CA does not vouch for fails
 * the request; with Sync.CaFile the system's CAs are not used for the central API, so a private
 * CA is the only one trusted.
 */
export function createTlsTransport(files: TlsFiles, proxyEnv: ProxyEnv = process.env): Transport {
  return createTransport({ trust: loadTlsOptions(files), proxyEnv });
}

/** The same as a fetch, for ky (reconcile's summary). */
export function createTlsFetch(files: TlsFiles, proxyEnv: ProxyEnv = process.env): typeof fetch & { close(): void } {
  return transportFetch(createTlsTransport(files, proxyEnv), 4 * MAX_BODY_BYTES);
}
