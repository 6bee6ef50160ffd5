// `pos-sync config`: the effective configuration and where each value came from (src/commands/config.ts).

import type { LoadedConfig } from '../../config/load.js';
import { COMMAND_HELP } from '../help.js';
import { defineCommand } from './command.js';

export const config = defineCommand<Record<string, never>>({
  name: 'config',
  description: 'print the effective configuration and where each value came from (secrets redacted)',
  options: [],
  help: COMMAND_HELP['config'],
  run: async (ctx) => {
    let loaded: LoadedConfig;
    try {
      loaded = await ctx.loadConfig();
    } catch (err) {
      // Every invalid value at once, in the table, then the one closing line.
      const { InvalidSettingsError } = await import('../../config/resolve.js');
      if (err instanceof InvalidSettingsError && ctx.human) {
        const { renderInvalidConfig } = await import('../../commands/config.js');
        ctx.io.stdout.write(renderInvalidConfig(err.invalid, err.settings));
      }
      throw err;
    }
    const { runConfig, renderConfig } = await import('../../commands/config.js');
    const result = runConfig(loaded, ctx.io.env);
    ctx.print(result, () => renderConfig(result));
    return result.exitCode;
  },
});
