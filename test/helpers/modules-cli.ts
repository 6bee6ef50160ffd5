// The CLI from the compiled modules, one by one, for the tests that record which modules a run
// loads (helpers/module-record.ts, loader hooks): a module inside bin/pos-sync's bundle never
// reaches a loader hook or require.cache. The same main() as bin/pos-sync runs, with the same
// arguments, environment and stdio; only how its code is loaded differs. Not a way users start it.

import { main, processStdio } from '../../src/main.js';

main({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), ...processStdio() }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pos-sync: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
