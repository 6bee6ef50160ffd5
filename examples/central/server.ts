// The reference central store API: pos-sync-central(7) seen from the central's side, with fault injection,
// for the demo, the integration and end-to-end tests, the benchmark and the torture tests.
// Import startCentral() to run it in-process, or run this file as a program (see README.md).
// It only ever listens on 127.0.0.1.

import http from 'node:http';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import {
  decideFault,
  FaultsError,
  mergeFaults,
  NO_FAULTS,
  retryAfterHeader,
  seededRandom,
  type FaultAction,
  type Faults,
  type FaultsUpdate,
} from './faults.js';
import { parseJsonBody, readBody } from './body.js';
import { IdSet, idsSignature } from './ids.js';
import { CentralStore, type StoredBatch } from './store.js';
import { occurredMs } from './summary.js';
import { FleetHeartbeats, type FleetOptions } from './heartbeat.js';
import { checkBatchEvent, checkSingleEvent } from './validate.js';

export { NO_FAULTS, type Faults, type FaultsUpdate, type ScriptStep } from './faults.js';

export const EVENTS_PATH = '/api/inventory/events';
export const HEALTH_PATH = '/health';
export const SUMMARY_PATH = '/api/inventory/summary';
export { HEARTBEAT_PATH } from './heartbeat.js';
/** The most rows one listing answers; a larger range gets 422 (ask for a smaller one). */
export const MAX_LISTED_ROWS = 10_000;
const HOST = '127.0.0.1';
const REFUSED = 'refused by the central (refuseIds)';

export interface CentralOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** SQLite file for the accepted events; `:memory:` (the default) keeps them in memory. */
  dbPath?: string;
  /** Faults from the start; setFaults() changes them later. */
  faults?: FaultsUpdate;
  /** Seed of the random source that picks faults (default 1). */
  seed?: number;
  /** A larger request body gets 413 (default 64 MiB). */
  maxBodyBytes?: number;
  /** How many recent requests requests() remembers (default 1000). */
  requestLogSize?: number;
  /** Clock for Retry-After dates and receipt times (default Date.now). */
  now?: () => number;
  /** Called once per answered POST (the program's --verbose uses it). */
  onRequest?: (record: RequestRecord) => void;
  /** Offer the summary endpoint (default true); false: a central without it (404). */
  summary?: boolean;
  /** The heartbeat endpoint and the fleet view (README "The fleet"); `heartbeat: false`: a central without them (404). */
  fleet?: FleetOptions;
}

/** What the central saw of one request. Secrets are never kept: only a token's fingerprint. */
export interface RequestRecord {
  readonly seq: number;
  readonly at: string;
  readonly method: string;
  readonly path: string;
  /** The status answered, or what happened instead; null while a slow answer is pending. */
  status: number | 'dropped' | 'hung' | null;
  /** The injected fault that decided the answer, or null. */
  fault: string | null;
  readonly idempotencyKey: string | null;
  readonly storeId: string | null;
  readonly contentType: string | null;
  readonly authorization: 'none' | 'bearer' | 'other';
  /** sha256 of the bearer token, first 16 hex digits (see tokenFingerprint()). */
  readonly tokenFingerprint: string | null;
  /** Whether the bearer token equals requireToken; null when no token is required. */
  readonly tokenMatched: boolean | null;
  /** Every request header, lower-case; the Authorization value is replaced by "[redacted]". */
  readonly headers: Readonly<Record<string, string>>;
  bodyBytes: number;
  format: 'batch' | 'single' | null;
  /** Event ids in the body, when it got as far as being parsed. */
  ids: readonly string[] | null;
}

export interface StoredEvent {
  readonly id: string;
  /** How many accepted requests carried this id (1 = never repeated). */
  readonly receipts: number;
  readonly event: unknown;
  readonly receivedAt: string;
  readonly format: 'batch' | 'single';
  readonly idempotencyKey: string | null;
  readonly storeHeader: string | null;
}

export interface CentralStats {
  /** POSTs to the events endpoint, whatever the answer. */
  posts: number;
  healthChecks: number;
  /** GETs of the summary endpoint (a listing included). */
  summaryRequests: number;
  /** POST answers by status ("200", "503"…), plus "dropped" and "hung". */
  byStatus: Record<string, number>;
  /** Event receipts in accepted requests, repeats included. */
  eventsReceived: number;
  /** Distinct ids stored. */
  eventsStored: number;
  /** Receipts of an id the central already had (a re-send after a lost answer). */
  duplicateReceipts: number;
  /** Ids received more than once. */
  duplicateIds: number;
  /** Events that carried an id already held with a different content hash: edits, stored over the old. */
  eventsUpdated: number;
  /** Events refused, by 422 or in a `rejected` list. */
  eventsRejected: number;
  emptyBatches: number;
  missingIdempotencyKey: number;
  missingStoreHeader: number;
  /** One Idempotency-Key seen with two different sets of ids. */
  idempotencyKeyConflicts: number;
  /** One set of ids seen under two different Idempotency-Keys. */
  idempotencyKeyChanges: number;
  /** Time spent handling POSTs once their body had arrived, in ms, injected delays excluded:
   *  what the central itself costs in a benchmark. */
  processingMs: number;
  /** The part of processingMs before accepted requests were answered (their SQLite write comes
   *  after the answer): what the central adds to a client's wait for a 2xx. */
  answerMs: number;
  lastRequest: RequestRecord | null;
  faults: Faults;
}

