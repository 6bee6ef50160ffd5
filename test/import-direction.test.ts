// The direction README → Architecture draws, checked over src/: every import — static, type-only
// and dynamic import() — goes from a layer to the same or a lower one; the domain imports nothing
// from state/; no two folders import each other. Read from the sources, so a new import that
// breaks the direction fails here before anyone has to find it in a review.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helpers/tmp.js';

const SRC = path.join(REPO_ROOT, 'src');

/** README → Architecture, top to bottom: a module may import its own layer or those below it. */
const LAYERS: readonly (readonly string[])[] = [
  ['main.ts', 'idle.ts'],
  ['commands'],
  ['cli'],
  ['pass', 'heartbeat'],
  ['central'],
  ['kafka'],
  ['metrics'],
  ['config'],
  ['store'],
  ['state'],
  ['log.ts'],
  ['domain'],
  ['errors.ts', 'host.ts', 'version.ts'],
];

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly kind: 'static' | 'type' | 'dynamic';
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The relative imports of one file (comments removed first, so a path in prose is not one). */
export function importsOf(text: string): { spec: string; kind: Edge['kind'] }[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: { spec: string; kind: Edge['kind'] }[] = [];
  for (const m of code.matchAll(/(?:^|[^\w.])(?:import|export)\s+(type\s+)?(?:[^'"`;]*?\sfrom\s+)?['"](\.[^'"]*)['"]/g)) found.push({ spec: m[2]!, kind: m[1] ? 'type' : 'static' });
  for (const m of code.matchAll(/\bimport\(\s*['"](\.[^'"]*)['"]\s*\)/g)) found.push({ spec: m[1]!, kind: 'dynamic' });
  return found;
}

function edges(): Edge[] {
  return sources(SRC).flatMap((file) =>
    importsOf(fs.readFileSync(file, 'utf8')).map(({ spec, kind }) => ({
      from: path.relative(SRC, file),
      to: path.relative(SRC, path.resolve(path.dirname(file), spec)).replace(/\.js$/, '.ts'),
      kind,
    })),
  );
}

/** A module's folder under src/, or its own name at the top. */
const place = (module: string): string => module.split(path.sep)[0]!;

function layer(module: string): number {
  const i = LAYERS.findIndex((l) => l.includes(place(module)));
  assert.notEqual(i, -1, `${module} is in no layer of README → Architecture: add its folder there and to LAYERS`);
  return i;
}

const all = edges();

test('the reader sees every kind of import (a known edge of each kind is found)', () => {
  assert.ok(all.some((e) => e.kind === 'static' && e.from === path.join('cli', 'context.ts') && e.to === 'log.ts'));
  assert.ok(all.some((e) => e.kind === 'dynamic' && e.from === path.join('cli', 'context.ts') && e.to === path.join('config', 'load.ts')));
  assert.ok(all.some((e) => e.kind === 'type' && e.to === path.join('config', 'types.ts')));
  assert.deepEqual(importsOf("// import x from './a.js'\nconst m = await import('./b.js');\nexport type { T } from './c.js';"), [
    { spec: './c.js', kind: 'type' },
    { spec: './b.js', kind: 'dynamic' },
  ]);
});

test('every import goes down README → Architecture, never up (static, type and dynamic alike)', () => {
  const up = all.filter((e) => layer(e.from) > layer(e.to)).map((e) => `${e.from} → ${e.to} (${e.kind})`);
  assert.deepEqual(up, []);
});

test('the domain imports nothing from state/', () => {
  assert.deepEqual(all.filter((e) => place(e.from) === 'domain' && place(e.to) === 'state').map((e) => `${e.from} → ${e.to}`), []);
});

test('no two folders import each other', () => {
  const pairs = new Set(all.filter((e) => place(e.from) !== place(e.to)).map((e) => `${place(e.from)} → ${place(e.to)}`));
  const mutual = [...pairs].filter((p) => pairs.has(p.split(' → ').reverse().join(' → ')));
  assert.deepEqual(mutual, []);
});
