// Human renderings of command results (stdout). JSON output is the result object itself.

import type { PassResult } from '../commands/sync.js';
import type { SeedResult } from '../commands/seed.js';
import type { StatusResult } from '../commands/status.js';
import type { HealthResult } from '../commands/health.js';
import type { CleanupResult } from '../commands/cleanup.js';
import type { RequeueResult } from '../commands/requeue.js';
import type { BreakerView } from '../domain/breaker.js';
import { formatPerfdata, LABELS } from '../domain/health.js';
import { escapeControl } from '../domain/redact.js';

export interface Paint {
  ok(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export const noPaint: Paint = { ok: (t) => t, warn: (t) => t, bad: (t) => t, dim: (t) => t, bold: (t) => t };

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function age(totalSeconds: number | null): string {
  if (totalSeconds === null) return '-';
  if (totalSeconds < 120) return `${totalSeconds} s`;
  if (totalSeconds < 7200) return `${Math.round(totalSeconds / 60)} min`;
  if (totalSeconds < 172800) return `${(totalSeconds / 3600).toFixed(1)} h`;
  return `${(totalSeconds / 86400).toFixed(1)} d`;
}

export function renderSync(r: PassResult, p: Paint): string {
  if (r.dryRun && r.wouldSend) {
    const w = r.wouldSend;
    const lines = [`dry run: would send ${w.rows.transaction} transactions and ${w.rows.inventory} inventory updates in ${w.batches} batches; nothing was sent or changed`];
    // Row values come from the POS database: escaped for the terminal.
    for (const e of w.firstBatch.slice(0, 20)) lines.push(escapeControl(`  ${e.entity} ${e.id} ${e.productId} ${e.type} ${e.occurredAt}`));
    if (w.firstBatch.length > 20) lines.push(`  … and ${w.firstBatch.length - 20} more in the first batch`);
    return lines.join('\n') + '\n';
  }
  if (r.stoppedBy === 'breakerOpen') {
    const endedAt = Date.parse(r.startedAt) + r.durationMs;
    return `${p.warn('circuit breaker open')}: no request sent; ${nextProbe(r.breaker, endedAt)}; \`pos-sync sync --force\` tries now\n`;
  }
  const d = r.delivered.transaction + r.delivered.inventory;
  const rej = r.rejected.transaction + r.rejected.inventory;
  const dead = r.deadLettered.transaction + r.deadLettered.inventory;
  const kafka = kafkaOutcome(r, p);
  if (r.requests === 0 && rej === 0 && r.exitCode === 0) return `nothing pending${kafka ? `, ${kafka}` : ''} ${p.dim(`(${seconds(r.durationMs)})`)}\n`;
  const parts = [
    `${p.ok(`delivered ${d}`)} (${r.delivered.transaction} transactions, ${r.delivered.inventory} inventory updates)`,
    `${r.requests} requests`,
    seconds(r.durationMs),
  ];
  if (rej > 0) parts.push(p.warn(`${rej} refused${dead > 0 ? `, ${dead} dead-lettered` : ''}`));
  if (r.stoppedBy === 'time') parts.push('stopped at the time budget, the next pass goes on');
  if (r.probe) parts.push(r.breaker.state === 'closed' ? p.ok('circuit breaker closed') : p.bad(`circuit breaker open again, ${nextProbe(r.breaker, Date.parse(r.startedAt) + r.durationMs)}`));
  else if (r.breaker.state === 'open') parts.push(p.bad(`circuit breaker opened, ${nextProbe(r.breaker, Date.parse(r.startedAt) + r.durationMs)}`));
  if (kafka) parts.push(kafka);
  return `${parts.join(', ')}\n`;
}

/** What the pass did on Kafka, or '' when Kafka is off or there was nothing to publish. */
function kafkaOutcome(r: PassResult, p: Paint): string {
  const k = r.kafka;
  if (!k) return '';
  const events = (n: number): string => (n === 1 ? '1 event' : `${n} events`);
  const wait = (n: number): string => `${events(n)} ${n === 1 ? 'waits' : 'wait'}`;
  const published = k.published > 0 ? `${events(k.published)} published to Kafka` : '';
  if (k.error !== null) return [published, p.warn(`Kafka unavailable, ${wait(k.backlog)} for the next pass`)].filter(Boolean).join(', ');
  if (k.backlog > 0) return [published, `${wait(k.backlog)} for Kafka`].filter(Boolean).join(', ');
  return published;
}

function nextProbe(b: BreakerView, now: number): string {
  if (b.nextProbeAt === null) return 'the next pass probes';
  const inMs = Date.parse(b.nextProbeAt) - now;
  return inMs <= 0 ? 'the next pass probes' : `next probe at ${b.nextProbeAt} (in ${age(Math.ceil(inMs / 1000))})`;
}

function breakerLine(r: StatusResult, p: Paint): string {
  const b = r.breaker;
  if (b.problem !== null) return p.warn(`state file ${b.stateFile} ${b.problem}: the next sync moves it aside and starts closed`);
  const last = b.lastFailure ? ` — last failure: ${escapeControl(b.lastFailure)}` : '';
  if (b.state === 'closed') return b.consecutiveFailures > 0 ? p.warn(`closed, ${b.consecutiveFailures} failed requests in a row${last}`) : p.ok('closed');
  const since = b.openedAt ? ` since ${b.openedAt}` : '';
  if (b.state === 'halfOpen') return p.bad(`open${since}, the next pass probes${last}`);
  return p.bad(`open${since} (opened ${b.consecutiveOpens}× in a row), ${nextProbe(b, Date.parse(r.now))}${last}`);
}

export function renderSeed(r: SeedResult): string {
  return `seeded ${r.transactions} transactions and ${r.inventoryUpdates} inventory updates into ${r.database} (random seed ${r.randomSeed}, ${seconds(r.durationMs)})\n`;
}

export function renderStatus(r: StatusResult, p: Paint): string {
  const lines: string[] = [];
  lines.push(p.bold(`pos-sync status — store ${r.storeId}`));
  lines.push(`database      ${r.database}`);
  if (r.notSetUp !== null) lines.push(`              ${p.warn(r.notSetUp)}`);
  if (r.sampleRows > 0) lines.push(`sample data   ${p.warn(`${r.sampleRows} rows made by \`pos-sync seed\` (not sales)`)}`);
  const label: Record<string, string> = { transaction: 'transactions', inventory: 'inventory' };
  for (const [entity, b] of Object.entries(r.backlog)) {
    const pending = b.pending === 0 ? p.ok('0 pending') : p.warn(`${b.pending} pending`);
    const extra = [
      b.pending > 0 ? `oldest ${age(b.oldestPendingAgeSeconds)}` : '',
      b.waiting > 0 ? `${b.waiting} waiting after a refusal` : '',
      b.deadLettered > 0 ? p.bad(`${b.deadLettered} dead-lettered`) : '',
      r.kafkaEnabled && b.kafkaBacklog > 0 ? `${b.kafkaBacklog} not yet on Kafka` : '',
      b.kafkaParked > 0 ? p.bad(`${b.kafkaParked} parked for Kafka (${b.kafkaParkedReason ?? 'cannot be built'}; pos-sync requeue)`) : '',
    ].filter(Boolean);
    lines.push(`${label[entity]!.padEnd(14)}${pending}${extra.length ? `, ${extra.join(', ')}` : ''}`);
  }
  const lp = r.lastPass;
  lines.push(
    lp
      ? `last pass     ${escapeControl(lp.at)} ${lp.outcome === 'ok' ? p.ok('ok') : p.bad('error')}, ${lp.transactionsSynced + lp.inventorySynced} synced, ${lp.failed} failed${lp.durationMs !== null ? `, ${seconds(lp.durationMs)}` : ''}${lp.error ? ` — ${escapeControl(lp.error)}` : ''}`
      : 'last pass     none recorded (idle passes are not recorded)',
  );
  lines.push(`circuit       ${breakerLine(r, p)}`);
  const run = r.lastRun;
  if (run) {
    const outcome = run.exitCode === 0 ? p.ok(run.outcome) : run.exitCode === 65 ? p.warn(run.outcome) : p.bad(`${run.outcome} (exit ${run.exitCode})`);
    lines.push(`last run      ${run.at} ${outcome}, ${run.delivered} delivered${run.refused ? `, ${run.refused} refused` : ''}, ${seconds(run.durationMs)}${run.error && run.exitCode !== 0 ? ` — ${escapeControl(run.error)}` : ''}`);
  }
  // Shown until a pass succeeds: the rows wait unpenalised for the proxy or the central to be fixed.
  if (r.notAboutRows) lines.push(p.bad(`not about rows ${r.notAboutRows.at}: ${escapeControl(r.notAboutRows.reason)}`));
  const t = r.today;
  lines.push(
    `today         ${t.transactionsSynced} transactions and ${t.inventorySynced} inventory updates synced, ${t.failedAttempts} failed attempts, ${t.passes} ${t.passes === 1 ? 'pass' : 'passes'}${t.averagePassMs !== null ? `, average ${seconds(t.averagePassMs)}` : ''}`,
  );
  return lines.join('\n') + '\n';
}

export function renderHealth(r: HealthResult): string {
  // Monitoring Plugins output: the status line first, a line per check, perfdata last.
  // Summaries and messages quote what the central answered: escaped for the terminal.
  const lines = [`POS-SYNC ${r.status} - ${escapeControl(r.summary)}`];
  for (const c of r.checks) lines.push(`${c.status.padEnd(9)}${LABELS[c.name]}: ${escapeControl(c.message)}`);
  if (r.notAboutRows) lines.push(`WARNING  last pass: ${escapeControl(r.notAboutRows)}`);
  if (r.perfdata.length > 0) lines.push(`| ${formatPerfdata(r.perfdata)}`);
  return lines.join('\n') + '\n';
}

export function renderCleanup(r: CleanupResult): string {
  const d = r.deleted;
  const verb = r.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `${verb} ${d.retryLogs} retry log rows and ${d.runHistory} run history rows older than ${r.dataRetentionDays} days (before ${r.dataBefore})`,
    r.syncedRowRetentionDays === null
      ? 'synced business rows are kept (no --synced-older-than or Sync.SyncedRowRetentionDays)'
      : `${verb} ${d.transactions} synced transactions and ${d.inventory} synced inventory updates older than ${r.syncedRowRetentionDays} days (never an unsynced, dead-lettered or unpublished row)`,
  ];
  if (r.vacuum) lines.push(`vacuumed: ${(r.vacuum.beforeBytes / 1e6).toFixed(1)} MB → ${(r.vacuum.afterBytes / 1e6).toFixed(1)} MB`);
  if (r.dryRun) lines.push('dry run: nothing was deleted');
  return lines.join('\n') + '\n';
}

export function renderRequeue(r: RequeueResult, p: Paint): string {
  const n = r.requeued.transaction + r.requeued.inventory;
  const lines = [
    n === 0
      ? 'no dead-lettered row was requeued'
      : `requeued ${n} dead-lettered row${n === 1 ? '' : 's'} (${r.requeued.transaction} transactions, ${r.requeued.inventory} inventory updates); the next pass sends them`,
  ];
  if (r.kafkaRequeued > 0) lines.push(`queued ${r.kafkaRequeued} parked Kafka event${r.kafkaRequeued === 1 ? '' : 's'} for Kafka again; the next pass publishes them`);
  for (const f of r.ids) {
    if (f.result === 'notDeadLettered') lines.push(`  ${escapeControl(f.id)}: not dead-lettered (${f.synced ? 'already synced' : 'still pending'}), left as it is`);
  }
  if (r.unknownIds.length > 0) lines.push(p.bad(`unknown ids (in neither PosTransactions nor InventoryUpdates): ${escapeControl(r.unknownIds.join(', '))}`));
  return lines.join('\n') + '\n';
}
