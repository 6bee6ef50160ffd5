// The facts of a healthy till for tests of health's verdict (src/domain/health.ts): every check
// OK, so a test changes the one fact it is about.

import { CLOSED } from '../../src/domain/breaker.js';
import type { HealthFacts } from '../../src/domain/health.js';

/** The facts of a healthy till at `now`: a pass 15 s ago delivered 3 rows, 5 pending, Kafka off. */
export function healthyFacts(now: number): HealthFacts {
  return {
    now,
    expectedSchemaVersion: 1,
    database: { kind: 'ok', schemaVersion: 1, quickCheck: 'ok', pending: 5, oldestPendingAt: now - 30_000, deadLettered: 0, kafkaBacklog: 0, empty: false },
    central: { kind: 'answered', status: 200, ms: 12, url: 'http://127.0.0.1:1/health' },
    kafka: { kind: 'disabled' },
    timeZone: 'Europe/Berlin',
    state: {
      breaker: CLOSED,
      lastSuccessAt: now - 15_000,
      found: true,
      problem: null,
      path: '/x/pos-sync.state.json',
      lastPass: { at: now - 15_000, exitCode: 0, outcome: 'drained', delivered: 3, refused: 0, durationMs: 40, error: null, since: now - 3_600_000 },
      lastTraceAt: now - 15_000,
      timer: 'pos-sync.timer',
    },
    breakerSettings: { failureThreshold: 3, breakMs: 30_000, maxBreakMs: 600_000 },
    thresholds: {
      backlogWarning: 1000,
      backlogCritical: 10000,
      oldestPendingWarningSeconds: 600,
      oldestPendingCriticalSeconds: 3600,
      lastSuccessWarningSeconds: 600,
      lastSuccessCriticalSeconds: 3600,
      deadLetteredWarning: 0,
      noPassSeconds: 120,
      kafkaBacklogWarning: 100,
      kafkaBacklogCritical: 1000,
      kafkaOldestWarningSeconds: 600,
      kafkaOldestCriticalSeconds: 3600,
    },
  };
}
