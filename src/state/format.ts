// The state file's content (pos-sync-operations(7) BETWEEN INVOCATIONS), version 1, and its pure validating parser. The file is
// written by one pos-sync and read by the next, maybe a different version, maybe after a power
// cut half-way through a disk write: the parser trusts nothing and never throws, and anything it
// cannot fully vouch for is "corrupt" so the caller moves it aside and starts closed.

import { CLOSED, type BreakerMode, type BreakerState } from '../domain/breaker.js';
import type { HeartbeatMemory } from '../domain/heartbeat.js';
import type { Verdict } from '../domain/verdict.js';
import type { PassSummary } from '../domain/pass-summary.js';

export const STATE_VERSION = 1;

/** A file larger than this is not ours (ours is well under 2 KiB). */
export const MAX_STATE_BYTES = 64 * 1024;

// What `status` and `health` read of the last pass is the domain's (they decide on it); the file holds it.
export { withSince, type PassSummary } from '../domain/pass-summary.js';

export interface SavedState {
  readonly breaker: BreakerState;
  readonly lastPass: PassSummary | null;
  /** Epoch ms of the end of the last pass that exited 0 (for `health`). */
  readonly lastSuccessAt: number | null;
  /**
   * The last answer that was not about the rows (a proxy's own 400/413 page, or the central
   * refusing every row for one reason): kept until a pass succeeds, for status, health and metrics.
   * Optional: files written before it existed have none.
   */
  readonly notAboutRows?: NotAboutRows | null;
  /** The heartbeat's memory (src/domain/heartbeat.ts). Optional: files written before it have none. */
  readonly heartbeat?: HeartbeatMemory;
  /**
   * Passes running in which every row tried was refused for one reason (domain/refusals.ts): the
   * next pass judges a lone refusal with it. Optional: files written before it existed have none.
   */
  readonly refusedAlone?: RefusedAlone | null;
}

/** A pass stopped by an answer that was not about the rows (pos-sync-central(7)), exit 78. */
export interface NotAboutRows {
  /** Epoch ms of the pass that met it. */
  readonly at: number;
  /** The one line the pass printed: what answered (status and page title) or the shared reason. */
  readonly reason: string;
}

import type { RefusedAlone } from '../domain/refusals.js';

export const EMPTY_STATE: SavedState = { breaker: CLOSED, lastPass: null, lastSuccessAt: null };

const MAX_ERROR_CHARS = 500;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The file's text: stable key order, times as ISO 8601 UTC so a person can read it. `database`:
 * the real path of the database it belongs to, so a file shared by two databases (one
 * Sync.StateFile for two tills) is recognised instead of mixing their breakers.
 */
export function serializeState(state: SavedState, database?: string): string {
  const b = state.breaker;
  const p = state.lastPass;
  const doc = {
    version: STATE_VERSION,
    ...(database !== undefined ? { database } : {}),
    breaker: {
      state: b.state === 'halfOpen' ? 'open' : b.state, // half-open exists only inside a pass
      consecutiveFailures: b.consecutiveFailures,
      openedAt: iso(b.openedAt),
      nextProbeAt: iso(b.nextProbeAt),
      consecutiveOpens: b.consecutiveOpens,
      lastFailure: b.lastFailure === null ? null : b.lastFailure.slice(0, MAX_ERROR_CHARS),
      ...(b.state !== 'closed' && (b.outageSince ?? null) !== null ? { outageSince: iso(b.outageSince ?? null) } : {}),
    },
    lastPass:
      p === null
        ? null
        : {
            at: iso(p.at),
            exitCode: p.exitCode,
            outcome: p.outcome,
            delivered: p.delivered,
            refused: p.refused,
            durationMs: p.durationMs,
            error: p.error === null ? null : p.error.slice(0, MAX_ERROR_CHARS),
            since: iso(p.since),
            ...(p.kafkaError ? { kafkaError: p.kafkaError.slice(0, MAX_ERROR_CHARS) } : {}),
            ...(p.kafkaError && p.kafkaErrorSince ? { kafkaErrorSince: iso(p.kafkaErrorSince) } : {}),
          },
    lastSuccessAt: iso(state.lastSuccessAt),
    ...(state.notAboutRows ? { notAboutRows: { at: iso(state.notAboutRows.at), reason: state.notAboutRows.reason.slice(0, MAX_ERROR_CHARS) } } : {}),
    ...(state.heartbeat ? { heartbeat: serializeHeartbeat(state.heartbeat) } : {}),
    ...(state.refusedAlone
      ? { refusedAlone: { at: iso(state.refusedAlone.at), reason: state.refusedAlone.reason.slice(0, MAX_ERROR_CHARS), ids: state.refusedAlone.ids.slice(0, 5).map((id) => id.slice(0, 200)) } }
      : {}),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** `database`: the real path of the database the file was written for; absent in older files. */
export type ParseResult = { readonly ok: true; readonly state: SavedState; readonly database?: string } | { readonly ok: false; readonly reason: string };

class Invalid extends Error {}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown, name: string, max = 1e9): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new Invalid(`${name} is not a count`);
  return v;
}