export interface RunningCentral {
  /** http://127.0.0.1:PORT, the base for pos-sync's --central-url. */
  readonly url: string;
  readonly port: number;
  readonly eventsUrl: string;
  readonly healthUrl: string;
  close(): Promise<void>;
  /** Changes some faults (the rest stay); `seed` restarts the random sequence. Returns them all. */
  setFaults(update: FaultsUpdate): Faults;
  /** Back to the faults the central started with. */
  resetFaults(): Faults;
  faults(): Faults;
  stats(): CentralStats;
  /** Distinct ids stored, in the order they first arrived. */
  receivedIds(): string[];
  /** Receipts per id (accepted requests only). */
  receipts(): ReadonlyMap<string, number>;
  /** Ids received more than once. */
  duplicateIds(): string[];
  /** The stored events, in arrival order. */
  events(offset?: number, limit?: number): StoredEvent[];
  /** The most recent requests to the events endpoint, oldest first. */
  requests(limit?: number): RequestRecord[];
  /** Forgets stored events, receipts, counters and the request log; faults stay. */
  reset(): void;
  /** Deletes stored events behind the clients' back (a central that lost them); returns the ids found. */
  forget(ids: readonly string[]): string[];
  /** Changes a stored transaction's totalAmount behind the clients' back; returns whether it was found. */
  alterAmount(id: string, totalAmount: string): boolean;
  /** The fleet's memory of heartbeats (README "The fleet"). */
  readonly fleet: FleetHeartbeats;
}

/** The fingerprint the central records for a bearer token, so tests can compare without it. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** CentralOptions with the defaults filled in. */
interface Settings {
  dbPath: string;
  seed: number;
  maxBodyBytes: number;
  requestLogSize: number;
  now: () => number;
  faults: FaultsUpdate | undefined;
  onRequest: ((record: RequestRecord) => void) | undefined;
  summary: boolean;
  fleet: FleetOptions;
}

/** What the central answers to a processed request, and the write that makes it stick. */
interface Outcome {
  status: number;
  body: unknown;
  /** Writes the accepted events to SQLite; must run in the same tick (the body may be reused). */
  persist?: () => void;
}

interface Rejection {
  id: string | null;
  index: number;
  error: string;
}

class Central {
  private faultsNow: Faults;
  private readonly startFaults: Faults;
  private random: () => number;
  private readonly store: CentralStore;
  /** Every id stored: the authority for deduplication (SQLite is written after the answer). */
  private readonly ids = new IdSet();
  /** The same ids in first-arrival order. */
  private idsInOrder: string[] = [];
  /** Receipts beyond the first (repeats of the same content), for the few ids that came more than once. */
  private readonly extraReceipts = new Map<string, number>();
  private readonly keyToIds = new Map<string, string>();
  private readonly idsToKey = new Map<string, string>();
  private log: RequestRecord[] = [];
  private requestSeq = 0;
  private counters = emptyCounters();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** faultsNow.refuseIds as a set, rebuilt whenever the faults change. */
  private refuseSet: ReadonlySet<string>;
  readonly server: http.Server;
  readonly fleet: FleetHeartbeats;
  private closed = false;

