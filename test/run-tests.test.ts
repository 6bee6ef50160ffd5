import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const RUNNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'run-tests.js');

test('npm test fails, naming the reason, when no test file matches: a run that tests nothing is not green', () => {
  const r = spawnSync(process.execPath, [RUNNER, 'no-such-test-file-anywhere'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^run-tests: no test file in .* matching no-such-test-file-anywhere: run npm run build first\n$/);
});
