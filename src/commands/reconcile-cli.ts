// The edges of `pos-sync reconcile`, kept out of src/cli/main.ts: the database (read-only unless
// --resend), the summary client (with the TLS settings when configured) and the record for health.

import type { Context } from '../cli/main.js';
import type { Config } from '../config/types.js';
import { systemClock } from '../domain/time.js';
import { renderReconcile, runReconcile, type ReconcileOptions } from './reconcile.js';

export async function reconcileCommand(ctx: Context, config: Config, options: ReconcileOptions): Promise<number> {
  const [{ openDatabase }, { localReconcileStore }, { createSummaryClient }, record] = await Promise.all([
    import('../store/db.js'),
    import('../store/reconcile.js'),
    import('../central/summary.js'),
    import('../state/reconcile-record.js'),
  ]);
  const recordFile = record.reconcileRecordPath(config.stateFile);
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
        const { createTlsFetch } = await import('../central/tls.js');
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