  constructor(private readonly options: Settings) {
    this.startFaults = mergeFaults(NO_FAULTS, options.faults ?? {});
    this.faultsNow = this.startFaults;
    this.refuseSet = new Set(this.startFaults.refuseIds);
    this.random = seededRandom(options.faults?.seed ?? options.seed);
    this.store = new CentralStore(options.dbPath);
    this.fleet = new FleetHeartbeats(options.fleet, options.now);
    this.loadFromStore();
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((error: unknown) => this.internalError(res, error));
    });
  }

  /** A database file from an earlier run: its ids and receipts count as received. */
  private loadFromStore(): void {
    const stored = this.store.events();
    this.idsInOrder = stored.map((row) => row.id);
    for (const row of stored) this.ids.add(row.id, contentHashOf(row.event));
    for (const [id, extra] of this.store.extraReceipts()) this.extraReceipts.set(id, extra);
    const c = this.counters;
    c.eventsStored = this.ids.size;
    c.duplicateIds = this.extraReceipts.size;
    for (const extra of this.extraReceipts.values()) c.duplicateReceipts += extra;
    c.eventsReceived = c.eventsStored + c.duplicateReceipts;
  }

  // --- routing ---

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://central');
    if (url.pathname === EVENTS_PATH) {
      if (req.method === 'POST') return this.postEvents(req, res, url.pathname);
      return sendJson(res, 405, { error: `use POST on ${EVENTS_PATH}` }, { allow: 'POST' });
    }
    if (url.pathname === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) return this.health(res);
    if (url.pathname === SUMMARY_PATH && this.options.summary) {
      if (req.method === 'GET') return this.summary(req, res, url);
      return sendJson(res, 405, { error: `use GET on ${SUMMARY_PATH}` }, { allow: 'GET' });
    }
    // The fleet (heartbeat.ts): the heartbeat endpoint, judged like the events endpoint.
    if (this.fleet.handles(url.pathname)) {
      return this.fleet.route(req, res, url, { down: this.faultsNow.down, tokenOk: this.faultsNow.requireToken === null || bearerToken(req) === this.faultsNow.requireToken });
    }
    if (url.pathname.startsWith('/_admin/')) return this.admin(req, res, url);
    return sendJson(res, 404, { error: `no route ${req.method ?? ''} ${url.pathname}` });
  }

  private health(res: http.ServerResponse): void {
    this.counters.healthChecks++;
    if (this.faultsNow.down) return sendJson(res, 503, { status: 'down' });
    if (this.faultsNow.hangHealth) return; // never answered; close() ends the connection
    if (this.faultsNow.healthBody !== 'ok') return this.badBody(res, 200, JSON.stringify({ status: 'ok' }), this.faultsNow.healthBody);
    sendJson(res, 200, { status: 'ok' });
  }

  // --- the summary endpoint (pos-sync reconcile; see summary.ts) ---

  private summary(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    this.counters.summaryRequests++;
    if (this.faultsNow.down) return sendJson(res, 503, { error: 'down' });
    const required = this.faultsNow.requireToken;
    if (required !== null && bearerToken(req) !== required) return sendJson(res, 401, { error: 'missing or wrong Authorization: Bearer token' });
    const store = url.searchParams.get('store');
    const entity = url.searchParams.get('entity');
    const from = occurredMs(url.searchParams.get('from'));
    const to = occurredMs(url.searchParams.get('to'));
    const list = url.searchParams.get('list');
    // Optional: the till whose rows are asked for (pos-sync sends Sync.TillId); absent, the whole store.
    const till = url.searchParams.get('till');
    if (!store) return sendJson(res, 400, { error: 'store is required' });
    if (till === '') return sendJson(res, 400, { error: 'till, when given, must not be empty' });
    if (entity !== 'transaction' && entity !== 'inventory') return sendJson(res, 400, { error: 'entity must be "transaction" or "inventory"' });
    if (from === null || to === null || !(from < to)) return sendJson(res, 400, { error: 'from and to must be ISO 8601 times with a zone, from before to' });
    if (list !== null && list !== 'ids') return sendJson(res, 400, { error: 'list must be "ids"' });
    const answer = this.store.summary(store, till, entity, from, to, list === 'ids', MAX_LISTED_ROWS);
    if (answer === 'tooMany') return sendJson(res, 422, { error: `more than ${MAX_LISTED_ROWS} rows in the range: ask for a smaller one` });
    sendJson(res, 200, answer);
  }

  // --- the events endpoint ---

  private async postEvents(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> {
    const record = this.newRecord(req, path);
    this.counters.posts++;
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === null) {
      const error = `body larger than ${this.options.maxBodyBytes} bytes`;
      return this.answer(record, res, 0, 413, { error }, { connection: 'close' });
    }
    record.bodyBytes = body.length;
    const started = performance.now();
    try {
      this.handleBody(req, res, record, body, started);
    } finally {
      this.counters.processingMs += performance.now() - started;
    }
  }

  /** Synchronous on purpose: `body` may be the connection's scratch buffer, reused after this. */
  private handleBody(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    record: RequestRecord,
    body: Buffer,
    started: number,
  ): void {
    const { action, delayMs } = this.decide();
    if (action.kind === 'status') {
      record.fault = action.fault;
      const headers: Record<string, string> = {};
      const retryAfter = action.status === 429 ? retryAfterHeader(this.faultsNow, this.options.now()) : null;
      if (retryAfter !== null) headers['retry-after'] = retryAfter;
      const error = `injected ${action.fault} fault`;
      return this.answer(record, res, delayMs, action.status, { error }, headers);
    }
    if (action.kind === 'hang') return this.hang(record);
    if (action.kind === 'drop' && !action.afterStore) return this.drop(record, res, delayMs, 'drop');
    const echoAt = this.faultsNow.echoAuthorizationAt;
    if (echoAt !== null) {
      // A proxy's error page that quotes the request's headers, the credential at a chosen offset.
      record.fault = 'echo-authorization';
      const page = `${'x'.repeat(echoAt)}Authorization: ${req.headers.authorization ?? ''} (echoed)`;
      return this.answer(record, res, delayMs, 502, page, { 'content-type': 'text/plain' });
    }

    const checked = this.checkRequest(req, body);
    if (!checked.ok) return this.answer(record, res, delayMs, checked.status, checked.body);
    const outcome = Array.isArray(checked.parsed)
      ? this.acceptBatch(record, checked.parsed, body)
      : this.acceptSingle(record, checked.parsed as Record<string, unknown>, body);
    if (outcome.status !== 200) return this.answer(record, res, delayMs, outcome.status, outcome.body);
    this.answerAccepted(record, res, delayMs, action, outcome.body);
    this.counters.answerMs += performance.now() - started;
    // The answer is on its way before the SQLite write, in the same tick: no other request or
    // admin query can run in between, so nobody sees the difference, and the client's next batch
    // overlaps with this write. (The receipts map, which decides duplicates, is already updated.)
    outcome.persist?.();
  }

  /** Draws twice for every request that gets here, so faults follow the seed and the count. */
  private decide(): { action: FaultAction; delayMs: number } {
    const decision = decideFault(this.faultsNow, this.random(), this.random());
    if (decision.scripted) {
      this.faultsNow = Object.freeze({ ...this.faultsNow, script: this.faultsNow.script.slice(1) });
    }
    return decision;
  }

  /** Authorisation, content type and JSON shape; the parsed body when it may be processed. */
  private checkRequest(
    req: http.IncomingMessage,
    body: Buffer,
  ): { ok: true; parsed: object } | { ok: false; status: number; body: unknown } {
    // Judged against the token required now, not when the request arrived.
    const required = this.faultsNow.requireToken;
    if (required !== null && bearerToken(req) !== required) {
      return { ok: false, status: 401, body: { error: 'missing or wrong Authorization: Bearer token' } };
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      return { ok: false, status: 415, body: { error: `Content-Type must be application/json, got "${contentType}"` } };
    }
    let parsed: unknown;
    try {
      parsed = parseJsonBody(body);
    } catch {
      return { ok: false, status: 400, body: { error: 'body is not JSON' } };
    }
    if (typeof parsed !== 'object' || parsed === null) {
      return { ok: false, status: 400, body: { error: 'body must be a JSON array of events or one event object' } };
    }
    return { ok: true, parsed };
  }

  private acceptBatch(record: RequestRecord, events: unknown[], body: Buffer): Outcome {
    record.format = 'batch';
    const ids = events.map((event) => idOf(event));
    record.ids = ids.filter((id): id is string => id !== null);
    const faults = this.faultsNow;
    if (record.idempotencyKey === null) this.counters.missingIdempotencyKey++;
    else this.trackIdempotencyKey(record.idempotencyKey, record.ids);
    if (faults.failIds.length > 0 && record.ids.some((id) => faults.failIds.includes(id))) {
      record.fault = 'fail-ids';
      return { status: faults.failIdsStatus, body: { error: 'internal server error (failIds)' } };
    }
    if (faults.maxBatch !== null && events.length > faults.maxBatch) {
      const error = `batch of ${events.length} events is larger than the limit of ${faults.maxBatch}`;
      return { status: 413, body: { error } };
    }
    if (events.length === 0) this.counters.emptyBatches++;
    const rejected = this.findRejections(events, ids);
    if (rejected.length > 0 && (!faults.partialRejects || rejected.some((r) => r.id === null))) {
      this.counters.eventsRejected += rejected.length;
      return { status: 422, body: { error: `${rejected.length} of ${events.length} events refused`, rejected } };
    }
    this.counters.eventsRejected += rejected.length;
    const refusedIndexes = new Set(rejected.map((r) => r.index));
    // Every accepted event has an id: checkBatchEvent refuses one without.
    const kept = <T>(list: T[]): T[] => (refusedIndexes.size === 0 ? list : list.filter((_, i) => !refusedIndexes.has(i)));
    const accepted = kept(events);
    const acceptedIds = kept(ids) as string[];
    const { fresh, repeated, edited } = this.countReceipts(acceptedIds, accepted.map(contentHashOf));
    // The raw body is stored as is when every event in it is new: no re-serialising on the hot path.
    const allNew = fresh.length === events.length;
    const eventsJson = fresh.length === 0 ? null : allNew ? body : JSON.stringify(fresh.map((i) => accepted[i]));
    const stored = this.toStore(record, 'batch', eventsJson, fresh.length, repeated);
    const answer: Record<string, unknown> = { accepted: accepted.length, duplicates: repeated.length };
    if (edited.length > 0) answer['updated'] = edited.length;
    if (rejected.length > 0) answer['rejected'] = rejected.map((r) => ({ id: r.id, error: r.error }));
    const persist = (): void => {
      this.store.record(stored);
      // An edit replaces what is stored for its id (rare: a row the POS changed after sending).
      for (const i of edited) this.store.rewrite([acceptedIds[i]!], () => accepted[i] as Record<string, unknown>);
    };
    return { status: 200, body: answer, persist };
  }

  private findRejections(events: unknown[], ids: ReadonlyArray<string | null>): Rejection[] {
    const refuse = this.refuseSet;
    const rejected: Rejection[] = [];
    for (let index = 0; index < events.length; index++) {
      const problems = checkBatchEvent(events[index]);
      const id = ids[index] ?? null;
      if (problems.length > 0) rejected.push({ id, index, error: problems.join('; ') });
      else if (refuse.size > 0 && id !== null && refuse.has(id)) rejected.push({ id, index, error: this.faultsNow.refuseReason ?? REFUSED });
    }
    return rejected;
  }

  private acceptSingle(record: RequestRecord, event: Record<string, unknown>, body: Buffer): Outcome {
    record.format = 'single';
    const id = record.idempotencyKey;
    // In the single format the Idempotency-Key is the only deduplication key there is.
    if (id === null || id === '') {
      this.counters.missingIdempotencyKey++;
      return { status: 428, body: { error: 'a single event needs an Idempotency-Key header (the row id)' } };
    }
    record.ids = [id];
    if (this.faultsNow.failIds.includes(id)) {
      record.fault = 'fail-ids';
      return { status: this.faultsNow.failIdsStatus, body: { error: 'internal server error (failIds)' } };
    }
    const problems = checkSingleEvent(event);
    if (problems.length === 0 && this.refuseSet.has(id)) problems.push(this.faultsNow.refuseReason ?? REFUSED);
    if (problems.length > 0) {
      this.counters.eventsRejected++;
      const error = problems.join('; ');
      if (this.faultsNow.partialRejects) {
        return { status: 200, body: { accepted: 0, duplicates: 0, rejected: [{ id, error }] } };
      }
      return { status: 422, body: { error: '1 of 1 events refused', rejected: [{ id, index: 0, error }] } };
    }
    const { fresh, repeated } = this.countReceipts([id]);
    const eventsJson = fresh.length === 1 ? `[${body.toString('utf8')}]` : null;
    const stored = this.toStore(record, 'single', eventsJson, fresh.length, repeated);
    const answer = { accepted: 1, duplicates: repeated.length };
    return { status: 200, body: answer, persist: () => this.store.record(stored) };
  }

  private toStore(
    record: RequestRecord,
    format: StoredBatch['format'],
    eventsJson: StoredBatch['eventsJson'],
    count: number,
    repeatedIds: string[],
  ): StoredBatch {
    const receivedAt = new Date(this.options.now()).toISOString();
    const { idempotencyKey, storeId: storeHeader } = record;
    return { receivedAt, format, idempotencyKey, storeHeader, eventsJson, count, repeatedIds };
  }

  /**
   * Counts one receipt per id; returns the indexes of first receipts, the repeated ids, and the
   * indexes of edits: an id already held whose event carries a different content hash (man page,
   * central API) is an update of what is stored, not a duplicate.
   */
  private countReceipts(ids: readonly string[], hashes: ReadonlyArray<string | undefined> = []): { fresh: number[]; repeated: string[]; edited: number[] } {
    const fresh: number[] = [];
    const repeated: string[] = [];
    const edited: number[] = [];
    const c = this.counters;
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index] as string;
      const hash = hashes[index];
      if (this.ids.add(id, hash)) {
        fresh.push(index);
        this.idsInOrder.push(id);
      } else if (hash !== undefined && this.ids.hashOf(id) !== hash) {
        this.ids.setHash(id, hash);
        edited.push(index);
        c.eventsUpdated++;
      } else {
        const extra = this.extraReceipts.get(id) ?? 0;
        this.extraReceipts.set(id, extra + 1);
        repeated.push(id);
        c.duplicateReceipts++;
        if (extra === 0) c.duplicateIds++;
      }
    }
    c.eventsReceived += ids.length;
    c.eventsStored += fresh.length;
    return { fresh, repeated, edited };
  }

  /** The key must name one set of ids, and one set of ids must keep its key across retries. */
  private trackIdempotencyKey(key: string, ids: readonly string[]): void {
    const signature = idsSignature(ids);
    const knownIds = this.keyToIds.get(key);
    if (knownIds === undefined) this.keyToIds.set(key, signature);
    else if (knownIds !== signature) this.counters.idempotencyKeyConflicts++;
    const knownKey = this.idsToKey.get(signature);
    if (knownKey === undefined) this.idsToKey.set(signature, key);
    else if (knownKey !== key) this.counters.idempotencyKeyChanges++;
  }

  /** Faults that strike after the events are stored: the client may not learn that they were. */
  private answerAccepted(
    record: RequestRecord,
    res: http.ServerResponse,
    delayMs: number,
    action: FaultAction,
    answer: unknown,
  ): void {
    if (action.kind === 'drop') return this.drop(record, res, delayMs, 'drop-after-store');
    if (action.kind !== 'bad-body') {
      const status = this.faultsNow.successStatus;
      return this.answer(record, res, delayMs, status, status === 204 ? undefined : answer);
    }
    record.fault = action.body;
    const text = JSON.stringify(answer);
    if (action.body === 'truncated') {
      // Promise the whole body, send half, and cut the connection.
      return this.later(delayMs, () => {
        this.finish(record, 200);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, Math.floor(text.length / 2)), () => res.destroy());
      });
    }
    if (action.body === 'not-json') {
      return this.answer(record, res, delayMs, 200, '<html><body>OK</body></html>');
    }
    if (action.body === 'oversize') {
      // A whole, valid JSON answer, padded past the client's 1 MiB cap.
      const padded = JSON.stringify({ ...(answer as object), padding: 'p'.repeat(1_100_000) });
      return this.answer(record, res, delayMs, 200, padded, { 'content-type': 'application/json' });
    }
    if (action.body === 'stall-body' || action.body === 'drip-body') {
      return this.later(delayMs, () => {
        this.finish(record, 200);
        this.badBody(res, 200, text, action.body === 'stall-body' ? 'stall' : 'drip');
      });
    }
    const rejected = [null, 'bogus', { error: 'no id' }, { id: 12345 }, { id: 'NOT-IN-THIS-BATCH', error: 'unknown id' }];
    const malformed = { ...(answer as object), rejected };
    return this.answer(record, res, delayMs, 200, malformed);
  }

  // --- answering ---

  /**
   * Status line and headers promising `text`, then half of it and a stall (close() ends it), or
   * the body one byte every 250 ms: a peer that outlasts any deadline.
   */
  private badBody(res: http.ServerResponse, status: number, text: string, how: 'stall' | 'drip'): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.flushHeaders();
    if (how === 'stall') {
      res.write(text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    let sent = 0;
    const timer = setInterval(() => {
      if (sent >= text.length || res.destroyed) {
        clearInterval(timer);
        this.timers.delete(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(text[sent++]!);
    }, 250);
    this.timers.add(timer);
    res.once('close', () => {
      clearInterval(timer);
      this.timers.delete(timer);
    });
  }

  /** Sends `body` (JSON unless already a string; nothing when undefined) after `delayMs`. */
  private answer(
    record: RequestRecord,
    res: http.ServerResponse,
    delayMs: number,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    this.later(delayMs, () => {
      this.finish(record, status);
      if (body === undefined) {
        res.writeHead(status, headers);
        res.end();
      } else {
        sendJson(res, status, body, headers);
      }
    });
  }

  private drop(record: RequestRecord, res: http.ServerResponse, delayMs: number, fault: string): void {
    record.fault = fault;
    this.later(delayMs, () => {
      this.finish(record, 'dropped');
      res.socket?.destroy();
    });
  }

  private hang(record: RequestRecord): void {
    record.fault = 'hang';
    this.finish(record, 'hung'); // close() destroys the connection
  }

  private later(delayMs: number, send: () => void): void {
    if (delayMs <= 0) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send();
    }, delayMs);
    this.timers.add(timer);
  }

  private finish(record: RequestRecord, status: RequestRecord['status']): void {
    record.status = status;
    const key = String(status);
    this.counters.byStatus[key] = (this.counters.byStatus[key] ?? 0) + 1;
    this.options.onRequest?.(record);
  }

  private internalError(res: http.ServerResponse, error: unknown): void {
    if (res.headersSent || this.closed) {
      res.destroy();
      return;
    }
    sendJson(res, 500, { error: `reference central bug: ${error instanceof Error ? error.message : String(error)}` });
  }

  private newRecord(req: http.IncomingMessage, path: string): RequestRecord {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      headers[name] = name === 'authorization' ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
    }
    const authorization = req.headers.authorization;
    const bearer = bearerToken(req);
    const required = this.faultsNow.requireToken;
    const record: RequestRecord = {
      seq: ++this.requestSeq,
      at: new Date(this.options.now()).toISOString(),
      method: req.method ?? '',
      path,
      status: null,
      fault: null,
      idempotencyKey: headerValue(req, 'idempotency-key'),
      storeId: headerValue(req, 'x-store-id'),
      contentType: headerValue(req, 'content-type'),
      authorization: authorization === undefined ? 'none' : bearer === null ? 'other' : 'bearer',
      tokenFingerprint: bearer === null ? null : tokenFingerprint(bearer),
      tokenMatched: required === null ? null : bearer === required,
      headers,
      bodyBytes: 0,
      format: null,
      ids: null,
    };
    if (record.storeId === null) this.counters.missingStoreHeader++;
    this.log.push(record);
    if (this.log.length > this.options.requestLogSize) this.log.shift();
    return record;
  }

  // --- admin routes (never faulted, no token) ---

  private async admin(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const route = `${req.method ?? ''} ${url.pathname}`;
    const number = (name: string, fallback: number): number => {
      const value = Number(url.searchParams.get(name) ?? fallback);
      return Number.isInteger(value) && value >= 0 ? value : fallback;
    };
    switch (route) {
      case 'GET /_admin/stats':
        return sendJson(res, 200, this.stats());
      case 'GET /_admin/faults':
        return sendJson(res, 200, this.faultsNow);
      case 'POST /_admin/faults': {
        const body = await readBody(req, 1 << 20);
        try {
          const update = JSON.parse(body?.toString('utf8') ?? 'null') as unknown;
          return sendJson(res, 200, this.setFaults(update as FaultsUpdate));
        } catch (error) {
          return sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
        }
      }
      case 'DELETE /_admin/faults':
        return sendJson(res, 200, this.resetFaults());
      case 'GET /_admin/events': {
        const offset = number('offset', 0);
        const limit = number('limit', 1000);
        return sendJson(res, 200, { total: this.ids.size, offset, events: this.events(offset, limit) });
      }
      case 'GET /_admin/ids':
        return sendJson(res, 200, { ids: this.receivedIds(), duplicates: Object.fromEntries(this.duplicates()) });
      case 'GET /_admin/requests':
        return sendJson(res, 200, { requests: this.requests(number('limit', 100)) });
      case 'POST /_admin/forget':
      case 'POST /_admin/alter': {
        const body = await readBody(req, 1 << 20);
        let parsed: { ids?: unknown; id?: unknown; totalAmount?: unknown };
        try {
          parsed = JSON.parse(body?.toString('utf8') ?? 'null') as typeof parsed;
        } catch {
          return sendJson(res, 400, { error: 'body is not JSON' });
        }
        if (route === 'POST /_admin/forget') {
          if (!Array.isArray(parsed?.ids) || !parsed.ids.every((id) => typeof id === 'string')) return sendJson(res, 400, { error: 'body must be {"ids": [...]}' });
          return sendJson(res, 200, { forgotten: this.forget(parsed.ids as string[]) });
        }
        if (typeof parsed?.id !== 'string' || typeof parsed.totalAmount !== 'string') return sendJson(res, 400, { error: 'body must be {"id", "totalAmount"}' });
        return sendJson(res, 200, { altered: this.alterAmount(parsed.id, parsed.totalAmount) });
      }
      case 'POST /_admin/reset':
        this.reset();
        return sendJson(res, 200, { reset: true });
      default:
        return sendJson(res, 404, { error: `no admin route ${route}` });
    }
  }

  // --- the in-process API behind RunningCentral ---

  setFaults(update: FaultsUpdate): Faults {
    this.faultsNow = mergeFaults(this.faultsNow, update);
    this.refuseSet = new Set(this.faultsNow.refuseIds);
    if (update.seed !== undefined) this.random = seededRandom(update.seed);
    return this.faultsNow;
  }

  resetFaults(): Faults {
    this.faultsNow = this.startFaults;
    this.refuseSet = new Set(this.faultsNow.refuseIds);
    return this.faultsNow;
  }

  faults(): Faults {
    return this.faultsNow;
  }

  stats(): CentralStats {
    const lastRequest = this.log.at(-1) ?? null;
    return { ...this.counters, byStatus: { ...this.counters.byStatus }, lastRequest, faults: this.faultsNow };
  }

  receivedIds(): string[] {
    return [...this.idsInOrder];
  }

  receipts(): Map<string, number> {
    const receipts = new Map<string, number>();
    for (const id of this.receivedIds()) receipts.set(id, 1 + (this.extraReceipts.get(id) ?? 0));
    return receipts;
  }

  duplicates(): Array<[string, number]> {
    return [...this.extraReceipts].map(([id, extra]) => [id, extra + 1]);
  }

  events(offset = 0, limit = Infinity): StoredEvent[] {
    return this.store.events(offset, limit).map((row) => ({
      id: row.id,
      receipts: 1 + (this.extraReceipts.get(row.id) ?? 0),
      event: row.event,
      receivedAt: row.receivedAt,
      format: row.format,
      idempotencyKey: row.idempotencyKey,
      storeHeader: row.storeHeader,
    }));
  }

  requests(limit = this.options.requestLogSize): RequestRecord[] {
    return this.log.slice(-limit);
  }

  forget(ids: readonly string[]): string[] {
    const found = this.store.rewrite(ids, () => null);
    const gone = new Set(found);
    for (const id of found) this.ids.delete(id);
    if (gone.size > 0) this.idsInOrder = this.idsInOrder.filter((id) => !gone.has(id));
    this.counters.eventsStored = this.ids.size;
    return found;
  }

  alterAmount(id: string, totalAmount: string): boolean {
    return this.store.rewrite([id], (event) => ({ ...event, totalAmount })).length > 0;
  }

  reset(): void {
    this.store.clear();
    this.ids.clear();
    this.idsInOrder = [];
    this.extraReceipts.clear();
    this.keyToIds.clear();
    this.idsToKey.clear();
    this.log = [];
    this.counters = emptyCounters();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Hung and slow requests and idle keep-alive connections would otherwise hold close() open.
    this.server.closeAllConnections();
    await stopped;
    this.store.close();
  }
}

