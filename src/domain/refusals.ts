// Only a row's own fault counts against it (SPEC §5). When every row a pass tried (two or more,
// none accepted) was refused for the same reason, the reason is not about the rows — the central
// does not know the store, a gateway rule, a version mismatch — and no row is penalised.

export interface HeldRefusal {
  readonly id: string;
  readonly error: string;
  /** Refused in an earlier pass already (counted then as its own fault, with other rows accepted). */
  readonly refusedBefore?: boolean;
}

/** A refusal's reason with the row's own id taken out, so "row X: unknown store" matches for every X. */
export function reasonOf(refusal: HeldRefusal): string {
  return refusal.id === '' ? refusal.error : refusal.error.split(refusal.id).join('<id>');
}

/**
 * What to do with the refusals a pass has held back while no row was accepted:
 * - `shared`: two or more, all for the same reason, at least one of them a row never refused
 *   before — not about the rows: penalise none. (Rows that are all refused before, retried alone
 *   after the good ones went through, are the bad rows they were judged to be: they keep counting
 *   toward the dead letter instead of stopping every pass with 78.);
 * - `record`: they differ (or a row was accepted): each is the row's own fault;
 * - `wait`: a single refusal so far: not yet known.
 */
export function judgeHeld(held: readonly HeldRefusal[], acceptedRows: number): { readonly kind: 'shared'; readonly reason: string } | { readonly kind: 'record' } | { readonly kind: 'wait' } {
  if (held.length === 0 || acceptedRows > 0) return { kind: 'record' };
  const first = reasonOf(held[0]!);
  if (held.some((r) => reasonOf(r) !== first)) return { kind: 'record' };
  if (held.length < 2) return { kind: 'wait' };
  return held.every((r) => r.refusedBefore === true) ? { kind: 'record' } : { kind: 'shared', reason: first };
}
