// Every command of pos-sync, in the order --help lists them: its name and one-line description,
// all commander needs to list it, and how to load its module (src/commands/<name>.ts: options,
// --help text, run, logic). A command's module, and everything it imports, is loaded only when
// that command is built (src/main.ts), so a timer tick loads sync's alone (pos-sync-internals(7) PERFORMANCE). A new
// command is one module beside this one and one line here.

import type { CommandSpec } from './command.js';

export interface CommandEntry {
  readonly name: string;
  readonly description: string;
  load(): Promise<CommandSpec>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'sync', description: 'deliver pending rows to the central API (one bounded pass)', load: async () => (await import('./sync.js')).sync },
  { name: 'seed', description: 'insert realistic unsynced sample rows, for testing', load: async () => (await import('./seed.js')).seed },
  {
    name: 'status',
    description: 'is it syncing (OK / DEGRADED / NOT SYNCING), since when, what to do; then the figures',
    load: async () => (await import('./status.js')).status,
  },
  { name: 'health', description: 'checks for monitoring (Monitoring Plugins exit codes 0-3)', load: async () => (await import('./health.js')).health },
  {
    name: 'cleanup',
    description: 'delete retry logs and run history past retention; never an unsynced row',
    load: async () => (await import('./cleanup.js')).cleanup,
  },
  { name: 'requeue', description: 'put dead-lettered rows back in the queue', load: async () => (await import('./requeue.js')).requeue },
  {
    name: 'reconcile',
    description: "compare the rows delivered from here with the central's figures; list the ids that differ",
    load: async () => (await import('./reconcile.js')).reconcile,
  },
  {
    name: 'config',
    description: 'print the effective configuration and where each value came from (secrets redacted)',
    load: async () => (await import('./config.js')).config,
  },
];