type Counters = Omit<CentralStats, 'lastRequest' | 'faults'>;

function emptyCounters(): Counters {
  return {
    posts: 0,
    healthChecks: 0,
    summaryRequests: 0,
    byStatus: {},
    eventsReceived: 0,
    eventsStored: 0,
    duplicateReceipts: 0,
    duplicateIds: 0,
    eventsUpdated: 0,
    eventsRejected: 0,
    emptyBatches: 0,
    missingIdempotencyKey: 0,
    missingStoreHeader: 0,
    idempotencyKeyConflicts: 0,
    idempotencyKeyChanges: 0,
    processingMs: 0,
    answerMs: 0,
  };
}

function idOf(event: unknown): string | null {
  if (typeof event !== 'object' || event === null) return null;
  const id = (event as { id?: unknown }).id;
  return typeof id === 'string' && id !== '' ? id : null;
}

/** An event's content hash: what tells an edit of an id from a repeat (man page, central API). */
function contentHashOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const hash = (event as { contentHash?: unknown }).contentHash;
  return typeof hash === 'string' && hash !== '' ? hash : undefined;
}

function bearerToken(req: http.IncomingMessage): string | null {
  const authorization = req.headers.authorization;
  if (authorization === undefined) return null;
  return /^Bearer\s+(.+)$/i.exec(authorization)?.[1] ?? null;
}

