// Records which modules a process loads, so a test can prove a code path never loads a library
// (kafkajs) without timing anything. Preload it into the process under test:
//
//   NODE_OPTIONS="--import <file URL of dist/test/helpers/module-record.js>"
//   POS_SYNC_TEST_MODULE_LOG=<file>
//
// Two independent records go to the file, one line each: `esm <url>` for every module the ESM
// loader resolves (a resolve hook, registered with module.register, which runs in the loader's
// own thread), and `cjs <path>` for every CommonJS module in require.cache when the process
// exits (kafkajs is CommonJS: its internal requires never pass the ESM hook).
//
// node --test runs every file under dist/test/, this one included: without the variable it does
// nothing.

import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

export const MODULE_LOG_ENV = 'POS_SYNC_TEST_MODULE_LOG';

const logFile = process.env[MODULE_LOG_ENV];

if (isMainThread && logFile) {
  register(import.meta.url, { data: { logFile } });
  process.on('exit', () => {
    const cache = createRequire(import.meta.url).cache;
    appendFileSync(logFile, Object.keys(cache).map((p) => `cjs ${p}\n`).join(''));
  });
}

// --- the hooks (loader thread) -----------------------------------------------------------------

let hookLog: string | undefined;

export function initialize(data: { logFile: string } | undefined): void {
  hookLog = data?.logFile;
}

interface ResolveResult {
  readonly url: string;
}

export async function resolve(
  specifier: string,
  context: unknown,
  nextResolve: (specifier: string, context: unknown) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  const result = await nextResolve(specifier, context);
  if (hookLog) appendFileSync(hookLog, `esm ${result.url}\n`);
  return result;
}
