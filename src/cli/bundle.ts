// Part of `npm run build`, not of the CLI: bundles the compiled CLI (dist/src/main.js) into the
// one CommonJS file bin/pos-sync starts, dist/src/cli/pos-sync.cjs (README → Performance), then
// warm-up.js writes its code cache. One file starts in a fraction of the time of the ~40 modules
// an idle tick would otherwise load (pos-sync-internals(7) PERFORMANCE).
//
// commander is the one library every run loads, and two of its imports cost every tick for
// nothing, so they are answered differently for commander alone:
// - node:child_process (for executable subcommands, which pos-sync has none of) would bring net
//   and stream: commander gets src/cli/commander-child-process.ts, which loads the real module
//   only if spawn is called. Anything else imported from it fails this build ("No matching
//   export"): that is the pin on commander's internals.
// - Default imports of node:fs, node:path and node:process: esbuild makes each a copy of every
//   property of the module (its CommonJS interop), and listing node:fs's properties loads Node's
//   directory module. commander gets the module object itself, as Node would give it.

import { build, type BuildOptions, type Plugin } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const COMMANDER = /[\\/]node_modules[\\/]commander[\\/]/;
const SAME_MODULE = new Set(['node:fs', 'node:path', 'node:process']);

const commanderBuiltins: Plugin = {
  name: 'commander-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:(child_process|fs|path|process)$/ }, (args) => {
      if (!COMMANDER.test(args.importer)) return undefined;
      if (args.path === 'node:child_process') return { path: join(here, 'commander-child-process.js') };
      return { path: args.path, namespace: 'builtin-default' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin-default' }, (args) => {
      if (!SAME_MODULE.has(args.path)) throw new Error(`bundle: unexpected builtin ${args.path}`);
      return { contents: `export default process.getBuiltinModule(${JSON.stringify(args.path)});\n`, loader: 'js' };
    });
  },
};

/**
 * What the bundle leaves to node_modules, loaded when used: Kafka and a config file are rare on a
 * tick; typescript only for a config written in TypeScript, which pos-sync does not read. The
 * Debian package ships these (but typescript) and their dependencies (examples/debian/build-deb.sh
 * reads this list).
 */
export const EXTERNAL: readonly string[] = ['kafkajs', 'cosmiconfig', 'typescript'];

/** What both bundles share: one CommonJS file each, Node 22+, the externals left to node_modules. */
const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node22',
  minify: true,
  sourcemap: true,
  // The licences of what is bundled go beside each bundle (pos-sync.cjs.LEGAL.txt).
  legalComments: 'external',
  // import() in a CommonJS file would start Node's ES module loader for the externals; require does not.
  supported: { 'dynamic-import': false },
  external: [...EXTERNAL],
  define: { 'import.meta.url': '__bundle_url' },
  banner: { js: "const __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};

async function bundle(): Promise<void> {
  // The idle look (src/idle.ts) on its own: bin/pos-sync runs it before the full bundle.
  await build({ ...COMMON, entryPoints: [join(here, '..', 'idle.js')], outfile: join(here, 'idle.cjs') });
  await build({ ...COMMON, entryPoints: [join(here, '..', 'main.js')], outfile: join(here, 'pos-sync.cjs'), plugins: [commanderBuiltins] });
}

// Run as a script (npm run bundle), not when imported for EXTERNAL.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await bundle();
