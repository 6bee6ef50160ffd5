// Only a row's own fault counts against it (man page, sync). When every row tried (two or more
// distinct rows, none accepted) was refused for the same reason, the reason is not about the
// rows — the central does not know the store, a gateway rule, a version mismatch — and no row is
// penalised. "Every row tried" spans passes: a quiet till sends one row per pass, so a pass whose
// only row is refused (nothing accepted) leaves its judgement to the next one, remembered in the
// state file (`RefusedAlone`), and penalises nothing yet.

export interface HeldRefusal {
  readonly id: string;
  readonly error: string;
  /** Refused in an earlier pass already (counted then as its own fault, with other rows accepted). */
  readonly refusedBefore?: boolean;
}

/**
 * Passes running in which every row tried was refused for one reason and none accepted: the
 * reason and the rows (a few ids). Cleared by any pass in which a row is accepted or refused for
 * another reason.
 */
export interface RefusedAlone {
  readonly reason: string;
  readonly ids: readonly string[];
  /** Epoch ms of the last such pass. */
  readonly at: number;
}

/** Ids kept in RefusedAlone: two distinct ones decide. */
const IDS_KEPT = 5;

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
export function judgeHeld(
  held: readonly HeldRefusal[],
  acceptedRows: number,
  before: RefusedAlone | null = null,
): { readonly kind: 'shared'; readonly reason: string } | { readonly kind: 'record' } | { readonly kind: 'wait' } {
  if (held.length === 0 || acceptedRows > 0) return { kind: 'record' };
  const first = reasonOf(held[0]!);
  if (held.some((r) => reasonOf(r) !== first)) return { kind: 'record' };
  if (held.every((r) => r.refusedBefore === true)) return held.length < 2 && before === null ? { kind: 'wait' } : { kind: 'record' };
  // Earlier passes count when they ended the same way for the same reason.
  const ids = new Set([...held.map((r) => r.id), ...(before !== null && before.reason === first ? before.ids : [])]);
  return ids.size >= 2 ? { kind: 'shared', reason: first } : { kind: 'wait' };
}

/**
 * What a pass leaves of it for the next: `undefined` (nothing to say: the memory stays), null (a
 * row was accepted, or refusals were recorded as the rows' own: forget), or the reason and rows
 * of a pass in which every row tried was refused for it.
 */
export function refusedAloneAfter(
  before: RefusedAlone | null,
  held: readonly HeldRefusal[],
  acceptedRows: number,
  recorded: boolean,
  now: number,
): RefusedAlone | null | undefined {
  if (acceptedRows > 0 || recorded) return null;
  if (held.length === 0) return undefined;
  const reason = reasonOf(held[0]!);
  if (held.some((r) => reasonOf(r) !== reason)) return null;
  const earlier = before !== null && before.reason === reason ? before.ids : [];
  const ids = [...new Set([...held.map((r) => r.id), ...earlier])].slice(0, IDS_KEPT);
  return { reason, ids, at: now };
}

/**
 * At the end of a pass, held refusals the judgement left waiting: a single row refused with
 * nothing accepted is not penalised (the next pass with another row tells whether the reason is
 * about it; meanwhile it is sent again each pass, like any pending row) — unless it was refused
 * before, with other rows accepted: then it is the bad row it was judged to be.
 */
export function penaliseWaiting(held: readonly HeldRefusal[]): boolean {
  return held.some((r) => r.refusedBefore === true);
}
