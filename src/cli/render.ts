// Human renderings of command results (stdout). JSON output is the result object itself.

import type { PassResult } from '../pass/pass.js';
import type { SeedResult } from '../commands/seed.js';
import type { HealthResult } from '../commands/health.js';
import type { CleanupResult } from '../commands/cleanup.js';
import type { RequeueResult } from '../commands/requeue.js';
import type { BreakerView } from '../domain/breaker.js';
import { formatPerfdata, LABELS } from '../domain/health.js';
import { formatLocalTime, plural } from '../domain/localtime.js';
import { passTrouble } from '../domain/verdict.js';
import { kafkaTrouble } from '../domain/kafka-trouble.js';
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

/**
 * `zone`: the store's IANA zone (Sync.TimeZone or the machine's), for the times shown; a function,
 * so an idle tick never pays for Intl's time-zone data.
 */
export function renderSync(r: PassResult, p: Paint, zone?: () => string): string {
  if (r.dryRun && r.wouldSend) {
    const w = r.wouldSend;
    const lines = [`dry run: would send ${plural(w.rows.transaction, 'transaction')} and ${plural(w.rows.inventory, 'inventory update')} in ${plural(w.batches, 'batch', 'batches')}; nothing was sent or changed`];
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
  if (r.requests === 0 && rej === 0 && r.exitCode === 0) {
    const w = r.waiting;
    const until = w?.until ? (zone ? formatLocalTime(Date.parse(w.until), Date.parse(r.startedAt) + r.durationMs, zone()) : w.until) : 'later';
    const idle = w && w.rows > 0 ? `nothing due: ${plural(w.rows, 'refused row')} ${w.rows === 1 ? 'waits' : 'wait'} until ${until}` : 'nothing pending';
    return `${idle}${kafka ? `, ${kafka}` : ''} ${p.dim(`(${seconds(r.durationMs)})`)}\n`;
  }
  const good = r.exitCode === 0 || r.exitCode === 65;
  const parts = [
    `${good ? p.ok(`delivered ${d}`) : `delivered ${d}`} (${plural(r.delivered.transaction, 'transaction')}, ${plural(r.delivered.inventory, 'inventory update')})`,
    plural(r.requests, 'request'),
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
  if (k.error !== null) {
    const trouble = kafkaTrouble(k.error);
    const said = trouble.heals ? p.warn(`Kafka unavailable, ${wait(k.backlog)} for the next pass`) : p.bad(`${trouble.label} (cannot heal by waiting), ${wait(k.backlog)}`);
    return [published, said].filter(Boolean).join(', ');
  }
  if (k.backlog > 0) return [published, `${wait(k.backlog)} for Kafka`].filter(Boolean).join(', ');
  return published;
}

function nextProbe(b: BreakerView, now: number): string {
  if (b.nextProbeAt === null) return 'the next pass probes';
  const inMs = Date.parse(b.nextProbeAt) - now;
  return inMs <= 0 ? 'the next pass probes' : `next probe at ${b.nextProbeAt} (in ${age(Math.ceil(inMs / 1000))})`;
}

export function renderSeed(r: SeedResult): string {
  return `seeded ${plural(r.transactions, 'transaction')} and ${plural(r.inventoryUpdates, 'inventory update')} into ${r.database} (random seed ${r.randomSeed}, ${seconds(r.durationMs)})\n`;
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
    `${verb} ${plural(d.retryLogs, 'retry log row')} and ${plural(d.runHistory, 'run history row')} older than ${plural(r.dataRetentionDays, 'day')} (before ${r.dataBefore})`,
    r.syncedRowRetentionDays === null
      ? 'synced business rows are kept (no --synced-older-than or Sync.SyncedRowRetentionDays)'
      : `${verb} ${plural(d.transactions, 'synced transaction')} and ${plural(d.inventory, 'synced inventory update')} older than ${plural(r.syncedRowRetentionDays, 'day')} (never an unsynced, dead-lettered or unpublished row)`,
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
      : `requeued ${plural(n, 'dead-lettered row')} (${plural(r.requeued.transaction, 'transaction')}, ${plural(r.requeued.inventory, 'inventory update')}); the next pass sends ${n === 1 ? 'it' : 'them'}`,
  ];
  if (r.kafkaRequeued > 0) lines.push(`queued ${r.kafkaRequeued} parked Kafka event${r.kafkaRequeued === 1 ? '' : 's'} for Kafka again; the next pass publishes them`);
  for (const f of r.ids) {
    if (f.result === 'notDeadLettered') lines.push(`  ${escapeControl(f.id)}: not dead-lettered (${f.synced ? 'already synced' : 'still pending'}), left as it is`);
  }
  if (r.unknownIds.length > 0) lines.push(p.bad(`unknown ids (in neither PosTransactions nor InventoryUpdates): ${escapeControl(r.unknownIds.join(', '))}`));
  return lines.join('\n') + '\n';
}

/**
 * The closing line of a failed pass (SPEC §8): `pos-sync: <what failed> — <what to do>`, or null
 * for a pass that succeeded. The one error line of the pass: it replaces the error log line.
 */
export function syncClosingLine(r: PassResult, terminal = false): string | null {
  if (r.exitCode === 0) return null;
  // An open breaker repeats every tick while the central is down: closed with a line only for a
  // person at a terminal; the journal has its warning.
  if (r.stoppedBy === 'breakerOpen') {
    if (!terminal) return null;
    return `pos-sync: ${escapeControl(r.error ?? 'the circuit breaker is open')} — nothing is lost, the rows wait; pos-sync sync --force tries now`;
  }
  // The error may quote the central's answer: escaped for the terminal.
  const line = closingText(r);
  return `pos-sync: ${escapeControl(line.slice('pos-sync: '.length))}`;
}

function closingText(r: PassResult): string {
  const trouble = passTrouble(r.exitCode);
  if (trouble !== null) return `pos-sync: ${r.error ?? trouble.label} — ${trouble.hint}`;
  if (r.exitCode === 65) {
    const rej = r.rejected.transaction + r.rejected.inventory;
    const dead = r.deadLettered.transaction + r.deadLettered.inventory;
    return `pos-sync: the central API refused ${plural(rej, 'row')}${dead > 0 ? ` (${dead} dead-lettered)` : ''}; the rest were delivered — see why with pos-sync status --dead-letters and the "row refused" log lines`;
  }
  return `pos-sync: ${r.error ?? `the pass ended with exit ${r.exitCode}`} — nothing is lost: the next pass retries (pos-sync status shows since when)`;
}
