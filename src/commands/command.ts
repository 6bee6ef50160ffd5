// The shape of one command on the command line: its options, help and run. Every command is one
// module beside this one (src/commands/<name>.ts); its name and description are its line in the
// table (index.ts), which loads the module only when commander is given that command.

import type { Context } from '../cli/context.js';

export interface OptionSpec {
  /** As commander spells it: '--batch-size <n>'. */
  readonly flags: string;
  readonly description: string;
  /** Checks and converts the value; throws commander's InvalidArgumentError (a usage error, 64). */
  readonly parse?: (value: string) => unknown;
  readonly defaultValue?: unknown;
}

export interface CommandSpec {
  readonly options: readonly OptionSpec[];
  /** Examples and exit codes, shown after the options in its --help (its module's HELP). */
  readonly help: string | undefined;
  /** Runs the command; returns its exit code, throws for the CLI to map (src/cli/errors.ts). */
  run(ctx: Context, options: Record<string, unknown>): Promise<number>;
}

/** A command whose options commander has parsed into `O`. */
export function defineCommand<O>(spec: Omit<CommandSpec, 'run'> & { run(ctx: Context, options: O): Promise<number> }): CommandSpec {
  return spec as CommandSpec;
}

/** The exit codes most commands share, for the end of their --help (pos-sync(1) EXIT STATUS). */
export const COMMON_EXIT_CODES = `  64  usage error
  74  the database is missing or unreadable
  78  configuration error
  1   a bug (--verbose shows the stack)`;
