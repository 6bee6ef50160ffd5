// The manual page, man/pos-sync.1: groff reads it without a single warning, `man -l` renders it,
// it documents every option `pos-sync --help` and every `pos-sync <command> --help` lists, every
// command, every configuration key (the generated block matches src/config/schema.ts), every
// environment variable, the files and every exit code.
//
// After changing a setting in schema.ts: UPDATE_MAN=1 node --test dist/test/man.test.js
// rewrites the generated block of man/pos-sync.1 (the source, not dist/).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { configurationKeys, withConfigurationKeys } from '../src/config/manual.js';
import { SETTINGS } from '../src/config/schema.js';
import { main } from '../src/main.js';
import { REPO_ROOT } from './helpers/tmp.js';

const PAGE = path.join(REPO_ROOT, 'man', 'pos-sync.1');
const source = (): string => fs.readFileSync(PAGE, 'utf8');

function tool(t: TestContext, name: string, pkg: string): boolean {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) return true;
  // .ci/run installs it; under CI its absence is a failure, not a skip.
  if (process.env['CI'] === 'true') assert.fail(`${name} is missing under CI: install the ${pkg} package`);
  t.skip(`${name} is not installed (apt-get install ${pkg})`);
  return false;
}

/** The page as a reader sees it: plain ASCII, no fonts, no hyphenation, long lines. */
function rendered(): string {
  const r = spawnSync('groff', ['-man', '-Tascii', '-P-cbou', '-rLL=250n', PAGE], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Runs the CLI in-process and returns what it printed on stdout. */
async function help(args: string[]): Promise<string> {
  let out = '';
  const io = { argv: args, env: {}, cwd: REPO_ROOT, stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } };
  assert.equal(await main(io), 0, `pos-sync ${args.join(' ')}`);
  return out;
}

/** The flags of a commander help text's Options: section ("-c, --config <file>" → -c, --config). */
function optionsIn(helpText: string): string[] {
  const section = helpText.split(/^Options:$/m)[1]?.split(/^Commands:$/m)[0] ?? '';
  const flags: string[] = [];
  for (const line of section.split('\n')) {
    const m = /^ {2}((?:-[A-Za-z], )?--[a-z][a-z-]*)/.exec(line);
    if (m) flags.push(...m[1]!.split(', '));
  }
  return flags;
}

function commandsIn(helpText: string): string[] {
  const section = helpText.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);
}

const mentions = (text: string, flag: string): boolean => new RegExp(`(^|[\\s\\[(,|])${flag.replace(/-/g, '\\-')}(?![\\w-])`, 'm').test(text);

