// The head office's view of the fleet (README "The fleet"): `/fleet`, server-rendered HTML that
// needs no JavaScript and refreshes itself every 10 s; `/fleet/till?store=S&till=T`, one till's
// last heartbeats; `/api/fleet`, the same rows as JSON; `/metrics`, fleet figures for Prometheus.

import { FLEET_VERDICTS, type FleetBook, type FleetFilter, type FleetRow, type FleetVerdict, type Received } from './fleet.js';

/** The page's own refresh (meta refresh): often enough to watch, rare enough for 2,000 tills. */
export const REFRESH_SECONDS = 10;

/** Reads ?verdict=…&store=… (verdict may repeat); a message for a bad value. */
export function parseFilter(url: URL): FleetFilter | string {
  const verdicts = url.searchParams.getAll('verdict').filter((v) => v !== '');
  for (const v of verdicts) if (!FLEET_VERDICTS.includes(v as FleetVerdict)) return `verdict must be one of ${FLEET_VERDICTS.join(', ')}`;
  const store = url.searchParams.get('store') ?? '';
  return { ...(verdicts.length > 0 ? { verdicts: verdicts as FleetVerdict[] } : {}), ...(store !== '' ? { store } : {}) };
}

export function fleetJson(book: FleetBook, now: number, filter: FleetFilter): unknown {
  const rows = book.rows(now, filter);
  return {
    now: new Date(now).toISOString(),
    silenceSeconds: book.settings.silenceMs / 1000,
    counts: countsOf(book.rows(now)),
    tills: rows,
    refusedHeartbeats: book.refusedList(),
  };
}

function countsOf(rows: readonly FleetRow[]): Record<FleetVerdict, number> {
  const counts = Object.fromEntries(FLEET_VERDICTS.map((v) => [v, 0])) as Record<FleetVerdict, number>;
  for (const r of rows) counts[r.shown]++;
  return counts;
}

