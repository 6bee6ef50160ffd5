// Temporary folders for tests: each under the OS temp dir, removed by the test's `after`.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/test/helpers/ (compiled) or test/helpers/ (source). */
export const REPO_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('tests: cannot find the repository root');
    dir = up;
  }
  return dir;
})();

export function makeTmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pos-sync-${label}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

/** A temp folder for a whole test file: `const tmp = tmpDirs('store'); after(tmp.cleanup)`. */
export function tmpDirs(label: string): { make(sub?: string): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(sub = label) {
      const dir = makeTmpDir(sub);
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) removeDir(dir);
    },
  };
}
