// A pass's side of the quarantine (domain/quarantine.ts): whether the central is known to answer in
// this pass (a POST answered, or its health endpoint said so), which rows of a batch are suspects
// (sent alone, after the rest), and the strikes a narrowed-down failure gives.

import type { Database } from 'better-sqlite3';
import type { CentralEvent } from '../domain/events.js';
import { strike, type QuarantineSettings } from '../domain/quarantine.js';
import type { Entity } from '../domain/rows.js';
import type { Clock } from '../domain/time.js';
import type { Logger } from '../log.js';
import { clearSuspects, loadSuspects, recordStrike, suspectKey, withAnswer, type SuspectRecord } from '../store/quarantine.js';

export class Isolation {
  #suspects: Map<string, SuspectRecord> | null = null;
  #centralAnswered = false;
  #health: Promise<boolean> | null = null;
  /** Rows quarantined by this pass (for its result and its log). */
  readonly quarantined: { entity: Entity; id: string }[] = [];

  constructor(
    private readonly db: Database,
    private readonly settings: QuarantineSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Read on the first batch with something to send: an idle pass never reads the table. */
  get #all(): Map<string, SuspectRecord> {
    return (this.#suspects ??= loadSuspects(this.db));
  }

  /** The events of a batch that are suspects: they go alone, after the rest of the batch. */
  suspectsAmong(entity: Entity, events: readonly CentralEvent[]): CentralEvent[] {
    const all = this.#all;
    return all.size === 0 ? [] : events.filter((e) => all.has(suspectKey(entity, e.id)));
  }

  isSuspect(entity: Entity, id: string): boolean {
    return this.#all.has(suspectKey(entity, id));
  }

  /** A POST was answered (accepted or refused): the central is up in this pass. */
  answered(): void {
    this.#centralAnswered = true;
  }

  get centralAnswered(): boolean {
    return this.#centralAnswered;
  }

  /**
   * Whether the central is known to answer: a POST of this pass was answered, or else its health
   * endpoint answers 2xx — asked once per pass, so an outage costs one GET.
   */
  async centralUp(askHealth: () => Promise<boolean>): Promise<boolean> {
    if (this.#centralAnswered) return true;
    return (this.#health ??= askHealth().catch(() => false));
  }

  /** The row, alone, failed while the central answered: one more strike, maybe the quarantine. */
  struck(entity: Entity, event: CentralEvent, answer: string): void {
    const key = suspectKey(entity, event.id);
    const prev = this.#all.get(key) ?? null;
    const now = this.clock.now();
    const next = strike(prev, now, this.settings);
    const answers = withAnswer(prev?.answers ?? '', answer);
    recordStrike(this.db, entity, event.id, next, answers, now);
    this.#all.set(key, { entity, id: event.id, ...next, answers });
    if (next.nextAttemptAt === null) {
      this.log.warn(`row failed alone while the central answered the others (${next.strikes} of ${this.settings.afterPasses} passes before quarantine): ${answer}`, { entity, id: event.id });
      return;
    }
    this.quarantined.push({ entity, id: event.id });
    this.log.warn(`row quarantined: it failed alone in ${next.strikes} passes while the central answered the others; the rest goes on, it is tried alone again at ${new Date(next.nextAttemptAt).toISOString()}: ${answer}`, {
      entity,
      id: event.id,
      tries: next.tries,
    });
  }

  /** Suspects that went through or were answered (a refusal is the row's own story) are suspects no more. */
  settled(entity: Entity, ids: readonly string[]): void {
    const all = this.#suspects;
    if (all === null || all.size === 0) return;
    const gone = ids.filter((id) => all.delete(suspectKey(entity, id)));
    if (gone.length === 0) return;
    clearSuspects(this.db, entity, gone);
    this.log.info(`${gone.length === 1 ? 'a row' : `${gone.length} rows`} under suspicion went through`, { entity, ids: gone });
  }
}
