// Which configured values are secrets. One place, so the logger's scrubbing, error lines, --json
// output and `pos-sync config` agree on what must never be printed.

import type { Config } from './types.js';

/** Kafka producer settings whose value is a credential (sasl.password, ssl.key.password, …). */
const SECRET_PRODUCER_KEY = /password|secret|token|jaas|credential/i;

/** HTTP headers in Sync.ApiHeaders whose value is a credential. */
const SECRET_HEADER = /^(authorization|proxy-authorization|cookie)$|api[-_]?key|token|secret|password|auth/i;

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
  // Longest first, so a secret that contains another is replaced whole.
  return out.sort((a, b) => b.length - a.length);
}
