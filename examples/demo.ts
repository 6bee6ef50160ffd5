// `npm run demo`: the main job on an embedded default. Starts the reference central API on
// 127.0.0.1, seeds a temporary store database, syncs it with the real bin/pos-sync and prints
// its status. Nothing outside a temporary folder is touched.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCentral } from './central/server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'pos-sync');

/** Runs the real CLI. Asynchronously: the central API answers from this same process. */
function posSync(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  process.stdout.write(`\n$ pos-sync ${args.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function demo(): Promise<number> {
  const central = await startCentral({});
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pos-sync-demo-'));
  try {
    process.stdout.write(`reference central API listening on ${central.url}\nstore database ${path.join(dir, 'POS_Local.db')}\n`);
    // A clean environment: the demo must not pick up a developer's own configuration.
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: dir, NO_COLOR: process.env['NO_COLOR'] };
    const common = ['--db', path.join(dir, 'POS_Local.db'), '--central-url', central.url, '--state-file', path.join(dir, 'pos-sync.state.json')];
    const steps = [
      [...common, 'seed', '--transactions', '40', '--inventory', '15', '--random-seed', '42'],
      [...common, 'sync'],
      [...common, 'status'],
    ];
    for (const step of steps) {
      const code = await posSync(step, env);
      if (code !== 0) {
        process.stderr.write(`demo: pos-sync ${step[step.length - 1]} exited ${code}\n`);
        return code;
      }
    }
    const stats = central.stats();
    process.stdout.write(`\nthe central API stored ${stats.eventsStored} events from ${stats.posts} requests (${stats.duplicateIds} ids received twice)\n`);
    return 0;
  } finally {
    await central.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

demo().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
