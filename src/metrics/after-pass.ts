// The metrics file a sync pass leaves for node_exporter's textfile collector: the pass's result,
// the backlog read afterwards, and the last reconciliation.

import type { Config } from '../config/types.js';
import type { EntityBacklog } from '../store/history.js';
import type { PassOutcome } from './pass.js';
import { VERSION } from '../version.js';

/**
 * Pending rows per entity for the metrics file, read after the pass (an open-breaker pass never
 * opened the database). Null when it cannot be read: the backlog gauges are then left out.
 */
async function backlogAfterPass(config: Config): Promise<Record<'transaction' | 'inventory', EntityBacklog> | null> {
  try {
    const [{ openDatabase }, history] = await Promise.all([import('../store/db.js'), import('../store/history.js')]);
    const db = openDatabase({ path: config.db.path, create: false, autoMigrate: false, readonly: true, busyTimeoutMs: Math.min(config.db.busyTimeoutMs, 2000) });
    try {
      return history.readBacklog(db, Date.now());
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

export async function writeMetricsAfterPass(file: string, config: Config, result: PassOutcome): Promise<void> {
  const [{ writePassMetrics }, backlog, { lastReconcile }, { offlineDeadline }] = await Promise.all([
    import('./pass.js'),
    backlogAfterPass(config),
    import('../state/reconcile-record.js'),
    import('../domain/offline-deadline.js'),
  ]);
  const now = Date.now();
  const saleAt = backlog?.transaction.oldestPendingAt ?? null;
  const deadline = backlog === null ? null : offlineDeadline(saleAt === null ? null : Date.parse(saleAt), config.sync.offlineDeadlineSeconds, now);
  writePassMetrics({
    file, store: config.storeId, till: config.tillId, version: VERSION, result, backlog, kafkaEnabled: config.kafka.enabled, now, reconcile: lastReconcile(config.stateFile),
    offlineDeadline: deadline === null ? null : { deadlineSeconds: deadline.deadlineSeconds, secondsLeft: deadline.secondsLeft },
  });
}
