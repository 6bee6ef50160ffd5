// Stands in for node:child_process inside the bundled CLI only (package.json's "bundle" script
// aliases it). commander requires node:child_process as it loads, for one thing — spawning
// executable subcommands, which pos-sync has none of — and that module brings net and stream
// with it: milliseconds of every timer tick (SPEC §10). Here the real module is loaded only if
// spawn is ever called. Anything else imported from node:child_process in the bundle fails the
// build ("No matching export"), so this can never hide a missing function: that is the pin on
// commander's internals — a commander release that needs more of node:child_process does not build.

import { createRequire } from 'node:module';

type ChildProcessModule = typeof import('node:child_process');

export const spawn = ((...args: Parameters<ChildProcessModule['spawn']>) =>
  (createRequire(import.meta.url)('node:child_process') as ChildProcessModule).spawn(...args)) as ChildProcessModule['spawn'];

// commander 15 is an ES module that imports the default export.
export default { spawn };
