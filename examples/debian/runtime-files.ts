// Part of `npm run package` (examples/debian/build-deb.sh), not of the CLI: what the installed
// product needs at run time, taken from the build instead of a hand list, so a file the commands
// load can never be left out of the package (health's worker, dist/src/store/inspect.js, once was).
//
//   file <path>     a file of the checkout to ship at the same path under /usr/lib/pos-sync
//   module <name>   a package of node_modules to ship, with the packages it depends on
//
// The files: the bundle (dist/src/cli/pos-sync.cjs) with its source map and licences, the idle
// fast path's bundle (idle.cjs),
// then every module the bundle starts by its own path at run time (a worker thread: `new
// URL("…", import.meta.url)`, which esbuild leaves as it is) and the compiled modules those import,
// found by esbuild's own resolver (its metafile). The modules: what the bundle keeps external
// (EXTERNAL in src/cli/bundle.ts, but typescript: pos-sync reads no config written in it),
// better-sqlite3 (a native addon cannot be bundled), and the packages those workers import.

import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EXTERNAL } from '../../src/cli/bundle.js';

/** dist/examples/debian/ → the checkout. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli');
const BUNDLE = join(CLI, 'pos-sync.cjs');

/** The files the bundle starts by path: `new URL("<relative>", __bundle_url)` in its text. */
export function startedByPath(bundleText: string): string[] {
  const found = [...bundleText.matchAll(/new URL\("(\.{1,2}\/[^"]+\.js)",\s*__bundle_url\)/g)].map((m) => resolve(CLI, m[1]!));
  return [...new Set(found)].sort();
}

/** A package's name from a bare import ("kafkajs", "@scope/x/sub" → "@scope/x"). */
function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The compiled modules `entry` loads (itself included) and the packages they import. */
async function closure(entry: string): Promise<{ files: string[]; packages: string[] }> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'error',
  });
  const files = Object.keys(result.metafile.inputs).map((f) => resolve(ROOT, f));
  const packages = Object.values(result.metafile.inputs)
    .flatMap((input) => input.imports)
    .filter((i) => i.external && !i.path.startsWith('node:'))
    .map((i) => packageName(i.path));
  return { files, packages: [...new Set(packages)] };
}

/** The dependencies of `roots` in node_modules, breadth first; node-addon-api is only for compiling. */
function withDependencies(roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name) || name === 'node-addon-api') continue;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    queue.push(...Object.keys(pkg.dependencies ?? {}));
  }
  return [...seen];
}

export async function runtimeFiles(): Promise<{ files: string[]; modules: string[] }> {
  // The compile cache (dist/src/cli/compile-cache, a folder) is copied by build-deb.sh itself.
  const shipped = [BUNDLE, `${BUNDLE}.map`, `${BUNDLE}.LEGAL.txt`, join(CLI, 'idle.cjs'), join(CLI, 'idle.cjs.map')];
  const packages = new Set(['better-sqlite3', ...EXTERNAL.filter((m) => m !== 'typescript')]);
  const workers = startedByPath(readFileSync(BUNDLE, 'latin1'));
  for (const worker of workers) {
    const c = await closure(worker);
    shipped.push(...c.files);
    for (const p of c.packages) packages.add(p);
  }
  for (const f of shipped) if (!existsSync(f)) throw new Error(`runtime-files: ${relative(ROOT, f)} is missing: run npm run build`);
  return { files: [...new Set(shipped)].map((f) => relative(ROOT, f)), modules: withDependencies([...packages]) };
}

// Run as a script (build-deb.sh), not when a test imports it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { files, modules } = await runtimeFiles();
  process.stdout.write([...files.map((f) => `file ${f}`), ...modules.map((m) => `module ${m}`)].join('\n') + '\n');
}
