// `pos-sync health`: checks for monitoring, Monitoring Plugins exit codes (src/commands/health.ts).
// Whatever stops the checks is UNKNOWN (3), even a usage error (src/cli/errors.ts).

import { systemClock } from '../../domain/time.js';
import { centralClient } from '../clients.js';
import { COMMAND_HELP } from '../help.js';
import { defineCommand } from './command.js';

export const health = defineCommand<Record<string, never>>({
  name: 'health',
  description: 'checks for monitoring (Monitoring Plugins exit codes 0-3)',
  options: [],
  help: COMMAND_HELP['health'],
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
