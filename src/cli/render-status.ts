// `pos-sync status` for people: the verdict line, since when, what to do; then the figures, each
// fact once, times in the store's zone.

import type { StatusResult } from '../commands/status.js';
import { formatLocalTime, formatRelative, formatWhen, plural } from '../domain/localtime.js';
import type { Paint } from './render.js';
import { describeKafkaTrouble } from '../domain/kafka-trouble.js';
import { escapeControl } from '../domain/redact.js';

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const row = (label: string, text: string): string => `${label.padEnd(15)}${text}`;

export function renderStatus(r: StatusResult, p: Paint): string {
  const now = Date.parse(r.now);
  const zone = r.timeZone;
  const when = (isoText: string): string => formatWhen(Date.parse(isoText), now, zone);
  const colour = r.verdict === 'OK' ? p.ok : r.verdict === 'DEGRADED' ? p.warn : p.bad;
  const lines: string[] = [];
  lines.push(`${p.bold(colour(r.verdict))} — ${r.headline}`);
  lines.push(`last success: ${r.lastSuccessAt === null ? 'never' : when(r.lastSuccessAt)}`);
  if (r.problems.length === 0) lines.push('to do: nothing');
  else if (r.problems.length === 1) lines.push(`to do: ${r.problems[0]!.hint}`);
  else {
    lines.push('to do:');
    for (const x of r.problems) lines.push(`  - ${x.problem}: ${x.hint}`);
  }
  lines.push('');

  const t = r.pending.transaction;
  const i = r.pending.inventory;
  const pendingTotal = t.pending + i.pending;
  const oldest = [t.oldestPendingAt, i.oldestPendingAt].filter((x): x is string => x !== null).sort()[0];
  const waiting = t.waiting + i.waiting;
  lines.push(
    row(
      'pending',
      pendingTotal === 0
        ? 'nothing'
        : `${plural(t.pending, 'transaction')}, ${plural(i.pending, 'inventory update')}${oldest ? `; the oldest from ${when(oldest)}` : ''}${waiting > 0 ? p.warn(`; ${waiting} of them waiting after a refusal`) : ''}`,
    ),
  );
  lines.push(row('dead-lettered', r.deadLettered === 0 ? 'none' : p.bad(`${plural(r.deadLettered, 'row')} (pos-sync status --dead-letters lists them)`)));
  if (r.sampleRows > 0) lines.push(row('sample data', p.warn(`${plural(r.sampleRows, 'row')} made by \`pos-sync seed\` (not sales)`)));
  const lp = r.lastPass;
  if (lp === null) lines.push(row('last pass', 'none recorded'));
  else {
    const outcome = lp.exitCode === 0 ? p.ok(`exit 0 (${lp.outcome})`) : lp.exitCode === 65 ? p.warn(`exit 65 (${lp.outcome})`) : p.bad(`exit ${lp.exitCode} (${lp.outcome})`);
    const refused = lp.refused > 0 ? `, ${lp.refused} refused` : '';
    // Errors quote what the central answered: escaped for the terminal.
    const error = lp.error !== null && lp.exitCode !== 0 ? ` — ${escapeControl(lp.error)}` : '';
    lines.push(row('last pass', `${when(lp.at)}: ${outcome}, ${lp.delivered} delivered${refused}, ${seconds(lp.durationMs)}${error}`));
  }
  lines.push(row('central', breakerText(r, p, now)));
  // Shown until a pass succeeds: the rows wait unpenalised for the proxy or the central to be fixed.
  if (r.notAboutRows) lines.push(row('not about rows', p.bad(`${formatWhen(Date.parse(r.notAboutRows.at), now, zone)}: ${escapeControl(r.notAboutRows.reason)}`)));
  const d = r.today;
  lines.push(
    row(
      'today',
      `${plural(d.transactionsSynced, 'transaction')} and ${plural(d.inventorySynced, 'inventory update')} synced in ${plural(d.passes, 'pass', 'passes')} since ${formatLocalTime(Date.parse(d.since), now, zone)}; ${plural(d.failedAttempts, 'failed attempt')}${d.averagePassMs !== null ? `; average pass ${seconds(d.averagePassMs)}` : ''}`,
    ),
  );
  if (r.kafka.enabled) {
    const waiting = r.kafka.backlog === 0 ? 'every event published' : `${plural(r.kafka.backlog ?? 0, 'event')} not yet published`;
    lines.push(row('kafka', r.kafka.error === null ? waiting : `${waiting} — ${p.bad(escapeControl(describeKafkaTrouble(r.kafka.error)))}`));
  }
  const parked = t.kafkaParked + i.kafkaParked;
  if (parked > 0) {
    const reason = t.kafkaParkedReason ?? i.kafkaParkedReason ?? 'cannot be built';
    lines.push(row('kafka parked', p.bad(`${plural(parked, 'event')} that cannot be built (${escapeControl(reason)}); pos-sync requeue after fixing the row`)));
  }
  lines.push(row('store', `${r.storeId}, time zone ${zone}`));
  lines.push(row('database', `${r.sources.database}${r.notSetUp !== null ? p.warn(` (${r.notSetUp})`) : ''}`));
  lines.push(row('state file', `${r.sources.stateFile}${r.sources.stateFileProblem ? p.warn(` (${r.sources.stateFileProblem})`) : ''}`));
  lines.push(row('config file', r.sources.configFile ?? 'none (defaults, environment and flags)'));
  lines.push(row('token', r.sources.token));
  if (r.deadLetters) lines.push('', ...renderDeadLetters(r, p));
  return lines.join('\n') + '\n';
}

