// `pos-sync requeue`: dead-lettered rows back to pending (SPEC §2), with --all or --id <id…>.
// The next pass sends them like new rows; a row refused again is dead-lettered again after
// Sync.MaxRejections refusals.

import type { Database } from 'better-sqlite3';
import type { Entity } from '../domain/rows.js';
import { ExitCode, UsageError } from '../errors.js';
import { requeueAll, requeueIds, type IdFate } from '../store/deadletters.js';
import { acquireLock } from '../store/db.js';

export interface RequeueOptions {
  readonly all?: boolean | undefined;
  readonly ids?: readonly string[] | undefined;
}

export interface RequeueDeps {
  readonly openDb: () => Database;
}

export interface RequeueResult {
  readonly command: 'requeue';
  /** 0, or 64 when some ids given are in neither table (the known ones are requeued anyway). */
  readonly exitCode: number;
  readonly requeued: Record<Entity, number>;
  /** Parked Kafka events (their rows were delivered) queued for Kafka again. */
  readonly kafkaRequeued: number;
  /** With --id: what happened to each id given. */
  readonly ids: readonly IdFate[];
  readonly unknownIds: readonly string[];
}

/** Checks the options before the database is opened: a usage error changes nothing. */
export function checkRequeueOptions(options: RequeueOptions): void {
  const ids = options.ids ?? [];
  if (options.all && ids.length > 0) throw new UsageError('give either --all or --id, not both');
  if (!options.all && ids.length === 0) throw new UsageError('say which dead-lettered rows to requeue: --all, or --id <id...>');
  const blank = ids.find((id) => id.trim() === '' || id.length > 200);
  if (blank !== undefined) throw new UsageError(`--id "${blank.slice(0, 40)}" is not a row id`);
}

export function runRequeue(options: RequeueOptions, deps: RequeueDeps): RequeueResult {
  checkRequeueOptions(options);
  const db = deps.openDb();
  let lock: ReturnType<typeof acquireLock>;
  try {
    // The pass lock (shared with sync and cleanup): a requeue never races a pass's bookkeeping.
    lock = acquireLock(db.name, 'requeue', Date.now());
  } catch (err) {
    db.close();
    throw err;
  }
  try {
    if (options.all) {
      const { kafka, ...requeued } = requeueAll(db);
      return { command: 'requeue', exitCode: ExitCode.ok, requeued, kafkaRequeued: kafka, ids: [], unknownIds: [] };
    }
    const fates = requeueIds(db, (options.ids ?? []).map((id) => id.trim()));
    const requeued = { transaction: 0, inventory: 0 };
    let kafkaRequeued = 0;
    for (const f of fates) {
      if (f.result === 'requeued' && f.kafka) kafkaRequeued++;
      else if (f.result === 'requeued') requeued[f.entity]++;
    }
    const unknownIds = fates.filter((f) => f.result === 'unknown').map((f) => f.id);
    return { command: 'requeue', exitCode: unknownIds.length > 0 ? ExitCode.usage : ExitCode.ok, requeued, kafkaRequeued, ids: fates, unknownIds };
  } finally {
    lock.release();
    db.close();
  }
}
