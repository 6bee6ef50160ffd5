// `pos-sync status`: the verdict, since when, what to do, then the figures (src/commands/status.ts).

import { systemClock } from '../../domain/time.js';
import { COMMAND_HELP } from '../help.js';
import { positiveInt } from '../options.js';
import { defineCommand } from './command.js';

export const status = defineCommand<{ deadLetters?: boolean; limit: number }>({
  name: 'status',
  description: 'is it syncing (OK / DEGRADED / NOT SYNCING), since when, what to do; then the figures',
  options: [
    { flags: '--dead-letters', description: 'also list the dead-lettered rows: id, entity, product, amount, refusals, reason, and the requeue line' },
    { flags: '--limit <n>', description: 'with --dead-letters: at most this many rows (oldest first)', parse: positiveInt('--limit', 100_000), defaultValue: 50 },
  ],
  help: COMMAND_HELP['status'],
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
