// Where a pass's batches come from: pending rows read after a cursor per entity, round-robin so a
// long backlog of one entity never starves the other, mapped to events (a row pos-sync cannot read
// is set aside as unreadable: store/unreadable.ts), and the next batch read ahead while the
// central works on the current one.

import { toEvent, type CentralEvent } from '../domain/events.js';
import type { Entity, InventoryRow, TransactionRow } from '../domain/rows.js';
import { formatDbTime, type Clock } from '../domain/time.js';
import { contentHash, imageOf, type Queue, type SentRow } from '../store/queue.js';
import type { UnreadableRow } from '../store/unreadable.js';

/** A request body and its Idempotency-Key. */
export interface Encoded {
  /** JSON text; a batch's as its UTF-8 bytes (deliverer.ts's encode says why). */
  readonly body: string | Uint8Array;
  readonly key: string;
}

/** One batch of pending rows of one entity: the events to send, and the rows pos-sync cannot read. */
export interface Batch {
  readonly entity: Entity;
  readonly events: readonly CentralEvent[];
  /** Event id → the row as read (rowid, content hash): marking checks the row is still what was sent. */
  readonly rows: ReadonlyMap<string, SentRow>;
  readonly unreadable: readonly UnreadableRow[];
  /** Encoded already when it was read ahead. */
  readonly encoded: Encoded | undefined;
}

interface ReadAhead {
  readonly entity: Entity;
  readonly limit: number;
  readonly cursorBefore: number;
  readonly batch: Batch | null;
  readonly error?: unknown;
}

export class BatchSource {
  readonly #cursor: Record<Entity, number> = { transaction: 0, inventory: 0 };
  readonly #drained = new Set<Entity>();
  #ahead: ReadAhead | null = null;
  /** Whether a read of this pass found rows (this is no idle tick). */
  #found = false;

  constructor(
    private readonly queue: Queue,
    /** The entities this pass syncs, in round-robin order. */
    private readonly entities: readonly Entity[],
    private readonly clock: Clock,
    private readonly encode: (events: readonly CentralEvent[]) => Encoded,
    /** Sync.TillId, carried in every event. */
    private readonly tillId?: string,
  ) {}

  /** Every entity has run out of pending rows. */
  get exhausted(): boolean {
    return this.#drained.size >= this.entities.length;
  }

  /** The entities of the next round: those not drained yet. */
  round(): Entity[] {
    return this.entities.filter((e) => !this.#drained.has(e));
  }

  /**
   * The next batch of `entity` (up to `limit` rows), the one read ahead when it matches; null when
   * none are left, and the entity counts as drained.
   */
  take(entity: Entity, limit: number): Batch | null {
    const ahead = this.#takeAhead(entity, limit);
    const batch = ahead !== undefined ? ahead : this.#read(entity, limit, false);
    if (batch === null) this.#drained.add(entity);
    return batch;
  }

  /** The entity the round-robin serves after `entity`, if any is left. */
  following(entity: Entity): Entity | undefined {
    const i = this.entities.indexOf(entity);
    return [...this.entities.slice(i + 1), ...this.entities.slice(0, i + 1)].find((e) => !this.#drained.has(e));
  }

  /**
   * Reads (and encodes) `entity`'s next batch now, so it overlaps the central's work on the current
   * one. take() hands it out only when it asks for exactly that; otherwise it is dropped and the
   * cursor put back, nothing of it written, its rows left pending. A read error surfaces at take().
   */
  readAhead(entity: Entity, limit: number): void {
    const cursorBefore = this.#cursor[entity];
    try {
      this.#ahead = { entity, limit, cursorBefore, batch: this.#read(entity, limit, true) };
    } catch (error) {
      this.#ahead = { entity, limit, cursorBefore, batch: null, error };
    }
  }

  /** The batch read ahead for exactly this entity and limit; undefined when there is none. */
  #takeAhead(entity: Entity, limit: number): Batch | null | undefined {
    const a = this.#ahead;
    this.#ahead = null;
    if (a === null) return undefined;
    if (a.entity !== entity || a.limit !== limit) {
      this.#cursor[a.entity] = a.cursorBefore;
      return undefined;
    }
    if (a.error !== undefined) throw a.error;
    return a.batch;
  }

  /** Up to `limit` pending rows of `entity` after the cursor, mapped; null when none are left. */
  #read(entity: Entity, limit: number, encodeNow: boolean): Batch | null {
    // Before the read: a write by the POS after this number shows at marking time (queue.ts). Not
    // before a pass's first read, which an idle tick makes and nothing else: the first batch's rows
    // have no number, and marking compares their content instead.
    const readVersion = this.#found ? this.queue.dataVersion() : undefined;
    const rows: (TransactionRow | InventoryRow)[] = this.queue.nextPending(entity, this.#cursor[entity], formatDbTime(this.clock.now()), limit);
    if (rows.length === 0) return null;
    this.#found = true;
    this.#cursor[entity] = rows[rows.length - 1]!.rowid;
    const events: CentralEvent[] = [];
    const sent = new Map<string, SentRow>();
    const unreadable: UnreadableRow[] = [];
    for (const row of rows) {
      const hash = contentHash(imageOf(entity, row));
      const mapped = toEvent(entity, row, this.tillId, hash);
      if (mapped.ok) {
        events.push(mapped.value);
        sent.set(mapped.value.id, { id: mapped.value.id, rowid: row.rowid, hash, readVersion });
      } else {
        unreadable.push({ id: mapped.id, error: mapped.error, rowid: row.rowid });
      }
    }
    return { entity, events, rows: sent, unreadable, encoded: encodeNow && events.length > 0 ? this.encode(events) : undefined };
  }
}
