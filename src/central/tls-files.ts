// The TLS files of the central API connection, checked cheaply: this module loads only node:fs,
// so checking the paths on every pass costs no TLS or HTTPS module load.

import { accessSync, constants, statSync } from 'node:fs';
import { ConfigError } from '../errors.js';

export interface TlsFiles {
  readonly caFile: string | null;
  readonly clientCertFile: string | null;
  readonly clientKeyFile: string | null;
}

export const KEYS = { caFile: 'Sync.CaFile', clientCertFile: 'Sync.ClientCertFile', clientKeyFile: 'Sync.ClientKeyFile' } as const;

export function tlsConfigured(files: TlsFiles): boolean {
  return files.caFile !== null || files.clientCertFile !== null || files.clientKeyFile !== null;
}

export function explain(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  return code ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Cheap check that every configured TLS file can be read (one access() each), so a wrong path is
 * exit 78 at once, even on a pass with nothing to send that never builds the HTTPS client.
 */
export function checkTlsFiles(files: TlsFiles): void {
  for (const name of Object.keys(KEYS) as (keyof typeof KEYS)[]) {
    const file = files[name];
    if (file === null) continue;
    try {
      accessSync(file, constants.R_OK);
      if (statSync(file).isDirectory()) throw Object.assign(new Error('folder'), { code: 'EISDIR' });
    } catch (err) {
      throw new ConfigError(`${KEYS[name]} ${file} cannot be read: ${explain(err)}`);
    }
  }
}

