// Hands a batch to the central: encodes it, sends it (retries inside the pass's budget), reads the
// answer, marks accepted rows synced, splits a refused batch to find the rows at fault, and turns
// an answer that ends the pass (credentials, a wrong endpoint, an outage, an answer not about the
// rows) into a StopPass. Tells the ledger what it counted and the breaker session what it learnt.

import type { CentralClient } from '../central/client.js';
import { idempotencyKey } from '../central/key.js';
import { withRetries, type RetriedOutcome, type Sleep } from '../central/retry.js';
import type { Config } from '../config/types.js';
import { splitBatch } from '../domain/backoff.js';
import { classifyResponse, type Outcome } from '../domain/classify.js';
import { isolatable, looksLikeOutage } from '../domain/quarantine.js';
import { singlePayload, type CentralEvent } from '../domain/events.js';
import type { Entity } from '../domain/rows.js';
import { formatDbTime, type Clock, type Random } from '../domain/time.js';
import { ExitCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Queue, SentRow } from '../store/queue.js';
import type { Batch, Encoded } from './batch-source.js';
import type { BreakerSession } from './breaker-session.js';
import { StopPass, outOfTime, type Ledger } from './ledger.js';
import type { Isolation } from './quarantine.js';
import type { Refusals } from './refusals.js';

export interface DelivererDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly random: Random;
  readonly sleep: Sleep;
  readonly log: Logger;
  /** Created on first use, so a pass with nothing to send never loads the HTTP stack. */
  readonly central: () => Promise<CentralClient>;
  readonly queue: Queue;
  readonly ledger: Ledger;
  readonly breaker: BreakerSession;
  readonly refusals: Refusals;
  /** Suspects and the quarantine (pass/quarantine.ts). */
  readonly isolation: Isolation;
  /** Epoch ms (on deps.clock) by which the pass must end. */
  readonly deadline: number;
  /** Told after every batch marked synced (the CLI's spinner on a terminal). */
  readonly onProgress?: ((delivered: number) => void) | undefined;
}

type Temporary = Extract<Outcome, { kind: 'temporary' }>;

/** A failure to narrow down to its rows instead of retrying the same body (domain/quarantine.ts). */
class Isolate extends Error {
  constructor(readonly outcome: Temporary) {
    super(outcome.error);
  }
}

/** How deliver() sends a group: its body when already encoded, whether marking waits, whether it narrows. */
interface DeliverHow {
  readonly encoded?: Encoded | undefined;
  readonly deferMarking?: boolean;
  readonly narrowing?: boolean;
}

/** What a delivery in narrowing mode hands back: the failure, when the group failed (nothing thrown). */
type Narrowed = Temporary | undefined;

/** Resolves once the current turn of the event loop is over: a request started now has gone out. */
const requestOnItsWay = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

export class Deliverer {
  #client: CentralClient | undefined;
  /** The marking of the batch acknowledged last, held until the next batch's request is out. */
  #unmarked: (() => void) | null = null;

  constructor(private readonly deps: DelivererDeps) {}

  /**
   * The request body and Idempotency-Key of a group of events. A batch's body is kept as bytes, not
   * as its JSON text: a string of more than 128 KB (500 events make ~190 KB) lives in V8's large-
   * object space, which a scavenge cannot copy, so one still in use (in flight, or read ahead) when
   * a scavenge comes is moved to the old generation and stays until a full collection — a long
   * drain piled up 40 MiB of them. The bytes' small handle dies young, and the bytes with it; the
   * text lives for the moment of encoding only. The bytes sent are the same.
   */
  readonly encode = (events: readonly CentralEvent[]): Encoded => {
    const single = this.deps.config.http.format === 'single';
    return {
      body: single ? JSON.stringify(singlePayload(events[0]!)) : Buffer.from(JSON.stringify(events)),
      // An edit of a row is a new request, not a retry of the old one: the key covers each
      // event's content hash (man page, central API).
      key: single ? events[0]!.id : idempotencyKey(events.map((e) => (e.contentHash === undefined ? e.id : `${e.id}:${e.contentHash}`))),
    };
  };