function time(v: unknown, name: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'string' || !ISO_UTC.test(v)) throw new Invalid(`${name} is not an ISO 8601 UTC time`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new Invalid(`${name} is not a valid time`);
  return ms;
}

function textOrNull(v: unknown, name: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || v.length > MAX_ERROR_CHARS * 4) throw new Invalid(`${name} is not a text`);
  return v;
}

function record(v: unknown, name: string): Record<string, unknown> {
  if (!isRecord(v)) throw new Invalid(`${name} is not an object`);
  return v;
}

function parseBreaker(v: unknown): BreakerState {
  const b = record(v, 'breaker');
  const state = b['state'];
  if (state !== 'closed' && state !== 'open') throw new Invalid('breaker.state is neither "closed" nor "open"');
  const openedAt = time(b['openedAt'], 'breaker.openedAt');
  const nextProbeAt = time(b['nextProbeAt'], 'breaker.nextProbeAt');
  if (state === 'open' && (openedAt === null || nextProbeAt === null)) throw new Invalid('an open breaker needs openedAt and nextProbeAt');
  const outageSince = time(b['outageSince'] ?? null, 'breaker.outageSince');
  return {
    state: state satisfies BreakerMode,
    consecutiveFailures: count(b['consecutiveFailures'], 'breaker.consecutiveFailures'),
    openedAt: state === 'closed' ? null : openedAt,
    nextProbeAt: state === 'closed' ? null : nextProbeAt,
    consecutiveOpens: count(b['consecutiveOpens'], 'breaker.consecutiveOpens'),
    lastFailure: textOrNull(b['lastFailure'] ?? null, 'breaker.lastFailure'),
    ...(state === 'open' && outageSince !== null ? { outageSince } : {}),
  };
}

function duration(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid('lastPass.durationMs is not a number');
  return Math.min(1e12, Math.max(0, Math.round(v)));
}

function parsePass(v: unknown): PassSummary | null {
  if (v === null) return null;
  const p = record(v, 'lastPass');
  const at = time(p['at'], 'lastPass.at');
  if (at === null) throw new Invalid('lastPass.at is missing');
  const outcome = p['outcome'];
  if (typeof outcome !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(outcome)) throw new Invalid('lastPass.outcome is not a word');
  return {
    at,
    exitCode: count(p['exitCode'], 'lastPass.exitCode', 255),
    outcome,
    delivered: count(p['delivered'], 'lastPass.delivered'),
    refused: count(p['refused'], 'lastPass.refused'),
    // A duration is only shown: one made negative or fractional by a clock step (an older pos-sync
    // measured with the wall clock) reads as 0 instead of making the whole file "corrupt", which
    // would reset an open breaker.
    durationMs: duration(p['durationMs']),
    error: textOrNull(p['error'], 'lastPass.error'),
    // Absent in files written before it existed: the pass itself is the earliest known.
    since: time(p['since'] ?? null, 'lastPass.since') ?? at,
    ...(p['kafkaError'] ? { kafkaError: textOrNull(p['kafkaError'], 'lastPass.kafkaError') } : {}),
    ...(p['kafkaError'] && p['kafkaErrorSince'] ? { kafkaErrorSince: time(p['kafkaErrorSince'], 'lastPass.kafkaErrorSince') ?? at } : {}),
  };
}

function parseNotAboutRows(v: unknown): NotAboutRows {
  const n = record(v, 'notAboutRows');
  const at = time(n['at'], 'notAboutRows.at');
  const reason = textOrNull(n['reason'], 'notAboutRows.reason');
  if (at === null || reason === null) throw new Invalid('notAboutRows needs at and reason');
  return { at, reason };
}

function serializeHeartbeat(h: HeartbeatMemory): Record<string, unknown> {
  return { lastAt: iso(h.lastAt), verdict: h.verdict, verdictSince: iso(h.verdictSince), unsupportedUntil: iso(h.unsupportedUntil), clockOffsetMs: h.clockOffsetMs };
}

const VERDICTS: readonly Verdict[] = ['OK', 'DEGRADED', 'NOT SYNCING'];

