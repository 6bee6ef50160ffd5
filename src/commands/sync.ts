// `pos-sync sync`: one bounded pass. Reads pending rows in batches, delivers them (retries inside
// the pass), marks them synced per batch, records refusals and dead letters, and stops at the
// first sign the central is down, misconfigured or refusing our credentials (SPEC §2, §5).

import type { Database } from 'better-sqlite3';
import type { CentralClient } from '../central/client.js';
import { idempotencyKey } from '../central/key.js';
import { withRetries, type RetriedOutcome, type Sleep } from '../central/retry.js';
import type { Config } from '../config/types.js';
import { decideRejection, splitBatch } from '../domain/backoff.js';
import { singlePayload, toEvent, type CentralEvent } from '../domain/events.js';
import { ENTITIES, type Entity, type InventoryRow, type TransactionRow } from '../domain/rows.js';
import { formatDbTime, type Clock, type Random } from '../domain/time.js';
import { admit, describeBreaker, enter, leave, onAnswer, onFailure, PROBE_ROWS, type Admission, type BreakerState, type BreakerView } from '../domain/breaker.js';
import { classifyResponse } from '../domain/classify.js';
import { refusalReason } from '../domain/refusal.js';
import { judgeHeld, type HeldRefusal } from '../domain/refusals.js';
import { ExitCode, exitCodeOf, worstExitCode } from '../errors.js';
import { publishPending, type PublishReport } from '../kafka/outbox.js';
import type { Logger } from '../log.js';
import { Queue, type Rejection } from '../store/queue.js';
import { recordPass, waitingRows } from '../store/history.js';
import { assertWritable } from '../store/writable.js';
import { acquireLock, type PassLock } from '../state/lock.js';
import { openStateFile, peekState, type StateStore } from '../state/file.js';
import { withSince, worthSaving, type PassSummary, type SavedState } from '../state/format.js';

export interface SyncOptions {
  readonly batchSize?: number | undefined;
  readonly maxRunSeconds?: number | undefined;
  readonly dryRun?: boolean | undefined;
  readonly force?: boolean | undefined;
  /** Aborted by SIGTERM/SIGINT in --watch: the pass stops between batches, never inside one. */
  readonly signal?: AbortSignal | undefined;
}

export interface SyncDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: Random;
  readonly sleep: Sleep;
  readonly log: Logger;
  /** May be async so the refused tick of an open breaker never loads the SQLite module. */
  readonly openDb: () => Database | Promise<Database>;
  /** The state file (breaker, last pass); default: config.stateFile on disk. */
  readonly state?: StateStore;
  /** Created on first use, so a pass with nothing to send never loads the HTTP stack. */
  readonly central: () => Promise<CentralClient>;
  readonly newId?: () => string;
  /** Told after every batch marked synced (the CLI's spinner on a terminal). */
  readonly onProgress?: (delivered: number) => void;
}

export type PerEntity = Record<Entity, number>;

export type StopReason = 'drained' | 'time' | 'stopped' | 'unavailable' | 'credentials' | 'misconfigured' | 'notAboutRows' | 'breakerOpen';

export interface PassResult {
  readonly command: 'sync';
  readonly exitCode: number;
  readonly stoppedBy: StopReason;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly delivered: PerEntity;
  readonly rejected: PerEntity;
  readonly deadLettered: PerEntity;
  readonly requests: number;
  readonly failedRequests: number;
  readonly dryRun: boolean;
  /** With --dry-run: what would be sent (first batch's events in full, then counts). */
  readonly wouldSend?: { readonly batches: number; readonly rows: PerEntity; readonly firstBatch: readonly CentralEvent[] };
  readonly error: string | null;
  /** The circuit breaker after the pass. */
  readonly breaker: BreakerView;
  /** Whether this pass was the half-open probe (or a --force pass through an open breaker). */
  readonly probe: boolean;
  /** A quiet pass: rows held back by a refusal's backoff, and when the first is due. */
  waiting?: { readonly rows: number; readonly until: string | null };
  /** Kafka publishing after delivery; null when Kafka is off (or a dry run). */
  readonly kafka?: PublishReport | null;
}

type PendingRowOf = TransactionRow | InventoryRow;

/** A request body and its Idempotency-Key. */
interface Encoded {
  readonly body: string;
  readonly key: string;
}