function headerValue(req: http.IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Starts a central on 127.0.0.1 and resolves once it listens. */
export async function startCentral(options: CentralOptions = {}): Promise<RunningCentral> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0-65535, got ${port}`);
  const central = new Central({
    dbPath: options.dbPath ?? ':memory:',
    seed: options.seed ?? 1,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
    requestLogSize: options.requestLogSize ?? 1000,
    now: options.now ?? Date.now,
    faults: options.faults,
    onRequest: options.onRequest,
    summary: options.summary ?? true,
    fleet: options.fleet ?? {},
  });
  await new Promise<void>((resolve, reject) => {
    central.server.once('error', reject);
    central.server.listen(port, HOST, () => {
      central.server.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await central.close();
    throw error;
  });
  const address = central.server.address();
  if (address === null || typeof address === 'string') throw new Error('central: no TCP address after listen');
  const url = `http://${HOST}:${address.port}`;
  return {
    url,
    port: address.port,
    eventsUrl: url + EVENTS_PATH,
    healthUrl: url + HEALTH_PATH,
    close: () => central.close(),
    setFaults: (update) => central.setFaults(update),
    resetFaults: () => central.resetFaults(),
    faults: () => central.faults(),
    stats: () => central.stats(),
    receivedIds: () => central.receivedIds(),
    receipts: () => central.receipts(),
    duplicateIds: () => central.duplicates().map(([id]) => id),
    events: (offset, limit) => central.events(offset, limit),
    requests: (limit) => central.requests(limit),
    reset: () => central.reset(),
    forget: (ids) => central.forget(ids),
    alterAmount: (id, totalAmount) => central.alterAmount(id, totalAmount),
    fleet: central.fleet,
  };
}