function parseHeartbeat(v: unknown): HeartbeatMemory {
  const h = record(v, 'heartbeat');
  const verdict = h['verdict'] ?? null;
  if (verdict !== null && !VERDICTS.includes(verdict as Verdict)) throw new Invalid('heartbeat.verdict is not a verdict');
  const offset = h['clockOffsetMs'] ?? null;
  if (offset !== null && (typeof offset !== 'number' || !Number.isSafeInteger(offset))) throw new Invalid('heartbeat.clockOffsetMs is not a whole number');
  return {
    lastAt: time(h['lastAt'] ?? null, 'heartbeat.lastAt'),
    verdict: verdict as Verdict | null,
    verdictSince: time(h['verdictSince'] ?? null, 'heartbeat.verdictSince'),
    unsupportedUntil: time(h['unsupportedUntil'] ?? null, 'heartbeat.unsupportedUntil'),
    clockOffsetMs: offset as number | null,
  };
}

function parseRefusedAlone(v: unknown): RefusedAlone {
  const n = record(v, 'refusedAlone');
  const at = time(n['at'], 'refusedAlone.at');
  const reason = textOrNull(n['reason'], 'refusedAlone.reason');
  const ids = n['ids'];
  if (at === null || reason === null || !Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new Invalid('refusedAlone needs at, reason and ids');
  return { at, reason, ids: ids.slice(0, 5) as string[] };
}

/**
 * The state in a file's text, or why it is not a valid state file. Never throws, whatever the
 * bytes (decode them as UTF-8 first; a byte-order mark is allowed). Unknown keys are ignored so a
 * later release of the same version may add one.
 */
export function parseState(text: string): ParseResult {
  try {
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (body.trim() === '') return { ok: false, reason: 'the file is empty' };
    if (body.length > MAX_STATE_BYTES) return { ok: false, reason: 'the file is too large to be a state file' };
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      return { ok: false, reason: 'the file is not valid JSON (cut short by a crash?)' };
    }
    const d = record(doc, 'the document');
    if (d['version'] !== STATE_VERSION) {
      return { ok: false, reason: `version ${JSON.stringify(d['version'] ?? null)?.slice(0, 20)} is not ${STATE_VERSION}` };
    }
    const database = d['database'];
    if (database !== undefined && (typeof database !== 'string' || database.length > 4096)) throw new Invalid('database is not a path');
    return {
      ok: true,
      ...(database !== undefined ? { database } : {}),
      state: {
        breaker: parseBreaker(d['breaker']),
        lastPass: parsePass(d['lastPass'] ?? null),
        lastSuccessAt: time(d['lastSuccessAt'] ?? null, 'lastSuccessAt'),
        ...(d['notAboutRows'] ? { notAboutRows: parseNotAboutRows(d['notAboutRows']) } : {}),
        ...(d['heartbeat'] ? { heartbeat: parseHeartbeat(d['heartbeat']) } : {}),
        ...(d['refusedAlone'] ? { refusedAlone: parseRefusedAlone(d['refusedAlone']) } : {}),
      },
    };
  } catch (err) {
    // Invalid from the checks above; anything else (a stack overflow on absurd nesting) alike.
    return { ok: false, reason: err instanceof Invalid ? err.message : 'the file cannot be read as a state file' };
  }
}

/**
 * Whether a pass's new state is worth an fsync and a rename. A pass that did something (sent a
 * request, changed a row) always saves. A quiet pass — nothing pending, or refused by an open
 * breaker — runs every 10 s all day, so it saves only when something a reader would act on
 * changed (breaker, outcome, exit code, counts, error) or when the saved pass is older than
 * `refreshMs`; the times of the last pass and last success are then at most that stale.
 */
export function worthSaving(prev: SavedState, next: SavedState, quiet: boolean, now: number, refreshMs: number): boolean {
  if (!quiet) return true;
  if (serializeBreaker(prev) !== serializeBreaker(next)) return true;
  const a = prev.lastPass;
  const b = next.lastPass;
  if (a === null || b === null) return a !== b;
  if (a.exitCode !== b.exitCode || a.outcome !== b.outcome || a.delivered !== b.delivered || a.refused !== b.refused || a.error !== b.error) return true;
  if ((a.kafkaError ?? null) !== (b.kafkaError ?? null)) return true;
  if ((prev.lastSuccessAt === null) !== (next.lastSuccessAt === null)) return true;
  if ((prev.notAboutRows ?? null)?.reason !== (next.notAboutRows ?? null)?.reason) return true;
  if (JSON.stringify(prev.refusedAlone ?? null) !== JSON.stringify(next.refusedAlone ?? null)) return true;
  return now - a.at >= refreshMs || now < a.at;
}

function serializeBreaker(s: SavedState): string {
  const b = s.breaker;
  return JSON.stringify([b.state === 'halfOpen' ? 'open' : b.state, b.consecutiveFailures, b.openedAt, b.nextProbeAt, b.consecutiveOpens, b.lastFailure, b.outageSince ?? null]);
}