/** One batch of pending rows: the events to send, and the rows refused locally. */
interface Batch {
  readonly events: CentralEvent[];
  readonly rowids: Map<string, number>;
  readonly invalid: { id: string; error: string; httpStatus: null; rowid: number }[];
  readonly encoded: Encoded | undefined;
}

const zero = (): PerEntity => ({ transaction: 0, inventory: 0 });

/** Pass-level stop raised by a delivery; carries what the whole pass should report. */
class StopPass extends Error {
  constructor(readonly reason: StopReason, message: string, readonly exitCode: number) {
    super(message);
  }
}

/** What every part of a pass shares. */
interface PassContext {
  readonly options: SyncOptions;
  readonly deps: SyncDeps;
  readonly start: number;
  readonly maxRunMs: number;
  readonly stateStore: StateStore;
}

export async function runSync(options: SyncOptions, deps: SyncDeps): Promise<PassResult> {
  const start = deps.clock.now();
  const maxRunMs = options.maxRunSeconds !== undefined ? options.maxRunSeconds * 1000 : deps.config.sync.maxRunMs;
  const stateStore = deps.state ?? openStateFile(deps.config.stateFile, { log: deps.log, now: () => deps.clock.now() });
  const pass: PassContext = { options, deps, start, maxRunMs, stateStore };
  if (options.dryRun) {
    // A dry run changes nothing, not even a corrupt state file; it shows the breaker as it is.
    return deliverPass(pass, peekState(stateStore.path).state, { kind: 'closed' }).catch(rethrowLocalIo(deps.config.db.path));
  }
  // The state comes first: an open breaker ends the pass here, before the database, the lock or
  // the HTTP stack are touched (SPEC §10: an open-circuit tick costs what an idle one does).
  const saved = stateStore.load();
  const admission = admit(saved.breaker, start, deps.config.breaker, options.force === true);
  if (admission.kind === 'refuse') return refusedPass(pass, saved, admission.nextProbeAt, null);
  return deliverPass(pass, saved, admission).catch(rethrowLocalIo(deps.config.db.path));
}

/**
 * A SQLite failure in the middle of a pass (the disk fills up, an I/O error, corruption met in a
 * page read late) becomes exit 74 naming the file, with the hint db.ts gives at open, instead of a
 * bare "local I/O error: database or disk is full".
 */
function rethrowLocalIo(dbPath: string) {
  return async (err: unknown): Promise<never> => {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw err;
    const { asLocalIoError } = await import('../store/db.js'); // loaded already: the pass used it
    throw asLocalIoError(err, dbPath, 'use the database');
  };
}

const total = (p: PerEntity): number => p.transaction + p.inventory;

/** The result of a pass an open breaker stopped before it sent anything; saves the state. */
function refusedPass(pass: PassContext, prev: SavedState, nextProbeAt: number, heldLock: PassLock | null): PassResult {
  const { config, clock } = pass.deps;
  const b = prev.breaker;
  // Stable text (no "in 12 s"): it is saved, and an unchanged state is not rewritten every tick.
  const failures = `${b.consecutiveFailures} failed request${b.consecutiveFailures === 1 ? '' : 's'} in a row`;
  const message = `the circuit breaker is open (${failures}${b.lastFailure ? `, last: ${b.lastFailure}` : ''}); no request sent; next probe at ${new Date(nextProbeAt).toISOString()}`;
  const result: PassResult = {
    command: 'sync',
    exitCode: ExitCode.tempFail,
    stoppedBy: 'breakerOpen',
    startedAt: new Date(pass.start).toISOString(),
    durationMs: clock.now() - pass.start,
    delivered: zero(),
    rejected: zero(),
    deadLettered: zero(),
    requests: 0,
    failedRequests: 0,
    dryRun: false,
    error: message,
    breaker: describeBreaker(b, clock.now(), config.breaker),
    probe: false,
  };
  const next = nextState(prev, prev.breaker, result, clock.now());
  if (worthSaving(prev, next, true, clock.now(), saveRefreshMs(config))) {
    if (heldLock) {
      pass.stateStore.save(next);
    } else {
      // Not under the pass lock: taking it needs the SQLite module, which an open-circuit tick
      // never loads (SPEC §10). Instead the file is read again just before it is replaced, and
      // left alone when a pass changed the breaker meanwhile (that pass saved a fresher state).
      const current = peekState(pass.stateStore.path);
      if (JSON.stringify(current.state.breaker) === JSON.stringify(prev.breaker)) pass.stateStore.save(next);
    }
  }
  return result;
}