// --- program mode: node dist/examples/central/server.js --port 8080 --db central.db … ---

/** Flags that set a fault: name → how to read its value into the update. */
const FAULT_FLAGS: Record<string, { key: keyof Faults | 'seed'; kind: 'number' | 'string' | 'boolean' | 'list' }> = {
  token: { key: 'requireToken', kind: 'string' },
  seed: { key: 'seed', kind: 'number' },
  down: { key: 'down', kind: 'boolean' },
  'force-status': { key: 'forceStatus', kind: 'number' },
  'fail-rate': { key: 'failRate', kind: 'number' },
  'fail-status': { key: 'failStatus', kind: 'number' },
  'rate-limit-rate': { key: 'rateLimitRate', kind: 'number' },
  'retry-after': { key: 'retryAfterSeconds', kind: 'number' },
  'retry-after-format': { key: 'retryAfterFormat', kind: 'string' },
  'drop-rate': { key: 'dropRate', kind: 'number' },
  'drop-after-store-rate': { key: 'dropAfterStoreRate', kind: 'number' },
  'hang-rate': { key: 'hangRate', kind: 'number' },
  'slow-rate': { key: 'slowRate', kind: 'number' },
  'slow-ms': { key: 'slowMs', kind: 'number' },
  'truncate-rate': { key: 'truncateRate', kind: 'number' },
  'not-json-rate': { key: 'notJsonRate', kind: 'number' },
  'malformed-rejected-rate': { key: 'malformedRejectedRate', kind: 'number' },
  'refuse-ids': { key: 'refuseIds', kind: 'list' },
  'fail-ids': { key: 'failIds', kind: 'list' },
  'fail-ids-status': { key: 'failIdsStatus', kind: 'number' },
  'partial-rejects': { key: 'partialRejects', kind: 'boolean' },
  'max-batch': { key: 'maxBatch', kind: 'number' },
  'success-status': { key: 'successStatus', kind: 'number' },
  'hang-health': { key: 'hangHealth', kind: 'boolean' },
  'health-body': { key: 'healthBody', kind: 'string' },
  'refuse-reason': { key: 'refuseReason', kind: 'string' },
  'echo-authorization-at': { key: 'echoAuthorizationAt', kind: 'number' },
};

