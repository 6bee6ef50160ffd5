// The command line: builds the commander program from the command table (src/commands/index.ts),
// loading only the modules of the commands it is given; gives each command its context (config,
// logger, database opener, printer; clients are made on first use) and hands every error to the
// one place that maps it to a line and an exit code (src/cli/errors.ts; pos-sync(1) LOGGING; pos-sync(1) EXIT STATUS).

import { Command, Option } from 'commander';
import { ExitCode } from './errors.js';
import { VERSION } from './version.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import type { CommandSpec } from './commands/command.js';
import { createContext, makePaint, type Context, type GlobalOptions, type Io } from './cli/context.js';
import { reportError, reportHealthError } from './cli/errors.js';

export { processStdio } from './cli/stdio.js';
export type { Context, Io } from './cli/context.js';

async function buildProgram(io: Io, run: (fn: (ctx: Context) => Promise<number>) => Promise<void>): Promise<Command> {
  const program = new Command('pos-sync')
    .description("Keeps a store's local POS database in step with the central store API: one bounded pass per run.")
    .version(VERSION, '-V, --version')
    .option('-c, --config <file>', 'config file (appsettings.json shape); env POS_SYNC_CONFIG; default: searched')
    .option('--db <path>', 'SQLite database; env POS_SYNC_DB; default data/POS_Local.db')
    .option('--state-file <path>', 'state file; env POS_SYNC_STATE_FILE; default <database>.pos-sync.state.json beside the database (service and shell alike)')
    .option('--store-id <id>', 'store id; env STORE_ID; default STORE001')
    .option('--central-url <url>', 'central API base URL; env CENTRAL_API_URL')
    .option('--json', 'print one JSON document on stdout')
    .addOption(new Option('-v, --verbose', 'debug logs and stack traces').conflicts('quiet'))
    .option('-q, --quiet', 'warnings and errors only')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined })
    // Global options work after the command too: each command's --help lists them.
    .configureHelp({ showGlobalOptions: true });

  const entries = commandsToBuild(io.argv);
  // Loaded together, registered in the table's order (the order --help lists them).
  const specs = await Promise.all(entries.map((entry) => entry.load()));
  entries.forEach((entry, i) => register(program, entry, specs[i]!, run));
  return program;
}

/**
 * The commands commander is given for this command line, and so the command modules loaded. A
 * timer tick runs one command, and every command module loaded and every command and option
 * commander builds costs a cold start (pos-sync-internals(7) PERFORMANCE). So: the commands named on the command line; all
 * of them when help may be shown or none is named (commander then lists them, or suggests one for
 * a misspelt word).
 */
export function commandsToBuild(argv: readonly string[]): readonly CommandEntry[] {
  const help = argv.length === 0 || argv.some((a) => a === 'help' || a === '-h' || a === '--help');
  const named = COMMANDS.filter((c) => argv.includes(c.name));
  return help || named.length === 0 ? COMMANDS : named;
}

/** One command of the table on the program: its options, its help after them, its run. */
function register(program: Command, entry: CommandEntry, spec: CommandSpec, run: (fn: (ctx: Context) => Promise<number>) => Promise<void>): void {
  const command = program.command(entry.name).description(entry.description);
  command.action((opts: Record<string, unknown>) => run((ctx) => spec.run(ctx, opts)));
  for (const o of spec.options) {
    if (o.parse) command.option(o.flags, o.description, o.parse, o.defaultValue);
    else command.option(o.flags, o.description);
  }
  if (spec.help) command.addHelpText('after', spec.help);
}

/** Runs the CLI and returns the exit code; never calls process.exit. */
export async function main(io: Io): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let ctx: Context | undefined;
  let command = '';
  const run = async (fn: (ctx: Context) => Promise<number>): Promise<void> => {
    const globals = program.opts<GlobalOptions>();
    ctx = createContext(io, globals, await makePaint(io, globals), command);
    exitCode = await fn(ctx);
  };
  const program = await buildProgram(io, run);
  program.hook('preAction', (_program, actionCommand) => {
    command = actionCommand.name();
  });
  // Known before the subcommand parses its options, so even a usage error of `health` is UNKNOWN (3).
  let subcommand = '';
  program.hook('preSubcommand', (_program, sub) => {
    subcommand = sub.name();
  });
  try {
    await program.parseAsync(io.argv as string[], { from: 'user' });
    if (io.argv.length === 0) {
      io.stderr.write(program.helpInformation());
      return ExitCode.usage;
    }
  } catch (err) {
    if (subcommand === 'health') return reportHealthError(err, io, ctx, program.opts<GlobalOptions>());
    return reportError(err, io, ctx, program.opts<GlobalOptions>(), subcommand || command || null);
  }
  return exitCode;
}