/** A quiet pass rewrites an unchanged state at most this often (see worthSaving). */
function saveRefreshMs(config: Config): number {
  // Well inside the health warning, so a quiet store never looks stalled to monitoring.
  return Math.min(60_000, config.health.lastSuccessWarningSeconds * 500);
}

function nextState(prev: SavedState, breaker: BreakerState, r: PassResult, at: number): SavedState {
  const lastPass: PassSummary = withSince(prev.lastPass, {
    at,
    exitCode: r.exitCode,
    outcome: r.stoppedBy,
    delivered: total(r.delivered),
    refused: total(r.rejected),
    durationMs: Math.max(0, Math.round(r.durationMs)),
    error: r.error,
    ...(r.kafka?.error ? { kafkaError: r.kafka.error } : {}),
  });
  // 65 counts as a success for health: delivery works, only some rows' content was refused.
  const succeeded = r.exitCode === ExitCode.ok || r.exitCode === ExitCode.rejected;
  // An answer not about the rows stays on show (status, health, metrics) until a pass succeeds.
  const notAboutRows = r.stoppedBy === 'notAboutRows' ? { at, reason: r.error ?? '' } : succeeded ? null : (prev.notAboutRows ?? null);
  return { breaker: leave(breaker), lastPass, lastSuccessAt: succeeded ? at : prev.lastSuccessAt, ...(notAboutRows ? { notAboutRows } : {}) };
}

