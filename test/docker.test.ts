// examples/Dockerfile, checked without a Docker engine (none runs where the tests run): two
// stages, a non-root final user, HEALTHCHECK through `pos-sync health` mapped to Docker's 0/1,
// every COPY source present in the repository and not excluded by the .dockerignore, and an
// ENTRYPOINT/CMD that the real CLI accepts. It does not prove the image builds.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../src/main.js';
import { REPO_ROOT } from './helpers/tmp.js';

const DOCKERFILE = path.join(REPO_ROOT, 'examples', 'Dockerfile');

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** Instructions with continuation lines joined; comments dropped. */
function parse(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\w+)\s+(.*)$/.exec(full);
    assert.ok(m, `not an instruction: ${full}`);
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!, stage });
  }
  return out;
}

async function cliAccepts(args: string[]): Promise<void> {
  // `--help` after the command: parsed up to it by the real program, nothing opened.
  let out = '';
  const io = { argv: [...args, '--help'], env: {}, cwd: REPO_ROOT, stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } };
  assert.equal(await main(io), 0, args.join(' '));
  for (const a of args.filter((x) => x.startsWith('--'))) assert.ok(out.includes(a), `${args.join(' ')}: ${a} is not an option of that command`);
}

describe('examples/Dockerfile', () => {
  const instructions = parse(fs.readFileSync(DOCKERFILE, 'utf8'));
  const finalStage = Math.max(...instructions.map((i) => i.stage));
  const final = instructions.filter((i) => i.stage === finalStage);

  test('multi-stage: a build stage, and a final stage from a Node 24 image (the current LTS)', () => {
    const froms = instructions.filter((i) => i.op === 'FROM');
    assert.ok(froms.length >= 2, 'two stages at least');
    assert.match(froms[0]!.args, /^node:24\S* AS build$/);
    assert.match(froms.at(-1)!.args, /^node:24\S*$/);
  });

  test('the final stage runs as a non-root user', () => {
    const users = final.filter((i) => i.op === 'USER');
    assert.ok(users.length > 0);
    assert.ok(!['root', '0', '0:0'].includes(users.at(-1)!.args.trim()));
  });

  test('HEALTHCHECK runs pos-sync health and maps its 0-3 onto Docker\'s 0/1', () => {
    const health = final.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(health);
    assert.match(health.args, /CMD pos-sync health \|\| exit 1$/);
  });

  test('every COPY from the context exists and is not excluded by the Dockerfile\'s .dockerignore', () => {
    const ignore = fs
      .readFileSync(`${DOCKERFILE}.dockerignore`, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const copy of instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(fs.existsSync(path.join(REPO_ROOT, source)), `COPY ${source}: not in the repository`);
        assert.ok(!ignore.includes(source), `COPY ${source}: excluded by the .dockerignore`);
      }
    }
    assert.ok(ignore.includes('node_modules') && ignore.includes('dist'), 'host builds stay out of the context');
  });

  test('ENTRYPOINT + CMD is a pos-sync command line the CLI accepts: sync --watch', async () => {
    const entry = JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    const cmd = JSON.parse(final.find((i) => i.op === 'CMD')!.args) as string[];
    assert.deepEqual([...entry, ...cmd], ['pos-sync', 'sync', '--watch']);
    await cliAccepts(cmd);
    assert.ok(final.some((i) => i.op === 'STOPSIGNAL' && i.args === 'SIGTERM'));
  });
});
