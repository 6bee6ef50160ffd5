// The reference head office's memory of its tills: the latest heartbeat of every till plus a
// short history per till, both bounded (README "The fleet"), and the view the fleet page, its
// JSON and its metrics are drawn from. Pure data: no HTTP here (fleet-page.ts renders it).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HeartbeatDocument } from '../../src/heartbeat/document.js';
import { validateSchema, type Schema } from './json-schema.js';

/** What the page shows a till as, worst first. */
export const FLEET_VERDICTS = ['NOT SYNCING', 'NOT REPORTING', 'DEGRADED', 'OK'] as const;
export type FleetVerdict = (typeof FLEET_VERDICTS)[number];

/** The heartbeat as pos-sync sends it (man/schemas/heartbeat.schema.json), the fields used here. */
export interface Heartbeat {
  readonly schemaVersion: 1;
  readonly sentAt: string;
  readonly version: string;
  readonly storeId: string;
  readonly tillId: string;
  readonly verdict: 'OK' | 'DEGRADED' | 'NOT SYNCING';
  readonly verdictSince: string;
  readonly headline: string;
  readonly problems: readonly string[];
  readonly pending: Record<'transaction' | 'inventory', { readonly pending: number; readonly oldestPendingAt: string | null }>;
  readonly oldestPendingAgeSeconds: number | null;
  readonly deadLettered: number;
  readonly breaker: { readonly state: string };
  readonly lastSuccessAt: string | null;
  readonly lastPass: { readonly at: string; readonly exitCode: number; readonly outcome: string } | null;
  readonly kafka: { readonly enabled: boolean; readonly backlog: number | null; readonly trouble: string | null };
  readonly disk: { readonly freeBytes: number | null; readonly totalBytes: number | null };
  readonly clockOffsetMs: number | null;
  readonly configHash: string;
}

// Its own type, not pos-sync's: a central reads these fields of any till's schema-checked body; what pos-sync sends must still fit them (checked at compile time).
type Fits<Sent extends Heartbeat> = Sent;
export type SentByPosSync = Fits<HeartbeatDocument>;

/** One heartbeat as the central received it. */
export interface Received {
  readonly at: number;
  readonly heartbeat: Heartbeat;
}

export interface FleetSettings {
  /** A till silent longer than this is NOT REPORTING (default 5 min). */
  readonly silenceMs: number;
  /** Heartbeats kept per till, the latest included (default 20). */
  readonly historySize: number;
  /** Tills remembered at most (default 10,000); past it, the till silent longest is forgotten. */
  readonly maxTills: number;
}

export const DEFAULT_FLEET: FleetSettings = { silenceMs: 5 * 60_000, historySize: 20, maxTills: 10_000 };

/** A till on the page. */
export interface FleetRow {
  readonly storeId: string;
  readonly tillId: string;
  readonly shown: FleetVerdict;
  /** The verdict the till itself last reported. */
  readonly reported: Heartbeat['verdict'];
  /** ISO: since when the shown verdict holds (silent: the last heartbeat). */
  readonly since: string;
  readonly lastHeartbeatAt: string;
  readonly silentSeconds: number;
  readonly pending: number;
  readonly oldestPendingAgeSeconds: number | null;
  readonly deadLettered: number;
  readonly version: string;
  readonly clockOffsetMs: number | null;
  readonly headline: string;
}

/** A heartbeat the central turned away for its credentials: who it claimed to be. */
export interface RefusedHeartbeat {
  readonly storeId: string;
  readonly tillId: string | null;
  readonly at: string;
  readonly status: number;
  readonly count: number;
}

export interface FleetFilter {
  readonly verdicts?: readonly FleetVerdict[];
  readonly store?: string;
}

const RANK: Readonly<Record<FleetVerdict, number>> = { 'NOT SYNCING': 0, 'NOT REPORTING': 1, DEGRADED: 2, OK: 3 };
/** Refused heartbeats remembered (the latest per claimed store and till). */
const MAX_REFUSED = 200;

let schema: Schema | undefined;

/** man/schemas/heartbeat.schema.json, from the source tree or beside the compiled one. */
export function heartbeatSchema(): Schema {
  if (schema) return schema;
  for (const up of ['../../../man/schemas/', '../../man/schemas/']) {
    try {
      schema = JSON.parse(readFileSync(fileURLToPath(new URL(`${up}heartbeat.schema.json`, import.meta.url)), 'utf8')) as Schema;
      return schema;
    } catch {
      // the other layout
    }
  }
  throw new Error('central: man/schemas/heartbeat.schema.json not found beside the central');
}