  /**
   * Delivers a batch: one request per row in the single format, else one for the batch. Once the
   * batch's request has gone out and before its answer is awaited, the previous batch's marking
   * runs (it was acknowledged; see settle) and then `meanwhile` (the read-ahead), so the central's
   * work on this batch overlaps both — the drain then runs at the pace of the slower side, not of
   * the two one after the other. This batch's own marking waits in turn for the next request, or
   * for settle(). The batch's own outcome, success or stop, is what this returns or throws.
   */
  async deliverBatch(batch: Batch, meanwhile?: () => void): Promise<void> {
    const { entity, events, rows } = batch;
    if (this.deps.config.http.format === 'single') {
      this.settle();
      for (const event of events) await this.deliver(entity, [event], rows);
      return;
    }
    if (events.length === 0) return;
    // Rows that failed alone in an earlier pass go alone, after the rest (man page, QUARANTINE).
    const suspects = this.deps.isolation.suspectsAmong(entity, events);
    const rest = suspects.length === 0 ? events : events.filter((e) => !suspects.includes(e));
    if (rest.length > 0) {
      const sending = this.deliver(entity, rest, rows, { encoded: suspects.length === 0 ? batch.encoded : undefined, deferMarking: true });
      sending.catch(() => undefined); // not unhandled while we wait: the await below takes it
      try {
        await requestOnItsWay();
      } finally {
        this.settle();
      }
      meanwhile?.();
      await sending;
    } else {
      meanwhile?.();
    }
    for (const suspect of suspects) await this.deliver(entity, [suspect], rows);
  }

  /**
   * Marks the batch acknowledged last, if its marking still waits. Marking always follows the
   * central's acknowledgement; the pass calls this before it ends, whatever ends it.
   */
  settle(): void {
    const mark = this.#unmarked;
    this.#unmarked = null;
    mark?.();
  }

  /** Half-open with nothing pending: a GET of the health endpoint is the probe. */
  async probeHealth(): Promise<void> {
    const { config, clock, ledger, breaker, deadline } = this.deps;
    const c = await this.#central();
    ledger.requestSent();
    const answer = await c.health(Math.max(1, Math.min(config.http.timeoutMs, deadline - clock.now())));
    const outcome = answer.status === null ? null : classifyResponse(answer.status, '', null, new Set(), clock.now());
    if (outcome === null || outcome.kind === 'temporary') {
      ledger.requestFailed();
      const why = answer.error ?? `HTTP ${answer.status}`;
      breaker.failed(why);
      throw new StopPass('unavailable', `the central API's health check failed: ${why}`, ExitCode.tempFail);
    }
    if (outcome.kind === 'credentials') {
      throw new StopPass('credentials', `the central API refused the credentials (HTTP ${outcome.status} at ${config.endpoints.health})`, ExitCode.noPermission);
    }
    if (outcome.kind === 'misconfigured') {
      throw new StopPass('misconfigured', `the central API answered HTTP ${outcome.status} at ${config.endpoints.health}: check Sync.HealthCheckEndpoint`, ExitCode.config);
    }
    breaker.answered();
  }

  /** Closes the client's kept-alive connections, if one was made. */
  close(): void {
    this.#client?.close?.();
  }

  async #central(): Promise<CentralClient> {
    return (this.#client ??= await this.deps.central());
  }

