// One sync pass (`pos-sync sync`), as a pipeline. Reads pending rows in batches, delivers them (retries inside
// the pass), marks them synced per batch, records refusals and dead letters, and stops at the
// first sign the central is down, misconfigured or refusing our credentials (pos-sync(1) COMMANDS; pos-sync-central(7)).

import type { Database } from 'better-sqlite3';
import type { CentralClient } from '../central/client.js';
import type { Sleep } from '../central/retry.js';
import type { Config } from '../config/types.js';
import type { CentralEvent } from '../domain/events.js';
import { MAX_QUARANTINE_DELAY_MS } from '../domain/quarantine.js';
import { batchCycle } from '../domain/priority.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { recordUnreadable } from '../store/unreadable.js';
import type { Clock, Random } from '../domain/time.js';
import { admit, describeBreaker, PROBE_ROWS, type Admission, type BreakerView } from '../domain/breaker.js';
import { ExitCode } from '../errors.js';
import { publishPending, type PublishReport } from '../kafka/outbox.js';
import { transactionalIdOf } from '../kafka/settings.js';
import type { Logger } from '../log.js';
import { BatchSource } from './batch-source.js';
import { BreakerSession, type BreakerSessionDeps } from './breaker-session.js';
import { Deliverer } from './deliverer.js';
import { Ledger, outOfTime, StopPass, type PerEntity, type StopReason } from './ledger.js';
import { Isolation } from './quarantine.js';
import { Refusals } from './refusals.js';
import { failedState, nextState, saveRefreshMs } from './saved.js';
import { refusedPass as refuseThePass } from './refused.js';
import { Queue } from '../store/queue.js';
import { recordPass, waitingRows } from '../store/history.js';
import { assertWritable } from '../store/writable.js';
import type { PassLock } from '../state/lock.js';
import { databaseIdentity, openStateFile, peekState, type StateStore } from '../state/file.js';
import { worthSaving, type SavedState } from '../state/format.js';
import { touchPassTrace } from './trace.js';

export type { PerEntity, StopReason } from './ledger.js';

/** Whether the pass was asked to stop (an AbortSignal is one). */
export interface StopRequest {
  readonly aborted: boolean;
}

export interface SyncOptions {
  readonly batchSize?: number | undefined;
  readonly maxRunSeconds?: number | undefined;
  readonly dryRun?: boolean | undefined;
  readonly force?: boolean | undefined;
  /** Aborted by SIGTERM/SIGINT (a single pass or --watch): the pass stops between batches, never inside one. */
  readonly signal?: StopRequest | undefined;
}

export interface SyncDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: Random;
  readonly sleep: Sleep;
  readonly log: Logger;
  /** May be async so the refused tick of an open breaker never loads the SQLite module. */
  /** `waitMs`: the time left in the pass, the longest any wait for a lock may take while opening. */
  readonly openDb: (waitMs?: number) => Database | Promise<Database>;
  /** The state file (breaker, last pass); default: config.stateFile on disk. */
  readonly state?: StateStore;
  /** Created on first use, so a pass with nothing to send never loads the HTTP stack. */
  readonly central: () => Promise<CentralClient>;
  readonly newId?: () => string;
  /** Told after every batch marked synced (the CLI's spinner on a terminal). */
  readonly onProgress?: (delivered: number) => void;
}

export interface PassResult {
  readonly command: 'sync';
  readonly exitCode: number;
  readonly stoppedBy: StopReason;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly delivered: PerEntity;
  readonly rejected: PerEntity;
  readonly deadLettered: PerEntity;
  /** Rows holding a value pos-sync cannot read: not sent, never counted as refused, listed by status. */
  readonly unreadable: PerEntity;
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

/** What every part of a pass shares. */
interface PassContext {
  readonly options: SyncOptions;
  readonly deps: SyncDeps;
  readonly start: number;
  /** Epoch ms (on deps.clock) by which the pass must end. */
  readonly deadline: number;
  readonly stateStore: StateStore;
}

export async function runSync(options: SyncOptions, deps: SyncDeps): Promise<PassResult> {
  const start = deps.clock.now();
  const maxRunMs = options.maxRunSeconds !== undefined ? options.maxRunSeconds * 1000 : deps.config.sync.maxRunMs;
  const stateStore = deps.state ?? openStateFile(deps.config.stateFile, { log: deps.log, now: () => deps.clock.now(), database: databaseIdentity(deps.config.db.path) });
  const pass: PassContext = { options, deps, start, deadline: start + maxRunMs, stateStore };
  if (options.dryRun) {
    // A dry run changes nothing, not even a corrupt state file; it shows the breaker as it is.
    return deliverPass(pass, peekState(stateStore.path, databaseIdentity(deps.config.db.path)).state).catch(rethrowLocalIo(deps.config.db.path));
  }
  // The state comes first: an open breaker ends the pass here, before the database, the lock or
  // the HTTP stack are touched (pos-sync-internals(7) PERFORMANCE: an open-circuit tick costs what an idle one does).
  const saved = stateStore.load();
  try {
    const admission = admit(saved.breaker, start, deps.config.breaker, options.force === true);
    if (admission.kind === 'refuse') return await refusedPass(pass, saved, admission.nextProbeAt, null);
    return await deliverPass(pass, saved).catch(rethrowLocalIo(deps.config.db.path));
  } finally {
    // Every pass, idle and refused ones too: status and health read it (trace.ts).
    touchPassTrace(stateStore.path, deps.clock.now());
  }
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
    const { asMidPassError } = await import('../store/db.js'); // loaded already: the pass used it
    throw asMidPassError(err, dbPath);
  };
}


