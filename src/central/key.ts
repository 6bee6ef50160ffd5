import { createHash } from 'node:crypto';

/** A stable key for a set of row ids: the same rows give the same key on every retry and pass. */
export function idempotencyKey(ids: readonly string[]): string {
  return createHash('sha256').update(ids.join('\n')).digest('hex');
}