  /**
   * Delivers one group of events (all one entity); splits on refusals, and narrows a failure down
   * to its rows while the central answers others. `deferMarking`: the accepted rows are marked by
   * the next request's settle() (see deliverBatch). `narrowing`: one try, no retries, and a failure
   * that may be about the rows is handed back instead of ending the pass.
   */
  async deliver(entity: Entity, events: readonly CentralEvent[], rows: ReadonlyMap<string, SentRow>, how: DeliverHow = {}): Promise<Narrowed> {
    const { encoded = this.encode(events), deferMarking = false, narrowing = false } = how;
    const { config, clock, log, queue, ledger, breaker, refusals, isolation } = this.deps;
    const ids = events.map((e) => e.id);
    const failuresBefore = ledger.failedRequests;
    const requestsBefore = ledger.requests;
    const trial = breaker.inProbe;
    const sent = await this.#send(encoded, new Set(ids), narrowing);
    // An earlier batch's marking comes first, whatever this answer is: batches are marked in order.
    this.settle();
    if (sent.kind === 'isolate') return this.#narrow(entity, events, rows, sent.outcome);
    const outcome = sent;
    const nowText = formatDbTime(clock.now());
    if (narrowing && outcome.kind === 'temporary' && isolatable(outcome)) {
      queue.markAttempt(entity, ids, nowText, outcome.error);
      return outcome;
    }
    // What the answer says about the central's availability (401/403/404 say nothing).
    if (outcome.kind === 'accepted' || outcome.kind === 'refused' || outcome.kind === 'tooLarge') {
      breaker.answered();
      isolation.answered();
    } else if (outcome.kind === 'temporary') breaker.failed(outcome.error);
    else if (outcome.kind === 'outOfTime' && ledger.failedRequests > failuresBefore) breaker.failed(outcome.error);
    switch (outcome.kind) {
      case 'accepted': {
        const refused = new Set(outcome.rejected.map((r) => r.id));
        const ok = refused.size === 0 ? ids : ids.filter((id) => !refused.has(id));
        const sentRows = ok.map((id) => rows.get(id)).filter((r): r is SentRow => r !== undefined);
        const mark = (): void => {
          const marked = queue.markSynced(entity, sentRows, nowText, config.kafka.enabled);
          ledger.markDelivered(entity, marked);
          // What was marked is what was sent: a row the POS changed meanwhile goes out again.
          if (marked < sentRows.length) log.info('rows changed while their batch was in flight stay pending', { entity, rows: sentRows.length - marked });
          this.deps.onProgress?.(ledger.delivered.transaction + ledger.delivered.inventory);
        };
        if (deferMarking) this.#unmarked = mark;
        else mark();
        isolation.settled(entity, ids);
        // Not deferred: what the central accepted and refused counts at once (a round's judgement
        // of refusals, refusals.ts, must see this batch's acceptance).
        refusals.accepted(ok.length);
        refusals.refusedByCentral(entity, outcome.rejected.map((r) => ({ ...r, httpStatus: 200 })));
        return;
      }
      case 'refused':
      case 'tooLarge': {
        // The central named every row with its reason: nothing to isolate by splitting.
        if (outcome.kind === 'refused' && outcome.rows !== undefined && outcome.rows.length === events.length) {
          refusals.refusedByCentral(entity, outcome.rows.map((r) => ({ ...r, httpStatus: outcome.status })));
          isolation.settled(entity, ids);
          return;
        }
        if (events.length === 1) {
          // A proxy's size limit met by one row is the proxy's setting, not the row's fault.
          if (outcome.kind === 'tooLarge' && outcome.foreign) throw notAboutRows(outcome.error);
          refusals.refusedByCentral(entity, [{ id: ids[0]!, error: outcome.error, httpStatus: outcome.status }]);
          isolation.settled(entity, ids);
          return;
        }
        log.debug('splitting a batch the central refused', { entity, rows: events.length, status: outcome.status });
        // Each half on its own (a half that then fails is narrowed down by itself: the refusal was
        // an answer, so the central is known to be up), never handed back: its refusals are settled.
        for (const half of splitBatch(events)) await this.deliver(entity, half, rows);
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
        if (ledger.requests === requestsBefore) throw outOfTime();
        queue.markAttempt(entity, ids, nowText, outcome.error);
        throw new StopPass('unavailable', `the central API is unavailable: ${outcome.error}`, ExitCode.tempFail);
    }
  }

  /**
   * One request, retried inside the pass's budget (central/retry.ts) — unless it fails in a way
   * that may be about its rows while the central is known to answer (a POST of this pass was
   * answered, or else its health endpoint answers): then the same body is not
   * sent again and again, the failure is narrowed down instead ('isolate').
   */
  async #send({ body, key }: Encoded, ids: ReadonlySet<string>, narrowing: boolean): Promise<RetriedOutcome | { readonly kind: 'isolate'; readonly outcome: Temporary }> {
    const { config, clock, log, ledger, breaker, deadline, isolation } = this.deps;
    const c = await this.#central();
    const askHealth = async (): Promise<boolean> => {
      const answer = await c.health(Math.max(1, Math.min(config.http.timeoutMs, 3000, deadline - clock.now())));
      return answer.status !== null && answer.status >= 200 && answer.status < 300;
    };
    try {
      return await withRetries(
        async (timeLeftMs) => {
          ledger.requestSent();
          const sentAt = clock.now();
          const outcome = await c.post({ body, idempotencyKey: key, ids, timeoutMs: Math.min(config.http.timeoutMs, timeLeftMs) }, () => clock.now());
          if (outcome.kind === 'temporary') ledger.requestFailed();
          else ledger.answeredIn(clock.now() - sentAt);
          // Also on a half-open probe: a bad row at the head of the queue must not keep the breaker open.
          if (!narrowing && outcome.kind === 'temporary' && isolatable(outcome) && (await isolation.centralUp(askHealth))) {
            throw new Isolate(outcome);
          }
          return outcome;
        },
        {
          // Half-open means one trial request: its answer decides, retries would only delay that.
          maxRetries: breaker.inProbe || narrowing ? 0 : config.http.maxRetries,
        deadline,
        clock,
        random: this.deps.random,
        sleep: this.deps.sleep,
          onRetry: ({ retry, waitMs, error }) => log.info('retrying a request', { retry, waitMs: Math.round(waitMs), error }),
        },
      );
    } catch (err) {
      if (err instanceof Isolate) return { kind: 'isolate', outcome: err.outcome };
      throw err;
    }
  }