/**
 * One pass, in order: open the database and take the lock, admit through the breaker (read again
 * under the lock), deliver batch after batch, publish the Kafka backlog, record and save.
 */
async function deliverPass(pass: PassContext, loaded: SavedState): Promise<PassResult> {
  const { options, deps } = pass;
  const { config, clock, log } = deps;
  const db = await deps.openDb(Math.max(0, pass.deadline - clock.now()));
  if (!options.dryRun) {
    const { boundWaits } = await import('../store/db.js'); // loaded already: the database is open
    boundWaits(db, pass.deadline, () => clock.now(), config.db.busyTimeoutMs);
  }
  const lock = await lockThePass(pass, db);
  const ledger = new Ledger();
  let saved = loaded;
  let breaker = BreakerSession.observe(saved.breaker, breakerDeps(deps));
  try {
    if (!options.dryRun) {
      // Read again under the lock: a pass that ended meanwhile may have opened or closed it.
      saved = pass.stateStore.load();
      const admission = admit(saved.breaker, clock.now(), config.breaker, options.force === true);
      if (admission.kind === 'refuse') return refusedPass(pass, saved, admission.nextProbeAt, lock);
      breaker = BreakerSession.enter(saved.breaker, admission, breakerDeps(deps));
    }
    const queue = new Queue(db);
    if (options.dryRun && queue.facts.version === 0) log.warn('pos-sync has not set up this database yet (the first sync does): every unsynced row is shown as pending');
    // The global Web Crypto, loaded on first use: importing node:crypto would cost every idle tick.
    const newId = deps.newId ?? (() => crypto.randomUUID().toUpperCase());
    const refusals = new Refusals(
      queue,
      ledger,
      { maxRejections: config.sync.maxRejections, retryDelayMs: config.sync.retryDelayMs, storeId: config.storeId, refusedAlone: saved.refusedAlone ?? null },
      clock,
      log,
      newId,
    );
    const isolation = new Isolation(db, { afterPasses: config.sync.quarantineAfterPasses, baseDelayMs: config.sync.retryDelayMs, maxDelayMs: MAX_QUARANTINE_DELAY_MS }, clock, log);
    const deliverer = new Deliverer({ ...deps, queue, ledger, breaker, refusals, isolation, deadline: pass.deadline });
    const entities = ENTITIES.filter((e) => (e === 'transaction' ? config.sync.transactions : config.sync.inventory));
    const source = new BatchSource(queue, entities, clock, deliverer.encode, config.tillId);
    await deliverBatches(pass, { db, source, deliverer, refusals, ledger, breaker });
    refusals.finish();
    deliverer.close();
    // Kafka comes after delivery and never changes the pass's outcome: an outage of the broker
    // only delays events (they stay KafkaPending and go out with a later pass).
    const kafka = config.kafka.enabled && !options.dryRun ? await publishPending({ db, settings: config.kafka, clock, log, deadline: pass.deadline, transactionalId: transactionalIdOf(config.storeId, config.tillId), tillId: config.tillId }) : null;
    const result = passResult(pass, ledger, breaker, kafka);
    // "Nothing pending" only when nothing waits out a refusal's backoff either (asked only of the
    // entities that have bookkeeping rows at all: most idle ticks have none to ask about).
    if (ledger.quiet && !options.dryRun && result.exitCode === ExitCode.ok) {
      result.waiting = waitingRows(db, clock.now(), ENTITIES.filter((e) => queue.hasBookkeeping(e)));
    }
    // An idle pass leaves no trace in the run history: it runs 8,640 times a day.
    if (!options.dryRun && !ledger.quiet) recordPass(db, config.storeId, result, newId);
    if (!options.dryRun) {
      const next = nextState(saved, breaker.state, result, clock.now(), refusals.after);
      if (worthSaving(saved, next, ledger.quiet, clock.now(), saveRefreshMs(config))) pass.stateStore.save(next);
    }
    return result;
  } catch (err) {
    if (!options.dryRun) pass.stateStore.save(failedState(saved, breaker.state, ledger.exitCodeOfFailure(err), err, ledger.summary(), clock.now(), clock.now() - pass.start));
    throw err;
  } finally {
    lock.release();
    db.close();
  }
}

/** The pass lock beside the database; a dry run reads only (pos-sync-operations(7) THE LOCAL DATABASE): no lock file appears. */
/** What the batch loop works with: one of each part of the pipeline. */
interface Pipeline {
  readonly db: Database;
  readonly source: BatchSource;
  readonly deliverer: Deliverer;
  readonly refusals: Refusals;
  readonly ledger: Ledger;
  readonly breaker: BreakerSession;
}