describe('man/pos-sync.1', () => {
  test('groff -man -ww -z prints no warning', (t) => {
    if (!tool(t, 'groff', 'groff')) return;
    const r = spawnSync('groff', ['-man', '-ww', '-z', PAGE], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '', r.stderr);
  });

  test('man -l renders it', (t) => {
    if (!tool(t, 'man', 'man-db')) return;
    const r = spawnSync('man', ['-l', PAGE], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
    assert.equal(r.status, 0, r.stderr);
    for (const heading of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'GLOBAL OPTIONS', 'COMMANDS', 'CONFIGURATION', 'ENVIRONMENT', 'FILES', 'EXIT STATUS', 'EXAMPLES']) {
      assert.match(r.stdout, new RegExp(`^${heading}$`, 'm'), heading);
    }
  });

  test('the configuration keys block is the one generated from src/config/schema.ts', () => {
    const page = source();
    const expected = withConfigurationKeys(page);
    if (process.env['UPDATE_MAN'] === '1' && expected !== page) fs.writeFileSync(PAGE, expected);
    assert.equal(page, expected, 'man/pos-sync.1 is stale: run UPDATE_MAN=1 node --test dist/test/man.test.js');
    assert.ok(page.includes(configurationKeys()));
  });

  test('every configuration key is documented with its default', (t) => {
    if (!tool(t, 'groff', 'groff')) return;
    const text = rendered();
    for (const spec of SETTINGS) {
      const at = text.search(new RegExp(`^ +${spec.key.replace(/\./g, '\\.')}$`, 'm'));
      assert.ok(at >= 0, `${spec.key} is missing`);
      const entry = text.slice(at, at + 600);
      const shown = spec.default === null ? 'unset' : typeof spec.default === 'string' ? spec.default : JSON.stringify(spec.default);
      assert.ok(entry.replace(/\s+/g, ' ').includes(`Default: ${shown};`), `${spec.key}: default ${shown}`);
    }
  });

  test('every global option and every option of every command is documented; every command has its section', async (t) => {
    if (!tool(t, 'groff', 'groff')) return;
    const text = rendered();
    const top = await help(['--help']);
    const commands = commandsIn(top);
    assert.ok(commands.includes('sync') && commands.includes('config'), top);
    const missing: string[] = [];
    for (const flag of optionsIn(top)) if (!mentions(text, flag)) missing.push(`global ${flag}`);
    for (const command of commands) {
      if (!new RegExp(`^ {3}${command}$`, 'm').test(text)) missing.push(`command ${command} (a .SS ${command} under COMMANDS)`);
      if (command === 'help') continue;
      const own = await help([command, '--help']);
      for (const flag of optionsIn(own)) if (!mentions(text, flag)) missing.push(`${command} ${flag}`);
    }
    assert.deepEqual(missing, [], `add to man/pos-sync.1: ${missing.join('; ')}`);
  });

  test('environment variables, files and exit codes', (t) => {
    if (!tool(t, 'groff', 'groff')) return;
    const text = rendered();
    const section = (name: string, next: string): string => text.slice(text.indexOf(`\n${name}\n`), text.indexOf(`\n${next}\n`));
    const env = section('ENVIRONMENT', 'FILES');
    const variables = new Set(['POS_SYNC_CONFIG', 'POS_SYNC_DB', 'POS_SYNC_STATE_FILE', 'POS_SYNC_API_TOKEN', 'STATE_DIRECTORY', 'CREDENTIALS_DIRECTORY', 'JOURNAL_STREAM', 'NO_COLOR', 'FORCE_COLOR', 'CENTRAL_API_URL', 'ConnectionStrings__DefaultConnection']);
    for (const spec of SETTINGS) for (const e of spec.env ?? []) variables.add(e);
    for (const v of variables) assert.match(env, new RegExp(`^ {7}${v}$`, 'm'), `ENVIRONMENT: ${v}`);

    const files = section('FILES', 'METRICS');
    for (const f of ['data/POS_Local.db', 'db.pos-sync.lock', 'db.pos-sync.state.json', 'pos-sync.prom', '/etc/pos-sync/TILL.json', 'install.sh']) {
      assert.ok(files.includes(f), `FILES: ${f}`);
    }
    const exits = section('EXIT STATUS', 'EXAMPLES');
    for (const code of ['0', '1', '64', '65', '74', '75', '77', '78']) assert.match(exits, new RegExp(`^ {7}${code}\\s`, 'm'), `exit ${code}`);
    const health = exits.slice(exits.indexOf('health uses the Monitoring Plugins codes'));
    for (const [code, word] of [['0', 'OK'], ['1', 'WARNING'], ['2', 'CRITICAL'], ['3', 'UNKNOWN']] as const) {
      assert.match(health, new RegExp(`^ {7}${code}\\s+${word}`, 'm'), `health ${code} ${word}`);
    }
    assert.match(exits.replace(/\s+/g, ' '), /78, 77, 74, 75, 65, 0/);
  });

  test('package.json installs it', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { man?: string[]; files?: string[] };
    assert.deepEqual(pkg.man, ['man/pos-sync.1', 'man/pos-sync-central.7', 'man/pos-sync-operations.7', 'man/pos-sync-internals.7']);
    assert.ok(pkg.files?.includes('man'));
  });
});

// The pages that carry the rest of the manual: the central's contract, running it on a till, and
// how it is built. Their tables hold long code words that groff cannot break inside a cell, so the
// "break" warning category is the one left out; every other warning fails.
/** A citation of the SPEC's sections (spelt so that this file does not cite it itself). */
const SPEC_CITE = new RegExp('SPEC \\u00a7');
const PAGES_7 = ['pos-sync-central', 'pos-sync-operations', 'pos-sync-internals'];

describe('man/pos-sync-*.7', () => {
  for (const name of PAGES_7) {
    const file = path.join(REPO_ROOT, 'man', `${name}.7`);
    test(`${name}(7): groff prints no warning but unbreakable words in table cells`, (t) => {
      if (!tool(t, 'groff', 'groff')) return;
      const r = spawnSync('groff', ['-t', '-man', '-ww', '-Wbreak', '-z', file], { encoding: 'utf8' });
      assert.equal(r.status, 0);
      assert.equal(r.stderr, '', r.stderr);
    });

    test(`${name}(7): man -l renders its NAME and SEE ALSO, and pos-sync(1) points to it`, (t) => {
      if (!tool(t, 'man', 'man-db')) return;
      const r = spawnSync('man', ['-l', file], { encoding: 'utf8', env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^NAME\n +${name} - `, 'm'));
      assert.match(r.stdout, /^SEE ALSO$/m);
      assert.ok(source().includes(`.BR ${name.replace(/-/g, '\\-')} (7)`), `pos-sync.1's SEE ALSO names ${name}(7)`);
    });
  }

  test('no source, test or example cites the SPEC, a document outside the repository: they cite the manual', () => {
    const cites: string[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|sh|service|timer|conf)$|^run$|^pos-sync$/.test(e.name) && SPEC_CITE.test(fs.readFileSync(p, 'utf8'))) cites.push(path.relative(REPO_ROOT, p));
      }
    };
    for (const dir of ['src', 'test', 'examples', 'bin', '.ci']) walk(path.join(REPO_ROOT, dir));
    assert.deepEqual(cites, []);
  });

  test('nothing in the manual cites a document outside the repository', () => {
    for (const name of ['pos-sync.1', ...PAGES_7.map((p) => `${p}.7`)]) {
      const text = fs.readFileSync(path.join(REPO_ROOT, 'man', name), 'utf8');
      assert.doesNotMatch(text, /SPEC \\\[sc\]/, name);
      assert.doesNotMatch(text, SPEC_CITE, name);
    }
  });
});

