// The young-generation cap (src/pass/young-generation.ts), on a real V8 heap: each case runs in its
// own Node process, as the V8 flag it sets holds for the whole process. The workload is a drain's
// shape in small: a stream of short-lived objects with a rolling set of a few MiB alive, which
// grows V8's new space as a long pass does.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { SEMI_SPACE_CAP_BYTES } from '../src/pass/young-generation.js';

const MODULE = new URL('../src/pass/young-generation.js', import.meta.url).href;

/**
 * The largest new space (bytes, both semi-spaces) seen while allocating ~500 MB, ~300 KB of it
 * alive at any time, and whether the cap took hold; `withCap` false runs the same work unchecked.
 */
function run(withCap: boolean): { largest: number; capped: boolean } {
  const script = `
    import v8 from 'node:v8';
    import { YoungGenerationCap } from ${JSON.stringify(MODULE)};
    const cap = new YoungGenerationCap();
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const withCap = ${String(withCap)};
    const alive = new Array(300);
    let largest = 0;
    let capped = false;
    for (let i = 0; i < 600_000; i++) {
      alive[i % alive.length] = { i, text: 'row '.repeat(200) + i };
      if (i % 500 === 0) {
        if (withCap) capped = cap.afterBatch() || capped;
        largest = Math.max(largest, newSpace());
      }
    }
    process.stdout.write(JSON.stringify({ largest, capped }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { largest: number; capped: boolean };
}

describe('a long pass does not grow V8 young generation past the cap', () => {
  test('unchecked, the same work grows the new space past two capped semi-spaces (the workload is long enough)', () => {
    const { largest, capped } = run(false);
    assert.equal(capped, false);
    assert.ok(largest > 2 * SEMI_SPACE_CAP_BYTES, `the new space grew to ${largest} bytes only`);
  });

  test('checked after each step, as a pass does after each batch, it stops at two semi-spaces of the cap', () => {
    const { largest, capped } = run(true);
    assert.equal(capped, true);
    assert.ok(largest <= 2 * SEMI_SPACE_CAP_BYTES, `the new space grew to ${largest} bytes`);
  });
});
