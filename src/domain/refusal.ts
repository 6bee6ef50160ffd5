// The central's reason for refusing one row, out of what a pass stored (LastSyncError), which may
// be the whole answer: `HTTP 422: {"error":"1 of 1 events refused","rejected":[{"id":…,"error":…}]}`.
// A technician and a log line need the reason first; the raw body is for debugging. Pure.

const PREFIX = /^(HTTP \d{3}): ([\s\S]*)$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `HTTP 422: price must be positive` for the row `id`; the stored text itself when no reason can be found in it. */
export function refusalReason(stored: string, id: string): string {
  const m = PREFIX.exec(stored);
  if (!m) return stored;
  const [, status, body] = m as unknown as [string, string, string];
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    // A body cut short when stored: the row's own entry may still be whole.
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const own = new RegExp(`"id"\\s*:\\s*"${escaped}"[^{}]*?"(?:error|reason)"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`, 'i').exec(body);
    return own ? `${status}: ${own[1]}` : stored;
  }
  if (!isRecord(doc)) return stored;
  const rejected = Array.isArray(doc['rejected']) ? doc['rejected'] : [];
  const mine = rejected.find((r): r is Record<string, unknown> => isRecord(r) && typeof r['id'] === 'string' && r['id'].toUpperCase() === id.toUpperCase());
  const reason = mine?.['error'] ?? mine?.['reason'] ?? doc['error'] ?? doc['title'] ?? doc['message'];
  return typeof reason === 'string' && reason.trim() !== '' ? `${status}: ${reason}` : stored;
}

/**
 * A lone refusal (the state file's refusedAlone) as the verdict shows it, or null: none, or one
 * the central has since said is not about rows (notAboutRows). The stored reason is the central's
 * whole answer with the row's id taken out (`<id>`): its reason first.
 */
export function loneRefusal(
  refusedAlone: { readonly reason: string; readonly ids: readonly string[] } | null | undefined,
  notAboutRows: unknown,
): { readonly ids: readonly string[]; readonly reason: string } | null {
  if (!refusedAlone || notAboutRows) return null;
  const id = refusedAlone.ids[0] ?? '';
  return { ids: refusedAlone.ids, reason: refusalReason(refusedAlone.reason.split('<id>').join(id), id) };
}
