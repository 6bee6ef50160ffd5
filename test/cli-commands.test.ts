// Which commands commander is given for a command line (src/main.ts): only those named on it,
// so a timer tick builds one command's options, but all of them whenever help or a suggestion
// may be shown — checked here, and through the real CLI for what a user sees.

import assert from 'node:assert/strict';
import { COMMANDS } from '../src/commands/index.js';
import { commandsToBuild } from '../src/main.js';
import { runCli } from './helpers/cli.js';
import { tmpDirs } from './helpers/tmp.js';
import { after, describe, test } from 'node:test';

const tmp = tmpDirs('cli-commands');
after(tmp.cleanup);

const names = (argv: string[]): string[] => commandsToBuild(argv).map((c) => c.name);
const ALL = COMMANDS.map((c) => c.name);
// Each command's options are in its own module, which the table loads on demand.
const OPTIONS = new Map(await Promise.all(COMMANDS.map(async (c) => [c.name, (await c.load()).options] as const)));

describe('commands built for a command line', () => {
  test('a command named: only that one', () => {
    assert.deepEqual(names(['--db', '/x/POS.db', '--central-url', 'http://127.0.0.1:9', 'sync']), ['sync']);
    assert.deepEqual(names(['status', '--json']), ['status']);
  });

  test('a word that is also a command, as an option value: both, never fewer', () => {
    assert.deepEqual(names(['--db', 'status', 'sync']), ['sync', 'status']);
  });

  test('help, -h, --help, no arguments, or no command named: every command', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help', 'sync'], ['sync', '--help'], ['--db', '/x'], ['sycn']]) {
      assert.deepEqual(names(argv), ALL, argv.join(' '));
    }
  });
});

describe('what a user sees is unchanged', () => {
  const cwd = tmp.make();
  test('a misspelt command is still suggested', async () => {
    const r = await runCli(['sycn'], { cwd });
    assert.equal(r.code, 64);
    assert.match(r.stderr, /unknown command 'sycn'\n\(Did you mean sync\?\)/);
  });

  test('the command list shows every command with its [options]', async () => {
    const r = await runCli(['--help'], { cwd });
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name}${OPTIONS.get(c.name)!.length > 0 ? ' \\[options\\]' : ''} `, 'm'));
  });

  test("a command's --help lists its options", async () => {
    const r = await runCli(['sync', '--help'], { cwd });
    assert.equal(r.code, 0);
    for (const o of OPTIONS.get('sync')!) assert.ok(r.stdout.includes(o.flags), o.flags);
  });
});
