// Rows the central refused in a pass, recorded with their backoff or dead letter (a row pos-sync
// cannot read is no refusal: store/unreadable.ts). The central's refusals are held back while no
// row of the pass has been accepted: if every row tried is refused for one reason, the reason is
// not about the rows (domain/refusals.ts, pos-sync-central(7)) and no row is penalised.

import { decideRejection } from '../domain/backoff.js';
import { ENTITIES, type Entity } from '../domain/rows.js';
import { refusalReason } from '../domain/refusal.js';
import { judgeHeld, penaliseWaiting, reasonOf, refusedAloneAfter, type HeldRefusal, type RefusedAlone } from '../domain/refusals.js';
import { ExitCode } from '../errors.js';
import { formatDbTime, type Clock } from '../domain/time.js';
import type { Logger } from '../log.js';
import type { Queue, RefusedRow, RefusedRowDecision } from '../store/queue.js';
import { StopPass, type Ledger } from './ledger.js';

export interface RefusalSettings {
  readonly maxRejections: number;
  readonly retryDelayMs: number;
  readonly storeId: string;
  /** What earlier passes left: every row they tried refused for this reason (the state file). */
  readonly refusedAlone?: RefusedAlone | null;
}

interface Held {
  readonly entity: Entity;
  readonly row: RefusedRow & HeldRefusal;
}

export class Refusals {
  #acceptedRows = 0;
  #held: Held[] = [];
  /** Whether a refusal by the central was recorded as a row's own. */
  #recordedCentral = false;
  /** Set when the pass ended with refusals judged across passes (see after). */
  #after: RefusedAlone | null | undefined = undefined;

  constructor(
    private readonly queue: Queue,
    private readonly ledger: Ledger,
    private readonly settings: RefusalSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly newId: () => string,
  ) {}

  /** Records refusals now: each row's refusal count, backoff or dead letter. */
  record(entity: Entity, refused: readonly RefusedRow[]): void {
    if (refused.length === 0) return;
    const now = this.clock.now();
    const decisions: RefusedRowDecision[] = refused.map((row) => {
      const d = decideRejection(this.queue.rejectionsOf(entity, row.id, row.rowid), this.settings.maxRejections, this.settings.retryDelayMs, now);
      return { ...row, rejections: d.rejections, deadLettered: d.deadLettered, nextAttemptAt: d.nextAttemptAt === null ? null : formatDbTime(d.nextAttemptAt) };
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
  refusedByCentral(entity: Entity, refused: readonly RefusedRow[]): void {
    if (refused.length === 0) return;
    if (this.#acceptedRows > 0) {
      this.#recordedCentral = true;
      return this.record(entity, refused);
    }
    this.#held.push(...refused.map((row) => ({ entity, row: { ...row, refusedBefore: this.queue.rejectionsOf(entity, row.id) > 0 } })));
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
    const refused = this.#held.map((h): HeldRefusal => h.row);
    const before = this.settings.refusedAlone ?? null;
    const verdict = judgeHeld(refused, this.#acceptedRows, before);
    if (verdict.kind === 'record') this.recordHeld();
    if (verdict.kind === 'shared') {
      const n = this.#held.length;
      this.#after = refusedAloneAfter(before, refused, 0, false, this.clock.now());
      this.#held = [];
      const earlier = n < 2 ? ' and of the passes before it' : '';
      throw new StopPass(
        'notAboutRows',
        `the central API refused all ${n === 1 ? 'the rows' : `${n} rows`} of this pass${earlier} for the same reason, so it is not about the rows (no row penalised): ${verdict.reason}`,
        ExitCode.config,
      );
    }
  }

  /** The pass stopped for another reason: held refusals that are all alike still penalise no row. */
  passStopped(): void {
    const refused = this.#held.map((h) => h.row);
    const before = this.settings.refusedAlone ?? null;
    if (judgeHeld(refused, this.#acceptedRows, before).kind !== 'record' && !penaliseWaiting(refused)) {
      this.#after = refusedAloneAfter(before, refused, 0, false, this.clock.now());
      this.#held = [];
    }
  }

  /**
   * The end of the pass: a lone refusal with nothing accepted waits for the next pass's judgement
   * (no row penalised yet, remembered in the state file); anything else still held is recorded.
   */
  finish(): void {
    const refused = this.#held.map((h) => h.row);
    const before = this.settings.refusedAlone ?? null;
    if (refused.length > 0 && this.#acceptedRows === 0 && judgeHeld(refused, 0, before).kind === 'wait' && !penaliseWaiting(refused)) {
      this.#after = refusedAloneAfter(before, refused, 0, false, this.clock.now());
      this.#held = [];
      this.log.warn(`the central API refused the only row of this pass and none was accepted; it is not counted against the row until the next row tells whether the reason is about the row: ${reasonOf(refused[0]!)}`, {
        id: refused[0]!.id,
      });
      return;
    }
    this.recordHeld();
  }

  /** What this pass leaves in the state file for the next to judge a lone refusal with (undefined: unchanged). */
  get after(): RefusedAlone | null | undefined {
    if (this.#after !== undefined) return this.#after;
    return refusedAloneAfter(this.settings.refusedAlone ?? null, [], this.#acceptedRows, this.#recordedCentral, this.clock.now());
  }

  /** Records what is still held (a single refusal with nothing else tried is the row's own). */
  recordHeld(): void {
    const held = this.#held;
    this.#held = [];
    if (held.length > 0) this.#recordedCentral = true;
    for (const entity of ENTITIES) this.record(entity, held.filter((h) => h.entity === entity).map((h) => h.row));
  }
}
