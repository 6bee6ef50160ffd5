// `pos-sync seed`: realistic unsynced sample rows, for testing (src/commands/seed.ts).

import { systemClock } from '../../domain/time.js';
import { nonNegativeInt } from '../options.js';
import { COMMON_EXIT_CODES, defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync --db /tmp/lab.db seed --transactions 100 --inventory 20 --random-seed 7

Exit codes:
  0   seeded (the database is created when missing)
${COMMON_EXIT_CODES}`;

export const seed = defineCommand<{ transactions: number; inventory: number; randomSeed?: number; force?: boolean }>({
  name: 'seed',
  description: 'insert realistic unsynced sample rows, for testing',
  options: [
    { flags: '--transactions <n>', description: 'sales transactions to insert', parse: nonNegativeInt('--transactions', 100_000_000), defaultValue: 10 },
    { flags: '--inventory <n>', description: 'inventory updates to insert', parse: nonNegativeInt('--inventory', 100_000_000), defaultValue: 5 },
    { flags: '--random-seed <n>', description: 'seed of the random generator, for a repeatable set', parse: nonNegativeInt('--random-seed', 2 ** 31 - 1) },
    { flags: '--force', description: 'seed even a database holding rows seed did not make (a real POS database)' },
  ],
  help: HELP,
  run: async (ctx, opts) => {
    const { config } = await ctx.loadConfig();
    const openDb = await ctx.databases();
    const { runSeed } = await import('../../commands/seed.js');
    const { renderSeed } = await import('../render.js');
    const result = runSeed(
      { transactions: opts.transactions, inventory: opts.inventory, randomSeed: opts.randomSeed, storeId: config.storeId, force: opts.force },
      { clock: systemClock, openDb: () => openDb(config, true), dbPath: config.db.path },
    );
    ctx.print(result, () => renderSeed(result));
    return result.exitCode;
  },
});
