// Stands in for node:child_process for commander inside the bundled CLI only (src/cli/bundle.ts
// gives it to commander). commander requires node:child_process as it loads, for one thing —
// spawning executable subcommands, which pos-sync has none of — and that module brings net and
// stream with it: milliseconds of every timer tick (pos-sync-internals(7) PERFORMANCE). Here the real module is loaded only
// if spawn is ever called. Anything else commander imports from node:child_process fails the
// build ("No matching export"), so this can never hide a missing function: that is the pin on
// commander's internals — a commander release that needs more of node:child_process does not build.

type ChildProcessModule = typeof import('node:child_process');

export const spawn = ((...args: Parameters<ChildProcessModule['spawn']>) => process.getBuiltinModule('node:child_process').spawn(...args)) as ChildProcessModule['spawn'];

// commander 15 is an ES module that imports the default export.
export default { spawn };