  /**
   * A group failed while the central answers: its halves are sent at once (each row tried again),
   * halves that fail are halved again, and a row that fails alone gets a strike — provided a
   * request of the narrowing succeeded (or the group was one row and the central answers), so
   * that an outage beginning now strikes nobody. Many failures in a row end it as an outage.
   */
  async #narrow(entity: Entity, events: readonly CentralEvent[], rows: ReadonlyMap<string, SentRow>, first: Temporary): Promise<undefined> {
    const { clock, log, queue, breaker, isolation } = this.deps;
    queue.markAttempt(entity, events.map((e) => e.id), formatDbTime(clock.now()), first.error);
    const culprits: { event: CentralEvent; error: string }[] = [];
    let failuresInARow = 1;
    let succeeded = false;
    /** Sends a group once; a row alone that fails is sent once more at once (a chance failure is not a strike). */
    const tryGroup = async (group: readonly CentralEvent[]): Promise<Temporary | undefined> => {
      let failed = await this.deliver(entity, group, rows, { narrowing: true });
      if (failed !== undefined && group.length === 1) {
        if (looksLikeOutage(++failuresInARow)) return this.#outage(failed);
        failed = await this.deliver(entity, group, rows, { narrowing: true });
      }
      if (failed === undefined) {
        failuresInARow = 0;
        succeeded = true;
      } else if (looksLikeOutage(++failuresInARow)) return this.#outage(failed);
      return failed;
    };
    if (events.length === 1) {
      // Alone already: sent once more at once, then judged.
      const failed = await this.deliver(entity, events, rows, { narrowing: true });
      if (failed !== undefined) culprits.push({ event: events[0]!, error: failed.error });
    } else {
      log.info('a batch failed while the central answers: narrowing it down', { entity, rows: events.length, error: first.error });
      const groups: (readonly CentralEvent[])[] = [events];
      for (let group = groups.shift(); group !== undefined; group = groups.shift()) {
        for (const half of splitBatch(group)) {
          const failed = await tryGroup(half);
          if (failed === undefined) continue;
          if (half.length === 1) culprits.push({ event: half[0]!, error: failed.error });
          else groups.push(half);
        }
      }
      if (!succeeded) return this.#outage(first);
    }
    for (const c of culprits) isolation.struck(entity, c.event, c.error);
    breaker.answered();
    return undefined;
  }

  /** Narrowing met failure after failure: the central is down after all (the ordinary temporary end). */
  #outage(failed: Temporary): never {
    this.deps.breaker.failed(failed.error);
    throw new StopPass('unavailable', `the central API is unavailable: ${failed.error}`, ExitCode.tempFail);
  }
}

/** A pass stopped by an answer that is not about the rows: exit 78, no row penalised (pos-sync-central(7)). */
export function notAboutRows(what: string): StopPass {
  return new StopPass('notAboutRows', `${what}; no row penalised: check the proxy or gateway in front of the central API and Sync.CentralApiEndpoint`, ExitCode.config);
}
