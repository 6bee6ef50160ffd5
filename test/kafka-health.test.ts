// health's Kafka check reports what the passes see, beside its own metadata request: the last
// pass's publish failure (temporary: WARNING with the reason and since when; cannot heal:
// CRITICAL), and a topic whose replication cannot survive the loss of one broker (WARNING).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CLOSED } from '../src/domain/breaker.js';
import { judgeHealth, replicationWarning, type HealthFacts } from '../src/domain/health.js';
import { nextState } from '../src/pass/saved.js';
import type { SavedState } from '../src/state/format.js';
import { healthyFacts } from './helpers/health-facts.js';

const NOW = Date.UTC(2026, 2, 10, 12, 0, 0);

/** A healthy till with nothing pending, publishing to a topic that survives one broker's loss. */
const healthy: HealthFacts = (() => {
  const facts = healthyFacts(NOW);
  return {
    ...facts,
    database: { kind: 'ok', schemaVersion: 1, quickCheck: 'ok', pending: 0, oldestPendingAt: null, deadLettered: 0, kafkaBacklog: 0, empty: false },
    kafka: { kind: 'ok', ms: 20, topic: { partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 } },
    timeZone: 'UTC',
    thresholds: { ...facts.thresholds, kafkaBacklogWarning: 100000, kafkaBacklogCritical: 1000000, kafkaOldestWarningSeconds: 600000, kafkaOldestCriticalSeconds: 3600000 },
  };
})();

function kafkaCheck(facts: Partial<HealthFacts>): { status: string; message: string } {
  const r = judgeHealth({ ...healthy, ...facts });
  const c = r.checks.find((x) => x.name === 'kafka');
  assert.ok(c);
  return { status: c.status, message: c.message };
}

function lastPassFailing(kafkaError: string, kafkaErrorSince: number): Partial<HealthFacts> {
  return { state: { ...healthy.state, lastPass: { ...healthy.state.lastPass!, kafkaError, kafkaErrorSince } } };
}

describe('health: the Kafka check', () => {
  test('a broker answers and the topic survives one broker: OK', () => {
    assert.equal(kafkaCheck({}).status, 'OK');
  });

  test('the passes cannot publish for a reason waiting heals (too few in-sync replicas): WARNING with the reason and since when', () => {
    const c = kafkaCheck(lastPassFailing('too few in-sync replicas of the topic for acks=all: NOT_ENOUGH_REPLICAS', NOW - 600_000));
    assert.equal(c.status, 'WARNING');
    assert.match(c.message, /passes cannot publish since 11:50/);
    assert.match(c.message, /too few in-sync replicas/);
  });

  test('the coordinator not available: WARNING naming it', () => {
    const c = kafkaCheck(lastPassFailing('the Kafka transaction coordinator is not available: Failed to find group coordinator', NOW - 60_000));
    assert.equal(c.status, 'WARNING');
    assert.match(c.message, /transaction coordinator/);
  });

  test("this check's own request met a dead broker: WARNING naming it and what the last pass met", () => {
    const c = kafkaCheck({ ...lastPassFailing('too few in-sync replicas of the topic for acks=all: NOT_ENOUGH_REPLICAS', NOW - 60_000), kafka: { kind: 'error', error: 'Kafka is unavailable: Connection error: connect ECONNREFUSED 127.0.0.1:39602', configuration: false } });
    assert.equal(c.status, 'WARNING');
    assert.match(c.message, /^Kafka is unavailable: Connection error: connect ECONNREFUSED 127\.0\.0\.1:39602; passes cannot publish since 11:59 .*too few in-sync replicas/);
    // Without a failed publish on record, only its own.
    assert.equal(kafkaCheck({ kafka: { kind: 'error', error: 'Kafka is unavailable: x', configuration: false } }).message, 'Kafka is unavailable: x');
  });

  test('the passes cannot publish for a reason waiting cannot heal (the client certificate): CRITICAL', () => {
    const c = kafkaCheck(lastPassFailing('the Kafka broker rejected the client certificate: Closed connection', NOW - 60_000));
    assert.equal(c.status, 'CRITICAL');
    assert.match(c.message, /cannot heal by waiting/);
  });

  test('a topic with one replica: WARNING, each event has one copy', () => {
    const c = kafkaCheck({ kafka: { kind: 'ok', ms: 5, topic: { partitions: 1, replicationFactor: 1, minInsyncReplicas: 1 } } });
    assert.equal(c.status, 'WARNING');
    assert.match(c.message, /one copy/);
  });

  test('min.insync.replicas equal to the replication factor: WARNING, one broker down stops publishing', () => {
    const c = kafkaCheck({ kafka: { kind: 'ok', ms: 5, topic: { partitions: 3, replicationFactor: 3, minInsyncReplicas: 3 } } });
    assert.equal(c.status, 'WARNING');
    assert.match(c.message, /one broker down stops publishing/);
  });

  test('replicationWarning: RF 3 / min ISR 2 and an unknown min ISR survive; a topic not created yet is not judged', () => {
    assert.equal(replicationWarning({ partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 }), null);
    assert.equal(replicationWarning({ partitions: 3, replicationFactor: 2, minInsyncReplicas: null }), null);
    assert.equal(replicationWarning(null), null);
  });
});

describe('the state file: since when publishing fails', () => {
  const start: SavedState = { breaker: CLOSED, lastPass: null, lastSuccessAt: null };
  const pass = (prev: SavedState, at: number, error: string | null): SavedState =>
    nextState(prev, CLOSED, { exitCode: 0, stoppedBy: 'drained', delivered: { transaction: 1, inventory: 0 }, rejected: { transaction: 0, inventory: 0 }, error: null, durationMs: 10, kafka: { error } } as never, at);

  test('kept while the kind of failure stays the same, reset when it changes or publishing works', () => {
    const a = pass(start, NOW, 'too few in-sync replicas of the topic for acks=all: NOT_ENOUGH_REPLICAS');
    assert.equal(a.lastPass?.kafkaErrorSince, NOW);
    const b = pass(a, NOW + 10_000, 'The server experienced an unexpected error (NOT_ENOUGH_REPLICAS_AFTER_APPEND)');
    assert.equal(b.lastPass?.kafkaErrorSince, NOW);
    const c = pass(b, NOW + 20_000, 'Kafka is unavailable: Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    assert.equal(c.lastPass?.kafkaErrorSince, NOW + 20_000);
    const d = pass(c, NOW + 30_000, null);
    assert.equal(d.lastPass?.kafkaErrorSince, undefined);
  });
});
