// node:crypto is fetched on the first key (process.getBuiltinModule) rather than imported: `sync`
// loads this module on every tick, an idle tick never makes a key, and loading node:crypto costs a
// few milliseconds. getBuiltinModule hands back Node's own cached module, so no state is kept here.

/** A stable key for a set of row ids: the same rows give the same key on every retry and pass. */
export function idempotencyKey(ids: readonly string[]): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(ids.join('\n')).digest('hex');
}
