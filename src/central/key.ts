import { createRequire } from 'node:module';

// node:crypto is required on the first key rather than imported: `sync` loads this module on
// every tick, an idle tick never makes a key, and loading node:crypto costs a few milliseconds
// (so does createRequire, hence both on first use).
let createHash: typeof import('node:crypto').createHash | undefined;

/** A stable key for a set of row ids: the same rows give the same key on every retry and pass. */
export function idempotencyKey(ids: readonly string[]): string {
  createHash ??= (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).createHash;
  return createHash('sha256').update(ids.join('\n')).digest('hex');
}
