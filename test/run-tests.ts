// `npm test`: runs every compiled test file with Node's test runner on the Node that runs this
// script (the project's own Node 24 under npm; .ci/run also runs it with Node 22). Files are named
// one by one because `node --test DIR` runs nothing on Node 22+, and the run fails when it found
// no test file or the runner's summary counts no test — a green run that tested nothing is a lie.
// Arguments narrow the run to files whose name contains one of them: `npm test -- kafka tls`.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = fs
  .readdirSync(dir)
  .filter((name) => name.endsWith('.test.js'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort()
  .map((name) => path.join(dir, name));

if (files.length === 0) {
  process.stderr.write(`run-tests: no test file in ${dir}${filters.length ? ` matching ${filters.join(', ')}` : ''}: run npm run build first\n`);
  process.exit(1);
}

const concurrency = process.env.POS_SYNC_TEST_CONCURRENCY ?? '2';
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
});
child.on('close', (code, signal) => {
  const tests = /^ℹ tests (\d+)$/m.exec(tail) ?? /^# tests (\d+)$/m.exec(tail);
  if (code === 0 && (!tests || Number(tests[1]) === 0)) {
    process.stderr.write(`run-tests: the runner executed no test (Node ${process.version})\n`);
    process.exit(1);
  }
  // .ci/run runs the suite more than once (two Node lines, the live-systemd test) and closes with
  // one total: each run appends its counts to the file it names.
  const tally = process.env['POS_SYNC_TEST_TALLY'];
  if (tally) {
    const count = (name: string): number => Number((new RegExp(`^(?:ℹ|#) ${name} (\\d+)$`, 'm').exec(tail) ?? [])[1] ?? 0);
    fs.appendFileSync(tally, `${count('pass')} ${count('fail')} ${count('skipped')}\n`);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
