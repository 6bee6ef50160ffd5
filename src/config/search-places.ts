// Whether cosmiconfig's search could find anything, answered with a few dozen stat calls. Most
// runs have no config file at all — settings come from flags and the environment, as on every
// idle timer tick — and loading cosmiconfig with its loaders only to learn that costs a sizeable
// part of a tick (pos-sync-internals(7) PERFORMANCE). The answer is a superset: "maybe" hands the search to cosmiconfig,
// only "certainly nothing" skips it, so what is found never changes.
//
// The places mirror the installed cosmiconfig (10: its meta-config places and global config
// folder, which it computes with env-paths). That is a pin on cosmiconfig's internals:
// test/config-search-places.test.ts reads cosmiconfig's own defaults and env-paths and fails when they
// change, so an upgrade that moves them cannot silently make this check skip a config file.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';

/** Where cosmiconfig looks for its own meta configuration, in the process's working directory. */
export const META_PLACES: readonly string[] = [
  'package.json',
  'package.yaml',
  '.config/config.json',
  '.config/config.yaml',
  '.config/config.yml',
  '.config/config.js',
  '.config/config.ts',
  '.config/config.cjs',
  '.config/config.mjs',
];

/** What cosmiconfig looks for in the global config folder. */
export const GLOBAL_PLACES: readonly string[] = ['config', 'config.json', 'config.yaml', 'config.yml', 'config.js', 'config.ts', 'config.cjs', 'config.mjs'];

/**
 * os.homedir() as cosmiconfig gets it: $HOME when set (libuv reads it first), else the password
 * database. Reading $HOME here spares every tick loading node:os for the same answer (pos-sync-internals(7) PERFORMANCE).
 */
function homedir(): string {
  return process.env['HOME'] ?? process.getBuiltinModule('node:os').homedir();
}

/** env-paths(name, { suffix: '' }).config, which is cosmiconfig's global config folder. */
export function globalConfigDir(name: string, env: NodeJS.ProcessEnv = process.env, home = homedir(), platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return join(home, 'Library', 'Preferences', name);
  if (platform === 'win32') return join(env['APPDATA'] || join(home, 'AppData', 'Roaming'), name, 'Config');
  return join(env['XDG_CONFIG_HOME'] || join(home, '.config'), name);
}

/** The folders a 'global' search visits before the global one: from `start` up to home (or the root). */
export function searchedDirs(start: string, home = homedir()): string[] {
  const stop = resolve(home);
  let dir = resolve(start);
  const dirs = [dir];
  while (dir !== stop) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dirs.push(parent);
    dir = parent;
  }
  return dirs;
}

/** A file there that could hold configuration; package.json only when it has `prop` (or is unreadable). */
function candidate(file: string, packageProp: string | null): boolean {
  if (!existsSync(file)) return false;
  if (packageProp === null || basename(file) !== 'package.json') return true;
  try {
    const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return pkg === null || typeof pkg !== 'object' || Object.hasOwn(pkg, packageProp);
  } catch {
    return true; // let cosmiconfig read it and report what is wrong
  }
}

/**
 * False only when a cosmiconfig 'global' search for `name` over `places` from `start` would find
 * nothing: no meta configuration in the working directory, no file at any place, no package.json
 * with a `name` key, nothing in the global config folder. Reads process.env and the home folder
 * exactly as cosmiconfig does.
 */
export function mightFindConfig(name: string, places: readonly string[], start: string): boolean {
  const cwd = process.cwd();
  if (META_PLACES.some((p) => candidate(inside(cwd, p), 'cosmiconfig'))) return true;
  for (const dir of searchedDirs(start)) {
    if (places.some((p) => candidate(inside(dir, p), name))) return true;
  }
  const global = globalConfigDir(name);
  return GLOBAL_PLACES.some((p) => existsSync(inside(global, p)));
}

/**
 * `place` (a plain relative name) inside `dir` (absolute and normalised already, as resolve()
 * and dirname() give it): joined by hand, since path.join normalises the whole path again on each
 * of the search's ~60 lookups — 1.66 → 1.10 ms of an idle tick's search (markers, 30 runs each).
 */
function inside(dir: string, place: string): string {
  return dir.endsWith(sep) ? dir + place : dir + sep + place;
}