export function fleetMetrics(book: FleetBook, now: number): string {
  const rows = book.rows(now);
  const counts = countsOf(rows);
  const worst = rows.reduce((m, r) => Math.max(m, r.oldestPendingAgeSeconds ?? 0), 0);
  const lines = [
    '# HELP pos_central_fleet_tills Tills heard from, by what the fleet page shows them as.',
    '# TYPE pos_central_fleet_tills gauge',
    ...FLEET_VERDICTS.map((v) => `pos_central_fleet_tills{verdict="${v}"} ${counts[v]}`),
    '# HELP pos_central_fleet_not_reporting Tills silent longer than the silence threshold.',
    '# TYPE pos_central_fleet_not_reporting gauge',
    `pos_central_fleet_not_reporting ${counts['NOT REPORTING']}`,
    '# HELP pos_central_fleet_oldest_pending_age_seconds The oldest pending row of any till (a silent till counted on from its last heartbeat).',
    '# TYPE pos_central_fleet_oldest_pending_age_seconds gauge',
    `pos_central_fleet_oldest_pending_age_seconds ${worst}`,
    '# HELP pos_central_fleet_heartbeats_total Heartbeats accepted.',
    '# TYPE pos_central_fleet_heartbeats_total counter',
    `pos_central_fleet_heartbeats_total ${book.heartbeats}`,
    '# HELP pos_central_fleet_heartbeats_refused_total Heartbeats refused for their credentials.',
    '# TYPE pos_central_fleet_heartbeats_refused_total counter',
    `pos_central_fleet_heartbeats_refused_total ${book.refusedTotal}`,
  ];
  return `${lines.join('\n')}\n`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Everything shown came from a till: escaped. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** "3 min", "2 h 5 min": an age a person reads at a glance. */
export function ageText(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

function offsetText(ms: number | null): string {
  if (ms === null) return '—';
  const s = Math.round(ms / 1000);
  return `${s > 0 ? '+' : ''}${s} s`;
}

const CLASS: Record<FleetVerdict, string> = { 'NOT SYNCING': 'not-syncing', 'NOT REPORTING': 'not-reporting', DEGRADED: 'degraded', OK: 'ok' };

const STYLE = `body{font:14px system-ui,sans-serif;margin:1em}table{border-collapse:collapse}td,th{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right}.not-syncing{background:#f8d0d0}.not-reporting{background:#e4d4f4}.degraded{background:#fbecc0}.ok{background:#fff}
.counts span{margin-right:1em}form{margin:.5em 0}`;

function page(title: string, body: string, refresh: boolean): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">${refresh ? `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">` : ''}
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

const tillLink = (r: { storeId: string; tillId: string }): string =>
  `/fleet/till?store=${encodeURIComponent(r.storeId)}&amp;till=${encodeURIComponent(r.tillId)}`;

export function fleetHtml(book: FleetBook, now: number, filter: FleetFilter): string {
  const rows = book.rows(now, filter);
  const all = countsOf(book.rows(now));
  const nowIso = new Date(now).toISOString();
  const out: string[] = [];
  out.push(`<h1>Fleet</h1><p>${esc(nowIso)} (UTC). Worst first; a till silent longer than ${esc(ageText(book.settings.silenceMs / 1000))} is NOT REPORTING. This page refreshes every ${REFRESH_SECONDS} s.</p>`);
  out.push(`<p class="counts" id="counts">${FLEET_VERDICTS.map((v) => `<span class="${CLASS[v]}" data-verdict="${esc(v)}" data-count="${all[v]}">${esc(v)}: ${all[v]}</span>`).join('')}</p>`);
  // A plain GET form: filtering works without JavaScript.
  const selected = new Set(filter.verdicts ?? []);
  out.push(
    `<form method="get" action="/fleet"><label>verdict <select name="verdict"><option value="">all</option>${FLEET_VERDICTS.map((v) => `<option${selected.has(v) ? ' selected' : ''}>${esc(v)}</option>`).join('')}</select></label> ` +
      `<label>store <select name="store"><option value="">all</option>${book.stores().map((s) => `<option${filter.store === s ? ' selected' : ''}>${esc(s)}</option>`).join('')}</select></label> <button>show</button></form>`,
  );
  out.push('<table id="fleet"><thead><tr><th>verdict</th><th>store</th><th>till</th><th>since</th><th>pending</th><th>oldest pending</th><th>dead letters</th><th>version</th><th>clock offset</th><th>last heartbeat</th><th>headline</th></tr></thead><tbody>');
  for (const r of rows) {
    out.push(
      `<tr class="till ${CLASS[r.shown]}" data-store="${esc(r.storeId)}" data-till="${esc(r.tillId)}" data-verdict="${esc(r.shown)}">` +
        `<td class="verdict">${esc(r.shown)}${r.shown === 'NOT REPORTING' ? ` <small>(last said ${esc(r.reported)})</small>` : ''}</td>` +
        `<td class="store">${esc(r.storeId)}</td><td class="till-id"><a href="${tillLink(r)}">${esc(r.tillId)}</a></td>` +
        `<td class="since">${esc(r.since)}</td><td class="n pending">${r.pending}</td>` +
        `<td class="n oldest" data-seconds="${r.oldestPendingAgeSeconds ?? ''}">${esc(ageText(r.oldestPendingAgeSeconds))}</td>` +
        `<td class="n dead">${r.deadLettered}</td><td class="version">${esc(r.version)}</td>` +
        `<td class="n offset" data-ms="${r.clockOffsetMs ?? ''}">${esc(offsetText(r.clockOffsetMs))}</td>` +
        `<td class="heard">${esc(ageText(r.silentSeconds))} ago</td><td class="headline">${esc(r.headline)}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  if (rows.length === 0) out.push('<p id="empty">No till matches.</p>');
  const refused = book.refusedList();
  if (refused.length > 0) {
    out.push('<h2>Heartbeats refused for their credentials</h2><p>These tills are not trusted, so their standing is not shown above: fix their token (Sync.ApiToken / Sync.ApiTokenFile).</p>');
    out.push('<table id="refused"><thead><tr><th>store (claimed)</th><th>till (claimed)</th><th>answer</th><th>last</th><th>count</th></tr></thead><tbody>');
    for (const x of refused) {
      out.push(`<tr class="refused" data-store="${esc(x.storeId)}" data-till="${esc(x.tillId ?? '')}"><td>${esc(x.storeId)}</td><td>${esc(x.tillId ?? '—')}</td><td>HTTP ${x.status}</td><td>${esc(x.at)}</td><td class="n">${x.count}</td></tr>`);
    }
    out.push('</tbody></table>');
  }
  return page('Fleet', out.join('\n'), true);
}

export function tillHtml(book: FleetBook, now: number, store: string, till: string): string | null {
  const history = book.history(store, till);
  if (history === null) return null;
  const row = book.rows(now, { store }).find((r) => r.tillId === till)!;
  const out: string[] = [];
  out.push(`<p><a href="/fleet">← fleet</a></p><h1>${esc(store)} / ${esc(till)}: <span id="verdict" class="${CLASS[row.shown]}">${esc(row.shown)}</span></h1>`);
  out.push(`<p>${esc(row.headline)}. Since ${esc(row.since)}; last heartbeat ${esc(ageText(row.silentSeconds))} ago.</p>`);
  out.push('<h2>Last heartbeats</h2><table id="history"><thead><tr><th>received</th><th>verdict</th><th>pending</th><th>oldest pending</th><th>dead letters</th><th>last pass</th><th>breaker</th><th>free disk</th><th>clock offset</th><th>version</th><th>config</th><th>problems</th></tr></thead><tbody>');
  for (const r of history) out.push(historyRow(r));
  out.push('</tbody></table>');
  return page(`${store} / ${till}`, out.join('\n'), true);
}

function historyRow({ at, heartbeat: h }: Received): string {
  const pending = h.pending.transaction.pending + h.pending.inventory.pending;
  const pass = h.lastPass === null ? '—' : `exit ${h.lastPass.exitCode} (${h.lastPass.outcome})`;
  const free = h.disk.freeBytes === null ? '—' : `${(h.disk.freeBytes / 2 ** 30).toFixed(1)} GiB`;
  return (
    `<tr class="heartbeat ${CLASS[h.verdict]}"><td>${esc(new Date(at).toISOString())}</td><td>${esc(h.verdict)}</td><td class="n">${pending}</td>` +
    `<td class="n">${esc(ageText(h.oldestPendingAgeSeconds))}</td><td class="n">${h.deadLettered}</td><td>${esc(pass)}</td><td>${esc(h.breaker.state)}</td>` +
    `<td class="n">${esc(free)}</td><td class="n">${esc(offsetText(h.clockOffsetMs))}</td><td>${esc(h.version)}</td><td><code>${esc(h.configHash)}</code></td><td>${esc(h.problems.join('; '))}</td></tr>`
  );
}
