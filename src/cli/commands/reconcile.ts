// `pos-sync reconcile`: the rows delivered from here against the central's figures
// (src/commands/reconcile.ts). Its edges: the database (read-only unless --resend), the summary
// client (with the TLS settings when configured) and the record for health.

import type { Config } from '../../config/types.js';
import { systemClock } from '../../domain/time.js';
import { checkTls } from '../clients.js';
import type { Context } from '../context.js';
import { positiveNumber } from '../options.js';
import { defineCommand } from './command.js';
import type { ReconcileOptions } from '../../commands/reconcile.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync reconcile                       yesterday and today, in Sync.TimeZone
  pos-sync reconcile --date 2026-11-24
  pos-sync reconcile --from 2026-11-01 --to 2026-12-01 --resend
  pos-sync --json reconcile | jq .entities

Exit codes:
  0   everything matches
  65  a difference was found (the same answer comes back until someone acts)
  64  bad dates or options
  74  the database cannot be read
  75  the central is unreachable, answers 5xx, or the budget ran out
  77  the central refused the credentials
  78  the central does not offer reconciliation (404/405 from the summary endpoint), or another configuration error`;

export const reconcile = defineCommand<{ date?: string; from?: string; to?: string; resend?: boolean; maxRunSeconds?: number }>({
  name: 'reconcile',
  description: "compare the rows delivered from here with the central's figures; list the ids that differ",
  options: [
    { flags: '--date <date>', description: 'one local day YYYY-MM-DD (default: yesterday and today in Sync.TimeZone)' },
    { flags: '--from <time>', description: 'start of the window: YYYY-MM-DD or ISO 8601 time with zone (with --to)' },
    { flags: '--to <time>', description: 'end of the window, exclusive (with --from)' },
    { flags: '--resend', description: 'put the rows the central lacks back in the queue for the next pass' },
    { flags: '--max-run-seconds <s>', description: 'time budget of the reconciliation (default 60)', parse: positiveNumber('--max-run-seconds', 3600) },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config } = await ctx.loadConfig();
    await checkTls(config);
    return reconcileCommand(ctx, config, opts);
  },
});

async function reconcileCommand(ctx: Context, config: Config, options: ReconcileOptions): Promise<number> {
  const [{ openDatabase }, { localReconcileStore }, { createSummaryClient }, record] = await Promise.all([
    import('../../store/db.js'),
    import('../../store/reconcile.js'),
    import('../../central/summary.js'),
    import('../../state/reconcile-record.js'),
  ]);
  const recordFile = record.reconcileRecordPath(config.stateFile);
  const { runReconcile, renderReconcile } = await import('../../commands/reconcile.js');
  const result = await runReconcile(options, {
    config,
    clock: systemClock,
    log: ctx.log,
    openDb: async (writable) =>
      openDatabase({
        path: config.db.path,
        create: false,
        autoMigrate: writable && config.db.autoMigrate,
        busyTimeoutMs: Math.min(config.db.busyTimeoutMs, 5000),
        readonly: !writable,
      }),
    localStore: localReconcileStore,
    central: async () => {
      let tlsFetch: typeof fetch | undefined;
      if (config.http.caFile !== null || config.http.clientCertFile !== null) {
        const { createTlsFetch } = await import('../../central/tls.js');
        tlsFetch = createTlsFetch(config.http);
      }
      return createSummaryClient({
        url: config.endpoints.summary,
        storeId: config.storeId,
        token: config.http.token,
        headers: config.http.headers,
        ...(tlsFetch ? { fetch: tlsFetch } : {}),
      });
    },
    record: (r) => {
      try {
        record.writeReconcileRecord(recordFile, r);
      } catch (err) {
        ctx.log.warn(`cannot record the reconciliation in ${recordFile}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  });
  ctx.print(result, () => renderReconcile(result, ctx.paint));
  return result.exitCode;
}