function breakerText(r: StatusResult, p: Paint, now: number): string {
  const b = r.breaker;
  const last = b.lastFailure ? ` — last failure: ${escapeControl(b.lastFailure)}` : '';
  if (b.state === 'closed') {
    return b.consecutiveFailures > 0 ? p.warn(`circuit breaker closed, ${plural(b.consecutiveFailures, 'failed request')} in a row${last}`) : p.ok('circuit breaker closed');
  }
  const since = b.openedAt ? ` since ${formatWhen(Date.parse(b.openedAt), now, r.timeZone)}` : '';
  if (b.state === 'halfOpen' || b.nextProbeAt === null || Date.parse(b.nextProbeAt) <= now) return p.bad(`circuit breaker open${since}; the next pass probes${last}`);
  const probe = Date.parse(b.nextProbeAt);
  return p.bad(`circuit breaker open${since}; next probe ${formatLocalTime(probe, now, r.timeZone)} (${formatRelative(probe, now)})${last}`);
}

/** The dead-letter table: id, entity, product, amount, refusals, when, last reason; then the requeue line. */
export function renderDeadLetters(r: StatusResult, p: Paint): string[] {
  const d = r.deadLetters;
  if (!d) return [];
  if (d.total === 0) return ['dead letters: none'];
  const now = Date.parse(r.now);
  const lines = [p.bold(`dead letters: ${plural(d.total, 'row')}${d.rows.length < d.total ? `, the oldest ${d.rows.length} shown` : ''}`)];
  const head = ['id', 'entity', 'product', 'amount', 'refusals', 'dead-lettered', 'last reason'];
  // Every value but the counts comes from the POS database or the central: escaped.
  const cells = d.rows.map((x) => [
    escapeControl(x.id),
    x.entity,
    escapeControl(x.productId ?? '-'),
    escapeControl(x.amount ?? '-'),
    String(x.refusals),
    formatLocalTime(Date.parse(x.deadLetteredAt), now, r.timeZone),
    oneLine(x.lastReason ?? '-'),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const fmt = (cols: string[]): string => cols.map((c, k) => (k === cols.length - 1 ? c : c.padEnd(widths[k]!))).join('  ');
  lines.push(p.dim(fmt(head)));
  for (const c of cells) lines.push(fmt(c));
  if (d.requeue) lines.push('', `after fixing the cause, send ${d.rows.length === 1 ? 'it' : 'them'} again with:`, `  ${escapeControl(d.requeue)}`);
  return lines;
}

/** A reason on one line, cut to a length a terminal row can take. */
function oneLine(text: string): string {
  // The reason is the central's text: no control character of it reaches the terminal.
  const flat = escapeControl(text.replace(/\s+/g, ' ').trim());
  return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat;
}
