// The last reconciliation, kept in a small JSON file of its own beside the state file
// (pos-sync.state.json → pos-sync.state.reconcile.json): `health` and the metrics file read it.
// Not in the state file itself, because a reconcile runs beside the timer's passes without
// taking the pass lock and must not race them for that file; not in the database, because
// reconcile opens it read-only. Written atomically (own-file.ts, mode 0640: the POS group's
// `health` reads it); read defensively (never throws, never through a link or from a FIFO).

import { basename, dirname, join } from 'node:path';
import { readOwnFile, writeOwnFile } from './own-file.js';

export type ReconcileOutcome = 'match' | 'mismatch' | 'failed';

export interface ReconcileRecord {
  /** Epoch ms when the reconcile ended. */
  readonly at: number;
  readonly outcome: ReconcileOutcome;
  readonly exitCode: number;
  /** The window, epoch ms, half-open. */
  readonly from: number;
  readonly to: number;
  readonly missingAtCentral: number;
  readonly extraAtCentral: number;
  readonly amountDiffers: number;
  readonly error: string | null;
}

const VERSION = 1;
const MAX_BYTES = 16 * 1024;

export function reconcileRecordPath(stateFile: string): string {
  const dir = dirname(stateFile);
  const base = basename(stateFile).replace(/\.json$/i, '');
  return join(dir, `${base}.reconcile.json`);
}

export function writeReconcileRecord(file: string, record: ReconcileRecord): void {
  const doc = {
    version: VERSION,
    at: new Date(record.at).toISOString(),
    outcome: record.outcome,
    exitCode: record.exitCode,
    from: new Date(record.from).toISOString(),
    to: new Date(record.to).toISOString(),
    missingAtCentral: record.missingAtCentral,
    extraAtCentral: record.extraAtCentral,
    amountDiffers: record.amountDiffers,
    error: record.error === null ? null : record.error.slice(0, 500),
  };
  writeOwnFile(file, `${JSON.stringify(doc, null, 2)}\n`, 0o640);
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
const time = (v: unknown): number | undefined => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(v) && Number.isFinite(Date.parse(v)) ? Date.parse(v) : undefined);

/** The record, null when there is none; a string saying why when the file is unreadable. */
export function readReconcileRecord(file: string): ReconcileRecord | null | string {
  const read = readOwnFile(file, MAX_BYTES);
  if (read.kind === 'missing') return null;
  if (read.kind === 'problem') return read.code === 'ETOOBIG' ? `${file} is not a reconcile record` : read.problem;
  const text = read.text;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `${file} is not JSON`;
  }
  if (typeof doc !== 'object' || doc === null || doc['version'] !== VERSION) return `${file} has an unknown version`;
  const outcome = doc['outcome'];
  const at = time(doc['at']);
  const from = time(doc['from']);
  const to = time(doc['to']);
  const exitCode = count(doc['exitCode']);
  const missing = count(doc['missingAtCentral']);
  const extra = count(doc['extraAtCentral']);
  const amounts = count(doc['amountDiffers']);
  const error = doc['error'];
  if (
    (outcome !== 'match' && outcome !== 'mismatch' && outcome !== 'failed') ||
    at === undefined || from === undefined || to === undefined || exitCode === undefined ||
    missing === undefined || extra === undefined || amounts === undefined || (error !== null && typeof error !== 'string')
  ) {
    return `${file} is malformed`;
  }
  return { at, outcome, exitCode, from, to, missingAtCentral: missing, extraAtCentral: extra, amountDiffers: amounts, error: error as string | null };
}

/** The record as health sees it. */
export function readReconcileFacts(stateFile: string): import('../domain/health.js').ReconcileFacts {
  const record = readReconcileRecord(reconcileRecordPath(stateFile));
  if (record === null) return { kind: 'none' };
  if (typeof record === 'string') return { kind: 'unreadable', problem: record };
  return { kind: 'found', at: record.at, outcome: record.outcome, differing: record.missingAtCentral + record.extraAtCentral + record.amountDiffers, error: record.error };
}

/** The record for the metrics file; null when there is none or it cannot be read. */
export function lastReconcile(stateFile: string): ReconcileRecord | null {
  const record = readReconcileRecord(reconcileRecordPath(stateFile));
  return typeof record === 'string' ? null : record;
}