const USAGE = `usage: node dist/examples/central/server.js [--port 8080] [--db central.db] [--token T]
       [--seed N] [--fail-rate 0.3] [--fail-status 503] [--rate-limit-rate R] [--retry-after S]
       [--retry-after-format seconds|http-date] [--drop-rate R] [--drop-after-store-rate R]
       [--hang-rate R] [--slow-rate R --slow-ms MS] [--truncate-rate R] [--not-json-rate R]
       [--malformed-rejected-rate R] [--refuse-ids ID,ID] [--fail-ids ID,ID] [--partial-rejects] [--max-batch N]
       [--force-status CODE] [--success-status 200] [--down] [--hang-health]
       [--health-body ok|stall|drip] [--refuse-reason TEXT] [--echo-authorization-at N]
       [--max-body-bytes N] [--no-summary] [--no-heartbeat] [--silence-seconds 300] [--verbose]
See examples/central/README.md.`;

export interface ProgramSettings {
  port: number;
  dbPath: string;
  maxBodyBytes: number | undefined;
  verbose: boolean;
  summary: boolean;
  /** The fleet: --no-heartbeat, --silence-seconds (or CENTRAL_SILENCE_SECONDS). */
  fleet: FleetOptions;
  faults: FaultsUpdate;
}

/** Reads the program's arguments; throws FaultsError with a one-line message when one is wrong. */
export function parseProgramArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ProgramSettings | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    port: { type: 'string' },
    db: { type: 'string' },
    'max-body-bytes': { type: 'string' },
    verbose: { type: 'boolean' },
    'no-summary': { type: 'boolean' },
    'no-heartbeat': { type: 'boolean' },
    'silence-seconds': { type: 'string' },
    help: { type: 'boolean' },
  };
  for (const [flag, spec] of Object.entries(FAULT_FLAGS)) {
    options[flag] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new FaultsError(error instanceof Error ? error.message : String(error));
  }
  if (values['help'] === true) return 'help';
  const faults: Record<string, unknown> = {};
  for (const [flag, spec] of Object.entries(FAULT_FLAGS)) {
    const raw = values[flag];
    if (raw === undefined) continue;
    faults[spec.key] = flagValue(flag, raw, spec.kind);
  }
  return {
    port: wholeNumber('port', values['port'], 8080),
    dbPath: typeof values['db'] === 'string' ? values['db'] : ':memory:',
    maxBodyBytes:
      values['max-body-bytes'] === undefined ? undefined : wholeNumber('max-body-bytes', values['max-body-bytes'], 0),
    verbose: values['verbose'] === true,
    summary: values['no-summary'] !== true,
    fleet: {
      heartbeat: values['no-heartbeat'] !== true,
      silenceSeconds: silenceSeconds(values['silence-seconds'] ?? env['CENTRAL_SILENCE_SECONDS']),
    },
    faults: faults as FaultsUpdate,
  };
}

