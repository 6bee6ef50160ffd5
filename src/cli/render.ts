// Human renderings of command results (stdout). JSON output is the result object itself.

import type { PassResult } from '../commands/sync.js';
import type { SeedResult } from '../commands/seed.js';
import type { StatusResult } from '../commands/status.js';

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
    for (const e of w.firstBatch.slice(0, 20)) lines.push(`  ${e.entity} ${e.id} ${e.productId} ${e.type} ${e.occurredAt}`);
    if (w.firstBatch.length > 20) lines.push(`  … and ${w.firstBatch.length - 20} more in the first batch`);
    return lines.join('\n') + '\n';
  }
  const d = r.delivered.transaction + r.delivered.inventory;
  const rej = r.rejected.transaction + r.rejected.inventory;
  const dead = r.deadLettered.transaction + r.deadLettered.inventory;
  if (r.requests === 0 && rej === 0 && r.exitCode === 0) return `nothing pending ${p.dim(`(${seconds(r.durationMs)})`)}\n`;
  const parts = [
    `${p.ok(`delivered ${d}`)} (${r.delivered.transaction} transactions, ${r.delivered.inventory} inventory updates)`,
    `${r.requests} requests`,
    seconds(r.durationMs),
  ];
  if (rej > 0) parts.push(p.warn(`${rej} refused${dead > 0 ? `, ${dead} dead-lettered` : ''}`));
  if (r.stoppedBy === 'time') parts.push('stopped at the time budget, the next pass goes on');
  return `${parts.join(', ')}\n`;
}

export function renderSeed(r: SeedResult): string {
  return `seeded ${r.transactions} transactions and ${r.inventoryUpdates} inventory updates into ${r.database} (random seed ${r.randomSeed}, ${seconds(r.durationMs)})\n`;
}

export function renderStatus(r: StatusResult, p: Paint): string {
  const lines: string[] = [];
  lines.push(p.bold(`pos-sync status — store ${r.storeId}`));
  lines.push(`database      ${r.database}`);
  const label: Record<string, string> = { transaction: 'transactions', inventory: 'inventory' };
  for (const [entity, b] of Object.entries(r.backlog)) {
    const pending = b.pending === 0 ? p.ok('0 pending') : p.warn(`${b.pending} pending`);
    const extra = [
      b.pending > 0 ? `oldest ${age(b.oldestPendingAgeSeconds)}` : '',
      b.waiting > 0 ? `${b.waiting} waiting after a refusal` : '',
      b.deadLettered > 0 ? p.bad(`${b.deadLettered} dead-lettered`) : '',
      r.kafkaEnabled && b.kafkaBacklog > 0 ? `${b.kafkaBacklog} not yet on Kafka` : '',
    ].filter(Boolean);
    lines.push(`${label[entity]!.padEnd(14)}${pending}${extra.length ? `, ${extra.join(', ')}` : ''}`);
  }
  const lp = r.lastPass;
  lines.push(
    lp
      ? `last pass     ${lp.at} ${lp.outcome === 'ok' ? p.ok('ok') : p.bad('error')}, ${lp.transactionsSynced + lp.inventorySynced} synced, ${lp.failed} failed${lp.durationMs !== null ? `, ${seconds(lp.durationMs)}` : ''}${lp.error ? ` — ${lp.error}` : ''}`
      : 'last pass     none recorded (idle passes are not recorded)',
  );
  const t = r.today;
  lines.push(
    `today         ${t.transactionsSynced} transactions and ${t.inventorySynced} inventory updates synced, ${t.failedAttempts} failed attempts, ${t.passes} passes${t.averagePassMs !== null ? `, average ${seconds(t.averagePassMs)}` : ''}`,
  );
  return lines.join('\n') + '\n';
}
