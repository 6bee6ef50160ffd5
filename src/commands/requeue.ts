// `pos-sync requeue`: dead-lettered rows back to pending (man page, requeue), with --all or --id <id…>;
// quarantined rows released (man page, QUARANTINE): the next pass sends them, alone.
// The next pass sends them like new rows; a row refused again is dead-lettered again after
// Sync.MaxRejections refusals. The whole command: its options and --help, its run, the requeueing,
// its human output.

import type { Database } from 'better-sqlite3';
import type { Paint } from '../cli/render.js';
import { plural } from '../domain/localtime.js';
import { escapeControl } from '../domain/redact.js';
import type { Entity } from '../domain/rows.js';
import { ExitCode, UsageError } from '../errors.js';
import { requeueAll, requeueIds, type IdFate } from '../store/deadletters.js';
import { acquireLock } from '../store/db.js';
import { releaseQuarantined } from '../store/quarantine.js';
import { ENTITIES } from '../domain/rows.js';
import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync status --dead-letters           find the ids and the reasons first
  pos-sync requeue --id 651ECA5B-96B0-4CD4-ADCC-FAA022B44AAF
  pos-sync requeue --all                   dead letters and quarantined rows

Exit codes:
  0   requeued (or nothing to requeue)
  64  an id names no row (the others are requeued), or neither/both of --all and --id
  74  the database is missing or unreadable
  75  a pass still held the lock after Database.CommandTimeoutSeconds: try again
  78  configuration error`;

export const requeue = defineCommand<{ all?: boolean; id?: string[] }>({
  options: [
    { flags: '--all', description: 'every dead-lettered and every quarantined row' },
    { flags: '--id <id...>', description: 'these row ids' },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    checkRequeueOptions({ all: opts.all, ids: opts.id }); // a usage error before anything is opened
    const { config } = await ctx.loadConfig();
    const openDb = await ctx.databases();
    const result = runRequeue({ all: opts.all, ids: opts.id }, { openDb: () => openDb(config, false), lockWaitMs: config.db.busyTimeoutMs });
    if (result.unknownIds.length > 0) ctx.log.error(`no row has the id ${result.unknownIds.join(', ')}`);
    ctx.print(result, () => renderRequeue(result, ctx.paint));
    return result.exitCode;
  },
});

export interface RequeueOptions {
  readonly all?: boolean | undefined;
  readonly ids?: readonly string[] | undefined;
}

export interface RequeueDeps {
  readonly openDb: () => Database;
  /** How long to wait for a pass that holds the lock (Database.CommandTimeoutSeconds). */
  readonly lockWaitMs?: number;
}

export interface RequeueResult {
  readonly command: 'requeue';
  /** 0, or 64 when some ids given are in neither table (the known ones are requeued anyway). */
  readonly exitCode: number;
  readonly requeued: Record<Entity, number>;
  /** Quarantined rows released: due at the next pass. */
  readonly released: Record<Entity, number>;
  /** Parked Kafka events (their rows were delivered) queued for Kafka again. */
  readonly kafkaRequeued: number;
  /** With --id: what happened to each id given. */
  readonly ids: readonly (IdFate | { readonly id: string; readonly entity: Entity; readonly result: 'released' })[];
  readonly unknownIds: readonly string[];
}

/** Checks the options before the database is opened: a usage error changes nothing. */
export function checkRequeueOptions(options: RequeueOptions): void {
  const ids = options.ids ?? [];
  if (options.all && ids.length > 0) throw new UsageError('give either --all or --id, not both');
  if (!options.all && ids.length === 0) throw new UsageError('say which dead-lettered or quarantined rows to requeue: --all, or --id <id...>');
  const blank = ids.find((id) => id.trim() === '' || id.length > 200);
  if (blank !== undefined) throw new UsageError(`--id "${blank.slice(0, 40)}" is not a row id`);
}

export function runRequeue(options: RequeueOptions, deps: RequeueDeps): RequeueResult {
  checkRequeueOptions(options);
  const db = deps.openDb();
  let lock: ReturnType<typeof acquireLock>;
  try {
    // The pass lock (shared with sync and cleanup): a requeue never races a pass's bookkeeping;
    // it waits for a pass in progress rather than send the technician away.
    lock = acquireLock(db.name, 'requeue', Date.now(), deps.lockWaitMs ?? 0);
  } catch (err) {
    db.close();
    throw err;
  }
  try {
    const perEntity = (list: readonly { entity: Entity }[]): Record<Entity, number> => ({
      transaction: list.filter((r) => r.entity === 'transaction').length,
      inventory: list.filter((r) => r.entity === 'inventory').length,
    });
    if (options.all) {
      const released = perEntity(releaseQuarantined(db, null));
      const { kafka, ...requeued } = requeueAll(db);
      return { command: 'requeue', exitCode: ExitCode.ok, requeued, released, kafkaRequeued: kafka, ids: [], unknownIds: [] };
    }
    const given = (options.ids ?? []).map((id) => id.trim());
    // An id typed in lower case names the POS's upper-case GUID too (as requeueIds finds it).
    const freed = releaseQuarantined(db, given.flatMap((id) => [...new Set([id, id.toUpperCase()])].flatMap((v) => ENTITIES.map((entity) => ({ entity, id: v })))));
    const freedIds = new Set(freed.map((f) => f.id));
    const fates = requeueIds(db, given).map((f) => (f.entity !== null && freedIds.has(f.id) ? { id: f.id, entity: f.entity, result: 'released' as const } : f));
    const requeued = { transaction: 0, inventory: 0 };
    let kafkaRequeued = 0;
    for (const f of fates) {
      if (f.result === 'requeued' && f.kafka) kafkaRequeued++;
      else if (f.result === 'requeued') requeued[f.entity]++;
    }
    const unknownIds = fates.filter((f) => f.result === 'unknown').map((f) => f.id);
    return { command: 'requeue', exitCode: unknownIds.length > 0 ? ExitCode.usage : ExitCode.ok, requeued, released: perEntity(freed), kafkaRequeued, ids: fates, unknownIds };
  } finally {
    lock.release();
    db.close();
  }
}

export function renderRequeue(r: RequeueResult, p: Paint): string {
  const n = r.requeued.transaction + r.requeued.inventory;
  const lines = [
    n === 0
      ? 'no dead-lettered row was requeued'
      : `requeued ${plural(n, 'dead-lettered row')} (${plural(r.requeued.transaction, 'transaction')}, ${plural(r.requeued.inventory, 'inventory update')}); the next pass sends ${n === 1 ? 'it' : 'them'}`,
  ];
  const freed = r.released.transaction + r.released.inventory;
  if (freed > 0 && n === 0) lines.pop();
  if (freed > 0) lines.push(`released ${plural(freed, 'quarantined row')} from the quarantine; the next pass sends ${freed === 1 ? 'it' : 'them'}, alone`);
  if (r.kafkaRequeued > 0) lines.push(`queued ${r.kafkaRequeued} parked Kafka event${r.kafkaRequeued === 1 ? '' : 's'} for Kafka again; the next pass publishes them`);
  for (const f of r.ids) {
    if (f.result === 'notDeadLettered') lines.push(`  ${escapeControl(f.id)}: not dead-lettered (${f.synced ? 'already synced' : 'still pending'}), left as it is`);
  }
  if (r.unknownIds.length > 0) lines.push(p.bad(`unknown ids (in neither PosTransactions nor InventoryUpdates): ${escapeControl(r.unknownIds.join(', '))}`));
  return lines.join('\n') + '\n';
}
