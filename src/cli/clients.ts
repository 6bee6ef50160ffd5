// The clients commands talk through, composed from the config and created on first use: a pass
// with nothing to send never loads the HTTP stack, an idle tick never reads a TLS file.

import type { Config } from '../config/types.js';
import type { CentralClient } from '../central/client.js';
import type { Transport } from '../central/transport.js';

/**
 * The central API client; with a TLS file configured, over a transport that carries the CA and
 * client certificate. Proxies come from the process environment (HTTP_PROXY, HTTPS_PROXY,
 * NO_PROXY, as curl reads them). Loaded on first use, so a pass with nothing to send never loads
 * the HTTP stack.
 */
export async function centralClient(config: Config, proxyEnv: Readonly<Record<string, string | undefined>> = process.env): Promise<CentralClient> {
  const { createCentralClient } = await import('../central/client.js');
  let transport: Transport | undefined;
  if (tlsConfigured(config.http)) {
    const { createTlsTransport } = await import('../central/tls.js');
    transport = createTlsTransport(config.http, proxyEnv);
  }
  return createCentralClient({
    eventsUrl: config.endpoints.events,
    healthUrl: config.endpoints.health,
    storeId: config.storeId,
    token: config.http.token,
    headers: config.http.headers,
    proxyEnv,
    ...(transport ? { transport } : {}),
  });
}

export function tlsConfigured(http: Config['http']): boolean {
  return http.caFile !== null || http.clientCertFile !== null || http.clientKeyFile !== null;
}

/**
 * A wrong TLS path is a configuration error (exit 78) on every pass, not only on the first one
 * with something to send; one access() per file, and only when TLS files are configured.
 */
export async function checkTls(config: Config): Promise<void> {
  if (!tlsConfigured(config.http)) return;
  const { checkTlsFiles } = await import('../central/tls-files.js');
  checkTlsFiles(config.http);
}
