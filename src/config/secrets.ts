// Which configured values are secrets. One place, so the logger's scrubbing, error lines, --json
// output and `pos-sync config` agree on what must never be printed.

import { redactUrls, urlSecrets } from '../domain/redact.js';
import type { Config } from './types.js';

/** Kafka producer settings whose value is a credential (sasl.password, ssl.key.password, …). */
const SECRET_PRODUCER_KEY = /password|secret|token|jaas|credential/i;

/**
 * HTTP headers in Sync.ApiHeaders whose value is a credential, recognised broadly: a gateway's
 * key (Ocp-Apim-Subscription-Key, x-functions-key, X-Access-Key, X-Api-Key), tokens, signatures,
 * passwords, sessions and cookies. Printing a harmless header as <redacted> costs nothing;
 * printing a key costs the key.
 */
const SECRET_HEADER = /key|secret|token|auth|sig(nature)?\b|signature|passw|pwd|subscription|credential|session|cookie|bearer|jwt|private|cert/i;

export function isSecretProducerKey(key: string): boolean {
  return SECRET_PRODUCER_KEY.test(key);
}

export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name);
}

/** Every secret value the config holds, for scrubbing output. */
export function secretValues(config: Config): string[] {
  const out: string[] = [];
  if (config.http.token) {
    out.push(config.http.token);
    // The header as sent, in case something echoes it whole.
    out.push(`Bearer ${config.http.token}`);
  }
  for (const [name, value] of Object.entries(config.http.headers)) if (isSecretHeader(name) && value !== '') out.push(value);
  for (const [key, value] of Object.entries(config.kafka.producerConfig)) if (isSecretProducerKey(key) && value !== '') out.push(value);
  // User info and query values in the endpoints (a function key in ?code=…).
  for (const url of [config.endpoints.events, config.endpoints.health, config.endpoints.summary]) out.push(...urlSecrets(url));
  // Longest first, so a secret that contains another is replaced whole.
  return out.sort((a, b) => b.length - a.length);
}

/** `//user:password@` and `?name=value` in a URL (or any text holding one), password and values replaced by <redacted>. */
export function hideUrlPassword(text: string): string {
  return redactUrls(text);
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i;

/**
 * The one warning `config` and `health` give when a credential (the token or a secret header)
 * would travel over plain http:// to a host other than this machine; null otherwise.
 */
export function plainHttpCredentialWarning(config: Config): string | null {
  const sendsSecret = config.http.token !== null || Object.entries(config.http.headers).some(([name, value]) => isSecretHeader(name) && value !== '');
  if (!sendsSecret) return null;
  for (const endpoint of [config.endpoints.events, config.endpoints.health]) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      continue;
    }
    if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) {
      return `warning: the API token or a secret header is sent over plain http:// to ${url.host}, readable by anyone on the network; use https:// (Sync.CentralApiEndpoint, Sync.HealthCheckEndpoint)`;
    }
  }
  return null;
}
