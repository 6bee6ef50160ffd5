// `pos-sync status`: the verdict, since when, what to do, then the figures (src/commands/status.ts).

import { systemClock } from '../../domain/time.js';
import { positiveInt } from '../options.js';
import { COMMON_EXIT_CODES, defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
The first three lines answer: is it working (OK / DEGRADED / NOT SYNCING), since when (the last
success, in the store's time zone, Sync.TimeZone), what to do next.

Examples:
  pos-sync status
  pos-sync status --dead-letters           which rows were dead-lettered and why, and the requeue line
  pos-sync --json status | jq -r .verdict

Exit codes:
  0   OK
  1   DEGRADED: dead letters, refused rows waiting, a backlog past its warning, a failing pass, Kafka trouble
  2   NOT SYNCING: no pass yet, credentials refused, configuration or local I/O error, breaker open, no success for too long
${COMMON_EXIT_CODES}`;

export const status = defineCommand<{ deadLetters?: boolean; limit: number }>({
  name: 'status',
  description: 'is it syncing (OK / DEGRADED / NOT SYNCING), since when, what to do; then the figures',
  options: [
    { flags: '--dead-letters', description: 'also list the dead-lettered rows: id, entity, product, amount, refusals, reason, and the requeue line' },
    { flags: '--limit <n>', description: 'with --dead-letters: at most this many rows (oldest first)', parse: positiveInt('--limit', 100_000), defaultValue: 50 },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const loaded = await ctx.loadConfig();
    const { config } = loaded;
    const openDb = await ctx.databases();
    const { runStatus } = await import('../../commands/status.js');
    const { renderStatus } = await import('../render-status.js');
    const result = runStatus({
      config,
      clock: systemClock,
      openDb: () => openDb(config, false, true),
      configFile: loaded.file,
      tokenSource: loaded.tokenSource,
      ...(opts.deadLetters ? { deadLetters: { limit: opts.limit } } : {}),
    });
    ctx.print(result, () => renderStatus(result, ctx.paint));
    return result.exitCode;
  },
});
