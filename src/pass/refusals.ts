// Rows refused in a pass — locally (a row the POS wrote wrongly) or by the central — recorded with
// their backoff or dead letter. The central's refusals are held back while no row of the pass has
// been accepted: if every row tried is refused for one reason, the reason is not about the rows
// (domain/refusals.ts, SPEC §5) and no row is penalised.

import { decideRejection } from '../domain/backoff.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { refusalReason } from '../domain/refusal.js';
import { judgeHeld, type HeldRefusal } from '../domain/refusals.js';
import { ExitCode } from '../errors.js';
import { formatDbTime, type Clock } from '../domain/time.js';
import type { Logger } from '../log.js';
import type { Queue, Rejection } from '../store/queue.js';
import { StopPass, type Ledger } from './ledger.js';

/** One refused row: why, the HTTP status of the refusal (null: refused locally), its rowid if known. */
export interface RefusedRow {
  readonly id: string;
  readonly error: string;
  readonly httpStatus: number | null;
  readonly rowid?: number;
}

export interface RefusalSettings {
  readonly maxRejections: number;
  readonly retryDelayMs: number;
  readonly storeId: string;
}

interface Held {
  readonly entity: Entity;
  readonly fate: RefusedRow & HeldRefusal;
}

export class Refusals {
  #acceptedRows = 0;
  #held: Held[] = [];

  constructor(
    private readonly queue: Queue,
    private readonly ledger: Ledger,
    private readonly settings: RefusalSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly newId: () => string,
  ) {}

  /** Records refusals now: each row's refusal count, backoff or dead letter. */
  record(entity: Entity, fates: readonly RefusedRow[]): void {
    if (fates.length === 0) return;
    const now = this.clock.now();
    const decisions: Rejection[] = fates.map((f) => {
      const d = decideRejection(this.queue.rejectionsOf(entity, f.id, f.rowid), this.settings.maxRejections, this.settings.retryDelayMs, now);
      return { ...f, rejections: d.rejections, deadLettered: d.deadLettered, nextAttemptAt: d.nextAttemptAt === null ? null : formatDbTime(d.nextAttemptAt) };
    });
    this.queue.recordRejections(entity, decisions, formatDbTime(now), this.settings.storeId, this.newId);
    for (const d of decisions) {
      this.ledger.markRefused(entity, d.deadLettered);
      // The reason first; the central's whole answer only at debug.
      this.log.warn(`${d.deadLettered ? 'row dead-lettered' : 'row refused'}: ${refusalReason(d.error, d.id)}`, { entity, id: d.id, refusals: d.rejections });
      this.log.debug('the refusal as stored', { id: d.id, error: d.error });
    }
  }

  /** The central refused these rows: recorded at once once a row was accepted, else held back. */
  refusedByCentral(entity: Entity, fates: readonly RefusedRow[]): void {
    if (this.#acceptedRows > 0) return this.record(entity, fates);
    this.#held.push(...fates.map((fate) => ({ entity, fate: { ...fate, refusedBefore: this.queue.rejectionsOf(entity, fate.id) > 0 } })));
  }

  /** The central accepted rows: the refusals held so far were the rows' own. */
  accepted(rows: number): void {
    this.#acceptedRows += rows;
    if (rows > 0) this.recordHeld();
  }

  /**
   * After a whole round (a batch of each entity, so bad rows that happen to fill one entity's batch
   * are not taken for a central that refuses everything): stops the pass when every row tried so
   * far was refused for one reason.
   */
  judgeRound(): void {
    const verdict = judgeHeld(this.#held.map((h): HeldRefusal => h.fate), this.#acceptedRows);
    if (verdict.kind === 'record') this.recordHeld();
    if (verdict.kind === 'shared') {
      const n = this.#held.length;
      this.#held = [];
      throw new StopPass('notAboutRows', `the central API refused all ${n} rows of this pass for the same reason, so it is not about the rows (no row penalised): ${verdict.reason}`, ExitCode.config);
    }
  }

  /** The pass stopped for another reason: held refusals that are all alike still penalise no row. */
  passStopped(): void {
    if (judgeHeld(this.#held.map((h) => h.fate), this.#acceptedRows).kind === 'shared') this.#held = [];
  }

  /** Records what is still held (a single refusal with nothing else tried is the row's own). */
  recordHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const entity of ENTITIES) this.record(entity, held.filter((h) => h.entity === entity).map((h) => h.fate));
  }
}
