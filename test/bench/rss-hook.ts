// Loaded with `node --import` into a measured process only where GNU time is missing: writes the
// process's own peak RSS (KiB) and CPU seconds when it exits, in GNU time's `%M %U %S` shape.
// Without BENCH_USAGE_FILE (as when `node --test` runs every file under test/) it does nothing.

import fs from 'node:fs';

const file = process.env['BENCH_USAGE_FILE'];
if (file) {
  process.once('exit', () => {
    const u = process.resourceUsage();
    fs.writeFileSync(file, `${u.maxRSS} ${u.userCPUTime / 1e6} ${u.systemCPUTime / 1e6}\n`);
  });
}
