// `pos-sync requeue`: dead-lettered rows back in the queue (src/commands/requeue.ts).

import { COMMAND_HELP } from '../help.js';
import { defineCommand } from './command.js';

export const requeue = defineCommand<{ all?: boolean; id?: string[] }>({
  name: 'requeue',
  description: 'put dead-lettered rows back in the queue',
  options: [
    { flags: '--all', description: 'every dead-lettered row' },
    { flags: '--id <id...>', description: 'these row ids' },
  ],
  help: COMMAND_HELP['requeue'],
  run: async (ctx, opts) => {
    const { runRequeue, checkRequeueOptions } = await import('../../commands/requeue.js');
    checkRequeueOptions({ all: opts.all, ids: opts.id }); // a usage error before anything is opened
    const { config } = await ctx.loadConfig();
    const openDb = await ctx.databases();
    const { renderRequeue } = await import('../render.js');
    const result = runRequeue({ all: opts.all, ids: opts.id }, { openDb: () => openDb(config, false) });
    if (result.unknownIds.length > 0) ctx.log.error(`no row has the id ${result.unknownIds.join(', ')}`);
    ctx.print(result, () => renderRequeue(result, ctx.paint));
    return result.exitCode;
  },
});
