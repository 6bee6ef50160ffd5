// `pos-sync cleanup`: retry logs and run history past retention; never an unsynced row (src/commands/cleanup.ts).

import { systemClock } from '../../domain/time.js';
import { positiveInt } from '../options.js';
import { COMMON_EXIT_CODES, defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync cleanup --dry-run
  pos-sync cleanup --synced-older-than 90 --vacuum

Exit codes:
  0   done
  75  a sync holds the lock: try later
${COMMON_EXIT_CODES}`;

export const cleanup = defineCommand<{ dryRun?: boolean; syncedOlderThan?: number; vacuum?: boolean }>({
  name: 'cleanup',
  description: 'delete retry logs and run history past retention; never an unsynced row',
  options: [
    { flags: '--dry-run', description: 'report what would be deleted' },
    { flags: '--synced-older-than <days>', description: 'also delete synced business rows older than this', parse: positiveInt('--synced-older-than', 36500) },
    { flags: '--vacuum', description: 'compact the database afterwards (blocks the POS while it runs)' },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config } = await ctx.loadConfig();
    const openDb = await ctx.databases();
    const { runCleanup } = await import('../../commands/cleanup.js');
    const { renderCleanup } = await import('../render.js');
    const result = runCleanup(
      { dryRun: opts.dryRun, syncedOlderThanDays: opts.syncedOlderThan, vacuum: opts.vacuum },
      { config, clock: systemClock, log: ctx.log, openDb: () => openDb(config, false) },
    );
    ctx.print(result, () => renderCleanup(result));
    return result.exitCode;
  },
});
