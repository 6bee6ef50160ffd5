// The till's standing as the verdict (domain/verdict.ts) reads it: the state file and the
// database's backlog mapped onto VerdictFacts once, for `status` and the heartbeat alike, so head
// office is told what a technician reads at the till. It lives here, not in the domain, because it
// reads the state file's, the store's and the configuration's types, which the domain may not import.

import type { Config } from '../config/types.js';
import { offlineDeadline } from '../domain/offline-deadline.js';
import { loneRefusal } from '../domain/refusal.js';
import type { Entity } from '../domain/rows.js';
import type { VerdictFacts } from '../domain/verdict.js';
import type { Peeked } from '../state/file.js';
import { backlogTotals, type EntityBacklog } from '../store/history.js';

/** What the verdict is built from, read once by `status` or by a heartbeat. */
export interface StandingFacts {
  readonly now: number;
  readonly peeked: Peeked;
  readonly pending: Record<Entity, EntityBacklog>;
  /** Rows holding a value pos-sync cannot read (store/unreadable.ts). */
  readonly unreadable: number;
}

/** Where the two readers differ on purpose: who reads the texts, and what says that passes run. */
export interface StandingView {
  readonly timeZone: string;
  readonly lastTraceAt: number | null;
  readonly timer: string;
}

/** Every fact the verdict weighs, none left out: the callers show some of them too (backlog, deadline, Kafka). */
export function verdictFacts(config: Config, f: StandingFacts, view: StandingView): Required<VerdictFacts> {
  const saved = f.peeked.state;
  const totals = backlogTotals(f.pending);
  const kafka = config.kafka.enabled;
  return {
    now: f.now,
    timeZone: view.timeZone,
    lastTraceAt: view.lastTraceAt,
    timer: view.timer,
    lastPass: saved.lastPass,
    lastSuccessAt: saved.lastSuccessAt,
    stateProblem: f.peeked.problem,
    stateLeftAlone: f.peeked.leftAlone === true,
    breaker: saved.breaker,
    breakerSettings: config.breaker,
    pending: totals.pending,
    waiting: totals.waiting,
    deadLettered: totals.deadLettered,
    quarantined: totals.quarantined,
    unreadable: f.unreadable,
    refusedAlone: loneRefusal(saved.refusedAlone, saved.notAboutRows),
    oldestPendingAt: totals.oldestPendingAt,
    kafkaBacklog: kafka ? totals.kafkaBacklog : null,
    kafkaError: kafka ? (saved.lastPass?.kafkaError ?? null) : null,
    offlineDeadline: offlineDeadline(totals.oldestSaleAt, config.sync.offlineDeadlineSeconds, f.now),
    thresholds: config.health,
  };
}