async function deliverPass(pass: PassContext, loaded: SavedState, firstAdmission: Admission): Promise<PassResult> {
  const { options, deps, start, maxRunMs, stateStore } = pass;
  const { config, clock, log } = deps;
  const deadline = start + maxRunMs;
  const batchSize = options.batchSize ?? config.sync.batchSize;
  // The global Web Crypto, loaded on first use: importing node:crypto would cost every idle tick.
  const newId = deps.newId ?? (() => crypto.randomUUID().toUpperCase());
  const entities = ENTITIES.filter((e) => (e === 'transaction' ? config.sync.transactions : config.sync.inventory));

  const delivered = zero();
  const rejected = zero();
  const deadLettered = zero();
  let requests = 0;
  let failedRequests = 0;
  /** The slowest answer of this pass: a batch is only started when one can come back in time. */
  let slowestAnswerMs = 0;
  let stoppedBy: StopReason = 'drained';
  let exitCode: number = ExitCode.ok;
  let error: string | null = null;
  let saved = loaded;
  let admission = firstAdmission;
  let breaker: BreakerState = saved.breaker;
  let probing = false;
  const db = await deps.openDb();
  let lock: PassLock;
  try {
    // A dry run reads only (SPEC §4): no lock file appears beside the database.
    if (!options.dryRun) assertWritable(config.db.path);
    lock = options.dryRun ? { path: '', release: () => undefined, refresh: () => true } : acquireLock(config.db.path, 'sync', start);
  } catch (err) {
    db.close();
    throw err;
  }
  try {
    if (!options.dryRun) {
      // Read again under the lock: a pass that ended meanwhile may have opened or closed it.
      saved = stateStore.load();
      admission = admit(saved.breaker, clock.now(), config.breaker, options.force === true);
      if (admission.kind === 'refuse') return refusedPass(pass, saved, admission.nextProbeAt, lock);
      breaker = enter(saved.breaker, admission);
      probing = breaker.state === 'halfOpen';
      if (admission.kind === 'probe') log.info('the circuit breaker is half-open: probing the central API');
      if (admission.kind === 'forced') log.warn('ignoring the open circuit breaker for this pass (--force)');
    }
    const inProbe = (): boolean => admission.kind === 'probe' && breaker.state === 'halfOpen';
    const answered = (): void => {
      if (breaker.state === 'halfOpen') log.info('the central API answered: circuit breaker closed');
      breaker = onAnswer(breaker);
    };
    const failed = (why: string): void => {
      const wasOpen = breaker.state !== 'closed';
      breaker = onFailure(breaker, clock.now(), config.breaker, deps.random, why);
      if (breaker.state === 'open') {
        const why = admission.kind === 'forced' ? 'the forced pass failed: circuit breaker open again' : 'the probe failed: circuit breaker open again';
        log.warn(wasOpen ? why : 'circuit breaker opened', {
          consecutiveFailures: breaker.consecutiveFailures,
          consecutiveOpens: breaker.consecutiveOpens,
          nextProbeAt: new Date(breaker.nextProbeAt!).toISOString(),
        });
      }
    };
    const queue = new Queue(db);
    if (options.dryRun && queue.facts.version === 0) log.warn('pos-sync has not set up this database yet (the first sync does): every unsynced row is shown as pending');
    let client: CentralClient | undefined;
    const central = async (): Promise<CentralClient> => (client ??= await deps.central());

    const reject = (entity: Entity, fates: readonly { id: string; error: string; httpStatus: number | null; rowid?: number }[]): void => {
      if (fates.length === 0) return;
      const now = clock.now();
      const nowText = formatDbTime(now);
      const decisions: Rejection[] = fates.map((f) => {
        const d = decideRejection(queue.rejectionsOf(entity, f.id, f.rowid), config.sync.maxRejections, config.sync.retryDelayMs, now);
        return { ...f, rejections: d.rejections, deadLettered: d.deadLettered, nextAttemptAt: d.nextAttemptAt === null ? null : formatDbTime(d.nextAttemptAt) };
      });
      queue.recordRejections(entity, decisions, nowText, config.storeId, newId);
      for (const d of decisions) {
        rejected[entity]++;
        if (d.deadLettered) deadLettered[entity]++;
        // The reason first; the central's whole answer only at debug.
        log.warn(`${d.deadLettered ? 'row dead-lettered' : 'row refused'}: ${refusalReason(d.error, d.id)}`, { entity, id: d.id, refusals: d.rejections });
        log.debug('the refusal as stored', { id: d.id, error: d.error });
      }
    };

    // The central's refusals are held back while no row of the pass has been accepted: if every
    // row tried is refused for one reason, that reason is not about the rows (domain/refusals.ts).
    let acceptedRows = 0;
    let held: { entity: Entity; fate: { id: string; error: string; httpStatus: number | null; refusedBefore: boolean } }[] = [];
    const recordHeld = (): void => {
      const rows = held;
      held = [];
      for (const entity of ENTITIES) reject(entity, rows.filter((h) => h.entity === entity).map((h) => h.fate));
    };
    const refuse = (entity: Entity, fates: readonly { id: string; error: string; httpStatus: number | null }[]): void => {
      if (acceptedRows > 0) return reject(entity, fates);
      held.push(...fates.map((fate) => ({ entity, fate: { ...fate, refusedBefore: queue.rejectionsOf(entity, fate.id) > 0 } })));
    };
    /** After a whole round: stop when every row tried so far was refused for one reason. */
    const judgeRefusals = (): void => {
      const verdict = judgeHeld(held.map((h): HeldRefusal => h.fate), acceptedRows);
      if (verdict.kind === 'record') recordHeld();
      if (verdict.kind === 'shared') {
        const n = held.length;
        held = [];
        throw new StopPass('notAboutRows', `the central API refused all ${n} rows of this pass for the same reason, so it is not about the rows (no row penalised): ${verdict.reason}`, ExitCode.config);
      }
    };

    const send = async (body: string, key: string, ids: ReadonlySet<string>): Promise<RetriedOutcome> => {
      const c = await central();
      return withRetries(
        async (timeLeftMs) => {
          requests++;
          const sentAt = clock.now();
          const outcome = await c.post({ body, idempotencyKey: key, ids, timeoutMs: Math.min(config.http.timeoutMs, timeLeftMs) }, () => clock.now());
          if (outcome.kind === 'temporary') failedRequests++;
          else slowestAnswerMs = Math.max(slowestAnswerMs, clock.now() - sentAt);
          return outcome;
        },
        {
          // Half-open means one trial request: its answer decides, retries would only delay that.
          maxRetries: inProbe() ? 0 : config.http.maxRetries,
          deadline,
          clock,
          random: deps.random,
          sleep: deps.sleep,
          onRetry: ({ retry, waitMs, error: e }) => log.info('retrying a request', { retry, waitMs: Math.round(waitMs), error: e }),
        },
      );
    };

    /** The request body and Idempotency-Key of a group of events. */
    const encode = (events: readonly CentralEvent[]): Encoded => {
      const single = config.http.format === 'single';
      return {
        body: single ? JSON.stringify(singlePayload(events[0]!)) : JSON.stringify(events),
        key: single ? events[0]!.id : idempotencyKey(events.map((e) => e.id)),
      };
    };

    /** Delivers one group of events (all one entity); splits on refusals. */
    const deliver = async (entity: Entity, events: readonly CentralEvent[], rowids: ReadonlyMap<string, number>, encoded = encode(events)): Promise<void> => {
      const ids = events.map((e) => e.id);
      const idSet = new Set(ids);
      const { body, key } = encoded;
      const failuresBefore = failedRequests;
      const requestsBefore = requests;
      const trial = inProbe();
      const outcome = await send(body, key, idSet);
      const nowText = formatDbTime(clock.now());
      // What the answer says about the central's availability (401/403/404 say nothing).
      if (outcome.kind === 'accepted' || outcome.kind === 'refused' || outcome.kind === 'tooLarge') answered();
      else if (outcome.kind === 'temporary') failed(outcome.error);
      else if (outcome.kind === 'outOfTime' && failedRequests > failuresBefore) failed(outcome.error);
      switch (outcome.kind) {
        case 'accepted': {
          const refused = new Set(outcome.rejected.map((r) => r.id));
          const ok = refused.size === 0 ? ids : ids.filter((id) => !refused.has(id));
          delivered[entity] += queue.markSynced(entity, ok, nowText, config.kafka.enabled, rowids);
          deps.onProgress?.(delivered.transaction + delivered.inventory);
          acceptedRows += ok.length;
          if (ok.length > 0) recordHeld();
          refuse(entity, outcome.rejected.map((r) => ({ ...r, httpStatus: 200 })));
          return;
        }
        case 'refused':
        case 'tooLarge': {
          // The central named every row with its reason: nothing to isolate by splitting.
          if (outcome.kind === 'refused' && outcome.rows !== undefined && outcome.rows.length === events.length) {
            refuse(entity, outcome.rows.map((r) => ({ ...r, httpStatus: outcome.status })));
            return;
          }
          if (events.length === 1) {
            // A proxy's size limit met by one row is the proxy's setting, not the row's fault.
            if (outcome.kind === 'tooLarge' && outcome.foreign) throw notAboutRows(outcome.error);
            refuse(entity, [{ id: ids[0]!, error: outcome.error, httpStatus: outcome.status }]);
            return;
          }
          log.debug('splitting a batch the central refused', { entity, rows: events.length, status: outcome.status });
          for (const half of splitBatch(events)) await deliver(entity, half, rowids);
          return;
        }
        case 'notAboutRows':
          throw notAboutRows(outcome.error);
        case 'credentials':
          throw new StopPass('credentials', `the central API refused the credentials (HTTP ${outcome.status})`, ExitCode.noPermission);
        case 'misconfigured':
          throw new StopPass(
            'misconfigured',
            outcome.status === 0 ? outcome.error : `the central API answered HTTP ${outcome.status} at ${config.endpoints.events}: check Sync.CentralApiEndpoint`,
            ExitCode.config,
          );
        case 'temporary':
          queue.markAttempt(entity, ids, nowText, outcome.error);
          throw new StopPass(
            'unavailable',
            trial ? `the probe failed, the central API is still unavailable: ${outcome.error}` : `the central API is unavailable after ${config.http.maxRetries} retries: ${outcome.error}`,
            ExitCode.tempFail,
          );
        case 'outOfTime':
          // Out of time before a request went out: nothing failed, the budget is simply spent.
          if (requests === requestsBefore) throw new StopPass('time', 'time budget reached; the next pass goes on', ExitCode.ok);
          queue.markAttempt(entity, ids, nowText, outcome.error);
          throw new StopPass('unavailable', `the central API is unavailable: ${outcome.error}`, ExitCode.tempFail);
      }
    };

    /** Half-open with nothing pending: a GET of the health endpoint is the probe. */
    const probeHealth = async (): Promise<void> => {
      const c = await central();
      requests++;
      const answer = await c.health(Math.max(1, Math.min(config.http.timeoutMs, deadline - clock.now())));
      const outcome = answer.status === null ? null : classifyResponse(answer.status, '', null, new Set(), clock.now());
      if (outcome === null || outcome.kind === 'temporary') {
        failedRequests++;
        const why = answer.error ?? `HTTP ${answer.status}`;
        failed(why);
        throw new StopPass('unavailable', `the central API's health check failed: ${why}`, ExitCode.tempFail);
      }
      if (outcome.kind === 'credentials') {
        throw new StopPass('credentials', `the central API refused the credentials (HTTP ${outcome.status} at ${config.endpoints.health})`, ExitCode.noPermission);
      }
      if (outcome.kind === 'misconfigured') {
        throw new StopPass('misconfigured', `the central API answered HTTP ${outcome.status} at ${config.endpoints.health}: check Sync.HealthCheckEndpoint`, ExitCode.config);
      }
      answered();
    };

    const cursor: Record<Entity, number> = { transaction: 0, inventory: 0 };
    const drained = new Set<Entity>();
    const wouldSend = { batches: 0, rows: zero(), firstBatch: [] as CentralEvent[] };

    /** Up to `limit` pending rows of `entity` after the cursor, mapped; null when none are left. */
    const readBatch = (entity: Entity, limit: number, encodeAhead: boolean): Batch | null => {
      const rows: PendingRowOf[] = queue.nextPending(entity, cursor[entity], formatDbTime(clock.now()), limit);
      if (rows.length === 0) return null;
      cursor[entity] = rows[rows.length - 1]!.rowid;
      const events: CentralEvent[] = [];
      const rowids = new Map<string, number>(); // marking by rowid is the cheap lookup
      const invalid: Batch['invalid'] = [];
      for (const row of rows) {
        const mapped = toEvent(entity, row);
        if (mapped.ok) {
          events.push(mapped.value);
          rowids.set(mapped.value.id, row.rowid);
        }
        // By rowid: the Id itself may be what is wrong (a BLOB matches no text id).
        else invalid.push({ id: mapped.id, error: mapped.error, httpStatus: null, rowid: row.rowid });
      }
      return { events, rowids, invalid, encoded: encodeAhead && events.length > 0 ? encode(events) : undefined };
    };

    /** The entity the round-robin serves after `entity`. */
    const following = (entity: Entity): Entity | undefined => {
      const i = entities.indexOf(entity);
      return [...entities.slice(i + 1), ...entities.slice(0, i + 1)].find((e) => !drained.has(e));
    };

    /**
     * The next batch, read, mapped and encoded while the central works on the current one, so the
     * two overlap (a 100,000-row drain about 7 % faster, SPEC §10). It is only ever sent after the
     * current batch's answer, exactly as it would have been; when the pass stops first it is
     * dropped, nothing of it written, its rows left pending.
     */
    let ahead: { entity: Entity; limit: number; cursorBefore: number; batch: Batch | null; error?: unknown } | null = null;
    const readAhead = (entity: Entity, limit: number): void => {
      const cursorBefore = cursor[entity];
      try {
        ahead = { entity, limit, cursorBefore, batch: readBatch(entity, limit, true) };
      } catch (error) {
        ahead = { entity, limit, cursorBefore, batch: null, error };
      }
    };
    const takeAhead = (entity: Entity, limit: number): { batch: Batch | null } | null => {
      const a = ahead;
      ahead = null;
      if (a === null) return null;
      if (a.entity !== entity || a.limit !== limit) {
        cursor[a.entity] = a.cursorBefore;
        return null;
      }
      if (a.error !== undefined) throw a.error;
      return { batch: a.batch };
    };
    try {
      // Round-robin over entities so a long backlog of one never starves the other.
      while (drained.size < entities.length) {
        for (const entity of entities) {
          if (drained.has(entity)) continue;
          // A batch started when its answer cannot come back in time would be cut off by the
          // budget: a false "unavailable" (75) and a re-send of rows the central may have stored.
          if (deadline - clock.now() < Math.max(100, 2 * slowestAnswerMs)) {
            stoppedBy = 'time';
            throw new StopPass('time', 'time budget reached; the next pass goes on', ExitCode.ok);
          }
          if (options.signal?.aborted) throw new StopPass('stopped', 'asked to stop: the rows left wait for the next run', ExitCode.ok);
          const limit = inProbe() ? Math.min(batchSize, PROBE_ROWS) : batchSize;
          const batch = (takeAhead(entity, limit) ?? { batch: readBatch(entity, limit, false) }).batch;
          if (batch === null) {
            drained.add(entity);
            continue;
          }
          const { events, rowids, invalid } = batch;
          if (options.dryRun) {
            wouldSend.batches++;
            wouldSend.rows[entity] += events.length;
            if (wouldSend.firstBatch.length === 0) wouldSend.firstBatch.push(...events);
            continue;
          }
          // A row the POS wrote wrongly cannot be sent faithfully: it is refused locally, like
          // a refusal by the central, so it ends dead-lettered and visible instead of stuck.
          reject(entity, invalid);
          if (config.http.format === 'single') {
            for (const event of events) await deliver(entity, [event], rowids);
          } else if (events.length > 0) {
            const sending = deliver(entity, events, rowids, batch.encoded);
            const next = following(entity);
            // Not while probing: a half-open breaker's one trial batch decides whether to go on.
            if (next !== undefined && !inProbe()) {
              sending.catch(() => undefined); // its outcome is taken by the await below
              await new Promise<void>((resolve) => setImmediate(resolve)); // the request goes out first
              readAhead(next, batchSize);
            }
            await sending;
          }
        }
        // Judged after a whole round (a batch of each entity), so bad rows that happen to fill
        // one entity's batch are not taken for a central that refuses everything.
        judgeRefusals();
      }
      if (inProbe() && requests === 0) await probeHealth();
    } catch (err) {
      if (!(err instanceof StopPass)) throw err;
      // Stopped for another reason with every row tried refused alike: still none penalised.
      if (judgeHeld(held.map((h) => h.fate), acceptedRows).kind === 'shared') held = [];
      stoppedBy = err.reason;
      if (err.reason !== 'time' && err.reason !== 'stopped') {
        error = err.message;
        exitCode = err.exitCode;
      } else {
        log.info(err.message);
      }
    }

    // A single refusal with nothing else tried is the row's own.
    recordHeld();
    client?.close?.();
    if (total(rejected) > 0) exitCode = worstExitCode([exitCode, ExitCode.rejected]);
    // Kafka comes after delivery and never changes the pass's outcome: an outage of the broker
    // only delays events (they stay KafkaPending and go out with a later pass).
    const kafka = config.kafka.enabled && !options.dryRun
      ? await publishPending({ db, settings: config.kafka, clock, log, deadline: start + maxRunMs })
      : null;
    const result: PassResult = {
      command: 'sync',
      exitCode,
      stoppedBy,
      startedAt: new Date(start).toISOString(),
      durationMs: clock.now() - start,
      delivered,
      rejected,
      deadLettered,
      requests,
      failedRequests,
      dryRun: options.dryRun === true,
      ...(options.dryRun ? { wouldSend } : {}),
      error,
      breaker: describeBreaker(leave(breaker), clock.now(), config.breaker),
      probe: probing,
      kafka,
    };
    // An idle pass leaves no trace in the run history: it runs 8,640 times a day.
    const quiet = requests === 0 && total(rejected) === 0 && total(delivered) === 0;
    // "Nothing pending" only when nothing waits out a refusal's backoff either.
    if (quiet && !options.dryRun && exitCode === ExitCode.ok) result.waiting = waitingRows(db, clock.now());
    if (!options.dryRun && !quiet) recordPass(db, config.storeId, result, newId);
    if (!options.dryRun) {
      const next = nextState(saved, breaker, result, clock.now());
      if (worthSaving(saved, next, quiet, clock.now(), saveRefreshMs(config))) stateStore.save(next);
    }
    return result;
  } catch (err) {
    // A pass that fails outright (database error, bug) still keeps what it learnt about the central.
    if (!options.dryRun) {
      const code = exitCodeOf(err); // what the process exits with (a SQLite busy error is 75, not 1)
      const message = err instanceof Error ? err.message : String(err);
      stateStore.save({ ...saved, breaker: leave(breaker), lastPass: withSince(saved.lastPass, { at: clock.now(), exitCode: code, outcome: 'error', delivered: total(delivered), refused: total(rejected), durationMs: clock.now() - start, error: message }) });
    }
    throw err;
  } finally {
    lock.release();
    db.close();
  }
}

/** A pass stopped by an answer that is not about the rows: exit 78, no row penalised (SPEC §5). */
function notAboutRows(what: string): StopPass {
  return new StopPass('notAboutRows', `${what}; no row penalised: check the proxy or gateway in front of the central API and Sync.CentralApiEndpoint`, ExitCode.config);
}
