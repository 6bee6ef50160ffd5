// `pos-sync health`: checks for monitoring, Monitoring Plugins exit codes (src/commands/health.ts).
// Whatever stops the checks is UNKNOWN (3), even a usage error (src/cli/errors.ts).

import { systemClock } from '../../domain/time.js';
import { centralClient } from '../clients.js';
import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync health                          for NRPE / Icinga: a status line, a line per check, perfdata
  pos-sync --json health

Exit codes (Monitoring Plugins):
  0   OK
  1   WARNING
  2   CRITICAL: database or central unreachable, credentials refused, configuration or I/O error in the last pass, Kafka trouble that waiting cannot heal
  3   UNKNOWN: the checks could not run (bad configuration or option)`;

export const health = defineCommand<Record<string, never>>({
  name: 'health',
  description: 'checks for monitoring (Monitoring Plugins exit codes 0-3)',
  options: [],
  help: HELP,
  run: async (ctx) => {
    const { runHealth, unknownHealth, kafkaReachable } = await import('../../commands/health.js');
    const { renderHealth } = await import('../render.js');
    let result: Awaited<ReturnType<typeof runHealth>>;
    try {
      const { config } = await ctx.loadConfig();
      const [{ inspectDatabaseInWorker }, { peekState }, { SCHEMA_VERSION }, { readReconcileFacts }] = await Promise.all([
        import('../../store/inspect.js'),
        import('../../state/file.js'),
        import('../../store/migrations.js'),
        import('../../state/reconcile-record.js'),
      ]);
      result = await runHealth({
        config,
        clock: systemClock,
        log: ctx.log,
        checkDatabase: (ms) => inspectDatabaseInWorker(config.db.path, Math.min(config.db.busyTimeoutMs, config.health.timeoutMs), Date.now(), ms),
        central: () => centralClient(config),
        checkKafka: config.kafka.enabled ? (ms) => kafkaReachable(config, ctx.log, ms) : null,
        readState: () => peekState(config.stateFile),
        readReconcile: () => readReconcileFacts(config.stateFile),
        expectedSchemaVersion: SCHEMA_VERSION,
      });
    } catch (err) {
      // Whatever stops the checks (a config error, a bug) is UNKNOWN to a monitoring system.
      const message = err instanceof Error ? err.message : String(err);
      ctx.log.error(message);
      result = unknownHealth(message);
    }
    ctx.print(result, () => renderHealth(result));
    return result.exitCode;
  },
});
