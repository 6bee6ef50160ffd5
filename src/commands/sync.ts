// `pos-sync sync`: one bounded pass. Reads pending rows in batches, delivers them (retries inside
// the pass), marks them synced per batch, records refusals and dead letters, and stops at the
// first sign the central is down, misconfigured or refusing our credentials (SPEC §2, §5).

import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { CentralClient } from '../central/client.js';
import { idempotencyKey } from '../central/key.js';
import { withRetries, type RetriedOutcome, type Sleep } from '../central/retry.js';
import type { Config } from '../config/types.js';
import { decideRejection, splitBatch } from '../domain/backoff.js';
import { singlePayload, toEvent, type CentralEvent } from '../domain/events.js';
import { ENTITIES, type Entity, type InventoryRow, type TransactionRow } from '../domain/rows.js';
import { formatDbTime, type Clock, type Random } from '../domain/time.js';
import { ExitCode, worstExitCode } from '../errors.js';
import type { Logger } from '../log.js';
import { Queue, type Rejection } from '../store/queue.js';
import { recordPass } from '../store/history.js';
import { acquireLock } from '../state/lock.js';

export interface SyncOptions {
  readonly batchSize?: number | undefined;
  readonly maxRunSeconds?: number | undefined;
  readonly dryRun?: boolean | undefined;
  readonly force?: boolean | undefined;
}

export interface SyncDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: Random;
  readonly sleep: Sleep;
  readonly log: Logger;
  readonly openDb: () => Database;
  /** Created on first use, so a pass with nothing to send never loads the HTTP stack. */
  readonly central: () => Promise<CentralClient>;
  readonly newId?: () => string;
}

export type PerEntity = Record<Entity, number>;

export type StopReason = 'drained' | 'time' | 'unavailable' | 'credentials' | 'misconfigured';

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
}

type PendingRowOf = TransactionRow | InventoryRow;

const zero = (): PerEntity => ({ transaction: 0, inventory: 0 });

/** Pass-level stop raised by a delivery; carries what the whole pass should report. */
class StopPass extends Error {
  constructor(readonly reason: StopReason, message: string, readonly exitCode: number) {
    super(message);
  }
}

