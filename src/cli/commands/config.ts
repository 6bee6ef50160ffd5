// `pos-sync config`: the effective configuration and where each value came from (src/commands/config.ts).

import type { LoadedConfig } from '../../config/load.js';
import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (SPEC §9). */
const HELP = `
Examples:
  pos-sync config                          every setting, its value and where it came from
  Kafka__ProducerConfig__sasl.password=… pos-sync --config appsettings.json config

Exit codes:
  0   the configuration is valid
  78  invalid: the table marks every invalid value
  64  usage error`;

export const config = defineCommand<Record<string, never>>({
  name: 'config',
  description: 'print the effective configuration and where each value came from (secrets redacted)',
  options: [],
  help: HELP,
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