/** Why a body is not a heartbeat (schema errors, at most a few), or the heartbeat. */
export function checkHeartbeat(body: unknown): Heartbeat | string[] {
  const errors = validateSchema(heartbeatSchema(), body);
  return errors.length === 0 ? (body as Heartbeat) : errors.slice(0, 5);
}

const key = (store: string, till: string): string => `${store}\u0000${till}`;

export class FleetBook {
  /** Per till, its last heartbeats, oldest first; Map order = least recently heard first. */
  private readonly tills = new Map<string, Received[]>();
  private readonly refused = new Map<string, RefusedHeartbeat>();
  heartbeats = 0;
  refusedTotal = 0;

  constructor(readonly settings: FleetSettings) {}

  get size(): number {
    return this.tills.size;
  }

  receive(heartbeat: Heartbeat, at: number): void {
    this.heartbeats++;
    const k = key(heartbeat.storeId, heartbeat.tillId);
    const history = this.tills.get(k) ?? [];
    // Re-inserted, so the Map's first entry is always the till heard from longest ago.
    this.tills.delete(k);
    history.push({ at, heartbeat });
    if (history.length > this.settings.historySize) history.splice(0, history.length - this.settings.historySize);
    this.tills.set(k, history);
    if (this.tills.size > this.settings.maxTills) this.tills.delete(this.tills.keys().next().value!);
  }

  refuse(storeId: string, tillId: string | null, status: number, at: number): void {
    this.refusedTotal++;
    const k = key(storeId, tillId ?? '');
    const before = this.refused.get(k);
    this.refused.delete(k);
    this.refused.set(k, { storeId, tillId, status, at: new Date(at).toISOString(), count: (before?.count ?? 0) + 1 });
    if (this.refused.size > MAX_REFUSED) this.refused.delete(this.refused.keys().next().value!);
  }

  refusedList(): RefusedHeartbeat[] {
    return [...this.refused.values()].reverse();
  }

  history(store: string, till: string): Received[] | null {
    return this.tills.get(key(store, till))?.slice().reverse() ?? null;
  }

  /** Every till, worst first (then the oldest pending row, then store and till), filtered. */
  rows(now: number, filter: FleetFilter = {}): FleetRow[] {
    const out: FleetRow[] = [];
    for (const history of this.tills.values()) {
      const last = history[history.length - 1]!;
      const h = last.heartbeat;
      if (filter.store !== undefined && h.storeId !== filter.store) continue;
      const row = rowOf(last, now, this.settings.silenceMs);
      if (filter.verdicts !== undefined && !filter.verdicts.includes(row.shown)) continue;
      out.push(row);
    }
    return out.sort(
      (a, b) =>
        RANK[a.shown] - RANK[b.shown] ||
        (b.oldestPendingAgeSeconds ?? -1) - (a.oldestPendingAgeSeconds ?? -1) ||
        compare(a.storeId, b.storeId) ||
        compare(a.tillId, b.tillId),
    );
  }

  stores(): string[] {
    return [...new Set([...this.tills.values()].map((h) => h[0]!.heartbeat.storeId))].sort(compare);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function rowOf(last: Received, now: number, silenceMs: number): FleetRow {
  const h = last.heartbeat;
  const silentMs = Math.max(0, now - last.at);
  const silent = silentMs > silenceMs;
  // A silent till's own figures only grow older: its pending age is counted on from its heartbeat.
  const age = h.oldestPendingAgeSeconds === null ? null : h.oldestPendingAgeSeconds + (silent ? Math.floor(silentMs / 1000) : 0);
  return {
    storeId: h.storeId,
    tillId: h.tillId,
    shown: silent ? 'NOT REPORTING' : h.verdict,
    reported: h.verdict,
    since: silent ? new Date(last.at).toISOString() : h.verdictSince,
    lastHeartbeatAt: new Date(last.at).toISOString(),
    silentSeconds: Math.floor(silentMs / 1000),
    pending: h.pending.transaction.pending + h.pending.inventory.pending,
    oldestPendingAgeSeconds: age,
    deadLettered: h.deadLettered,
    version: h.version,
    clockOffsetMs: h.clockOffsetMs,
    headline: h.headline,
  };
}