export async function runSync(options: SyncOptions, deps: SyncDeps): Promise<PassResult> {
  const { config, clock, log } = deps;
  const start = clock.now();
  const maxRunMs = options.maxRunSeconds !== undefined ? options.maxRunSeconds * 1000 : config.sync.maxRunMs;
  const deadline = start + maxRunMs;
  const batchSize = options.batchSize ?? config.sync.batchSize;
  const newId = deps.newId ?? (() => randomUUID().toUpperCase());
  const entities = ENTITIES.filter((e) => (e === 'transaction' ? config.sync.transactions : config.sync.inventory));

  const delivered = zero();
  const rejected = zero();
  const deadLettered = zero();
  let requests = 0;
  let failedRequests = 0;
  let stoppedBy: StopReason = 'drained';
  let exitCode: number = ExitCode.ok;
  let error: string | null = null;

  const db = deps.openDb();
  // A killed pass's lock is taken over once it is far older than any pass could run.
  const lock = acquireLock(config.db.path, 'sync', start, Math.max(60_000, maxRunMs * 10));
  try {
    const queue = new Queue(db);
    let client: CentralClient | undefined;
    const central = async (): Promise<CentralClient> => (client ??= await deps.central());

    const reject = (entity: Entity, fates: readonly { id: string; error: string; httpStatus: number | null }[]): void => {
      if (fates.length === 0) return;
      const now = clock.now();
      const nowText = formatDbTime(now);
      const decisions: Rejection[] = fates.map((f) => {
        const d = decideRejection(queue.rejectionsOf(entity, f.id), config.sync.maxRejections, config.sync.retryDelayMs, now);
        return { ...f, rejections: d.rejections, deadLettered: d.deadLettered, nextAttemptAt: d.nextAttemptAt === null ? null : formatDbTime(d.nextAttemptAt) };
      });
      queue.recordRejections(entity, decisions, nowText, config.storeId, newId);
      for (const d of decisions) {
        rejected[entity]++;
        if (d.deadLettered) deadLettered[entity]++;
        log.warn(d.deadLettered ? 'row dead-lettered' : 'row refused', { entity, id: d.id, error: d.error, refusals: d.rejections });
      }
    };

    const send = async (body: string, key: string, ids: ReadonlySet<string>): Promise<RetriedOutcome> => {
      const c = await central();
      return withRetries(
        async (timeLeftMs) => {
          requests++;
          const outcome = await c.post({ body, idempotencyKey: key, ids, timeoutMs: Math.min(config.http.timeoutMs, timeLeftMs) }, () => clock.now());
          if (outcome.kind === 'temporary') failedRequests++;
          return outcome;
        },
        {
          maxRetries: config.http.maxRetries,
          deadline,
          clock,
          random: deps.random,
          sleep: deps.sleep,
          onRetry: ({ retry, waitMs, error: e }) => log.info('retrying a request', { retry, waitMs: Math.round(waitMs), error: e }),
        },
      );
    };

    /** Delivers one group of events (all one entity); splits on refusals. */
    const deliver = async (entity: Entity, events: readonly CentralEvent[]): Promise<void> => {
      const ids = events.map((e) => e.id);
      const idSet = new Set(ids);
      const single = config.http.format === 'single';
      const body = single ? JSON.stringify(singlePayload(events[0]!)) : JSON.stringify(events);
      const key = single ? events[0]!.id : idempotencyKey(ids);
      const outcome = await send(body, key, idSet);
      const nowText = formatDbTime(clock.now());
      switch (outcome.kind) {
        case 'accepted': {
          const refused = new Set(outcome.rejected.map((r) => r.id));
          const ok = refused.size === 0 ? ids : ids.filter((id) => !refused.has(id));
          delivered[entity] += queue.markSynced(entity, ok, nowText, config.kafka.enabled);
          reject(entity, outcome.rejected.map((r) => ({ ...r, httpStatus: 200 })));
          return;
        }
        case 'refused':
        case 'tooLarge': {
          if (events.length === 1) {
            reject(entity, [{ id: ids[0]!, error: outcome.error, httpStatus: outcome.status }]);
            return;
          }
          log.debug('splitting a batch the central refused', { entity, rows: events.length, status: outcome.status });
          for (const half of splitBatch(events)) await deliver(entity, half);
          return;
        }
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
          throw new StopPass('unavailable', `the central API is unavailable after ${config.http.maxRetries} retries: ${outcome.error}`, ExitCode.tempFail);
        case 'outOfTime':
          queue.markAttempt(entity, ids, nowText, outcome.error);
          throw new StopPass('unavailable', `the central API is unavailable: ${outcome.error}`, ExitCode.tempFail);
      }
    };

    const cursor: Record<Entity, number> = { transaction: 0, inventory: 0 };
    const drained = new Set<Entity>();
    const wouldSend = { batches: 0, rows: zero(), firstBatch: [] as CentralEvent[] };
    try {
      // Round-robin over entities so a long backlog of one never starves the other.
      while (drained.size < entities.length) {
        for (const entity of entities) {
          if (drained.has(entity)) continue;
          if (deadline - clock.now() < 100) {
            stoppedBy = 'time';
            throw new StopPass('time', 'time budget reached; the next pass goes on', ExitCode.ok);
          }
          const rows: PendingRowOf[] = queue.nextPending(entity, cursor[entity], formatDbTime(clock.now()), batchSize);
          if (rows.length === 0) {
            drained.add(entity);
            continue;
          }
          cursor[entity] = rows[rows.length - 1]!.rowid;
          const events: CentralEvent[] = [];
          const invalid: { id: string; error: string; httpStatus: null }[] = [];
          for (const row of rows) {
            const mapped = toEvent(entity, row);
            if (mapped.ok) events.push(mapped.value);
            else invalid.push({ id: mapped.id, error: mapped.error, httpStatus: null });
          }
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
            for (const event of events) await deliver(entity, [event]);
          } else if (events.length > 0) {
            await deliver(entity, events);
          }
        }
      }
    } catch (err) {
      if (!(err instanceof StopPass)) throw err;
      stoppedBy = err.reason;
      if (err.reason !== 'time') {
        error = err.message;
        exitCode = err.exitCode;
      } else {
        log.info(err.message);
      }
    }

    const total = (p: PerEntity): number => p.transaction + p.inventory;
    if (total(rejected) > 0) exitCode = worstExitCode([exitCode, ExitCode.rejected]);
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
    };
    // An idle pass leaves no trace in the run history: it runs 8,640 times a day.
    if (!options.dryRun && (requests > 0 || total(rejected) > 0)) recordPass(db, config.storeId, result, newId);
    return result;
  } finally {
    lock.release();
    db.close();
  }
}