function flagValue(flag: string, raw: string | boolean, kind: 'number' | 'string' | 'boolean' | 'list'): unknown {
  if (kind === 'boolean' || kind === 'string') return raw;
  if (kind === 'list') return String(raw).split(',').map((id) => id.trim()).filter((id) => id !== '');
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value)) throw new FaultsError(`--${flag} must be a number, got "${String(raw)}"`);
  return value;
}

/** --silence-seconds / CENTRAL_SILENCE_SECONDS: seconds of silence before a till is NOT REPORTING. */
function silenceSeconds(raw: string | boolean | undefined): number {
  if (raw === undefined || raw === '') return 300;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new FaultsError(`--silence-seconds (or CENTRAL_SILENCE_SECONDS) must be a number of seconds above 0, got "${String(raw)}"`);
  return value;
}

function wholeNumber(flag: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === '' || !Number.isInteger(value) || value < 0) {
    throw new FaultsError(`--${flag} must be a whole number, got "${String(raw)}"`);
  }
  return value;
}

async function main(args: readonly string[]): Promise<void> {
  let settings: ProgramSettings | 'help';
  try {
    settings = parseProgramArgs(args, process.env);
    if (settings !== 'help') mergeFaults(NO_FAULTS, settings.faults); // refuse bad values before listening
  } catch (error) {
    process.stderr.write(`central: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 64;
    return;
  }
  if (settings === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { verbose } = settings;
  const central = await startCentral({
    port: settings.port,
    dbPath: settings.dbPath,
    faults: settings.faults,
    summary: settings.summary,
    fleet: settings.fleet,
    ...(settings.maxBodyBytes === undefined ? {} : { maxBodyBytes: settings.maxBodyBytes }),
    ...(verbose ? { onRequest: logRequest } : {}),
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    central.close().then(
      () => {
        if (verbose) process.stderr.write(`central: stopped on ${signal}\n`);
      },
      (error: unknown) => {
        process.stderr.write(`central: error while stopping: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.stdout.write(`central listening on ${central.url}\n`);
}

function logRequest(record: RequestRecord): void {
  const events = record.ids === null ? '' : ` events=${record.ids.length}`;
  const fault = record.fault === null ? '' : ` fault=${record.fault}`;
  process.stderr.write(`central: ${record.method} ${record.path} -> ${String(record.status)}${events}${fault}\n`);
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`central: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