/**
 * Batch after batch from the source to the deliverer, sales first in cycles, until the
 * source is exhausted or the pass must stop (out of time, asked to, or what the ledger records).
 */
async function deliverBatches(pass: PassContext, { db, source, deliverer, refusals, ledger, breaker }: Pipeline): Promise<void> {
  const { options, deps } = pass;
  const { config, clock, log } = deps;
  const batchSize = options.batchSize ?? config.sync.batchSize;
  try {
    while (!source.exhausted) {
      // Sales first, inventory a share of the batches (domain/priority.ts).
      const slots = batchCycle(source.round());
      for (const [slot, entity] of slots.entries()) {
        if (!ledger.timeForABatch(pass.deadline - clock.now())) throw outOfTime();
        if (options.signal?.aborted) throw new StopPass('stopped', 'asked to stop: the rows left wait for the next run', ExitCode.ok);
        const batch = source.take(entity, breaker.inProbe ? Math.min(batchSize, PROBE_ROWS) : batchSize);
        if (batch === null) continue;
        if (options.dryRun) {
          ledger.markWouldSend(entity, batch.events);
          continue;
        }
        // A row the POS wrote with a value pos-sync cannot read cannot be sent faithfully: held and
        // listed (store/unreadable.ts) — not the central's refusal, never dead-lettered as one.
        if (batch.unreadable.length > 0) holdUnreadable(db, pass, entity, batch.unreadable, ledger);
        // Not while probing: a half-open breaker's one trial batch decides whether to go on.
        const next = breaker.inProbe ? undefined : (slots[slot + 1] ?? batchCycle(source.round())[0]);
        await deliverer.deliverBatch(batch, next === undefined ? undefined : () => source.readAhead(next, batchSize));
      }
      refusals.judgeRound();
    }
    deliverer.settle();
    if (breaker.inProbe && ledger.requests === 0) await deliverer.probeHealth();
  } catch (err) {
    // The batch acknowledged last is marked whatever stopped the pass (deliverer.ts, settle).
    deliverer.settle();
    if (!(err instanceof StopPass)) throw err;
    refusals.passStopped();
    ledger.stop(err);
    if (!err.failure) log.info(err.message);
  }
}

function holdUnreadable(db: Database, pass: PassContext, entity: Entity, rows: readonly { rowid: number; id: string; error: string }[], ledger: Ledger): void {
  const { config, clock, log } = pass.deps;
  const held = recordUnreadable(db, entity, rows, clock.now(), { baseDelayMs: config.sync.retryDelayMs, maxDelayMs: MAX_QUARANTINE_DELAY_MS });
  ledger.markUnreadable(entity, rows.length);
  for (const [i, r] of rows.entries()) {
    log.warn(`row not sent: pos-sync cannot read it (${r.error}); not refused by the central, never dead-lettered; pos-sync status lists it; fix it in the POS and it goes out`, {
      entity,
      id: r.id,
      lookAgainAt: held[i] ? new Date(held[i].nextAt).toISOString() : null,
    });
  }
}

async function lockThePass(pass: PassContext, db: Database): Promise<PassLock> {
  if (pass.options.dryRun) return { path: '', release: () => undefined, refresh: () => true };
  try {
    assertWritable(pass.deps.config.db.path);
    const { acquireLock } = await import('../store/db.js'); // loaded already: the database is open
    return acquireLock(pass.deps.config.db.path, 'sync', pass.start);
  } catch (err) {
    db.close();
    throw err;
  }
}

function breakerDeps(deps: SyncDeps): BreakerSessionDeps {
  return { clock: deps.clock, random: deps.random, settings: deps.config.breaker, log: deps.log };
}

function passResult(pass: PassContext, ledger: Ledger, breaker: BreakerSession, kafka: PublishReport | null): PassResult {
  const { options, deps } = pass;
  const { exitCode, stoppedBy, error, ...counts } = ledger.summary();
  // In the order the JSON document has always shown them.
  return {
    command: 'sync',
    exitCode,
    stoppedBy,
    startedAt: new Date(pass.start).toISOString(),
    durationMs: deps.clock.now() - pass.start,
    ...counts,
    dryRun: options.dryRun === true,
    ...(options.dryRun ? { wouldSend: ledger.wouldSend } : {}),
    error,
    breaker: describeBreaker(breaker.left, deps.clock.now(), deps.config.breaker),
    probe: breaker.probing,
    kafka,
  };
}

/** An open breaker's refusal (refused.ts, shared with the fast path of src/idle.ts). */
function refusedPass(pass: PassContext, prev: SavedState, nextProbeAt: number, heldLock: PassLock | null): PassResult {
  const { config, clock } = pass.deps;
  return refuseThePass({ config, clock, start: pass.start, store: pass.stateStore, prev, nextProbeAt, underLock: heldLock !== null });
}
