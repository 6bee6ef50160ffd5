// `pos-sync requeue`: dead-lettered rows back in the queue (src/commands/requeue.ts).

import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync status --dead-letters           find the ids and the reasons first
  pos-sync requeue --id 651ECA5B-96B0-4CD4-ADCC-FAA022B44AAF
  pos-sync requeue --all

Exit codes:
  0   requeued (or nothing to requeue)
  64  an id names no row (the others are requeued), or neither/both of --all and --id
  74  the database is missing or unreadable
  78  configuration error`;

export const requeue = defineCommand<{ all?: boolean; id?: string[] }>({
  name: 'requeue',
  description: 'put dead-lettered rows back in the queue',
  options: [
    { flags: '--all', description: 'every dead-lettered row' },
    { flags: '--id <id...>', description: 'these row ids' },
  ],
  help: HELP,
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
