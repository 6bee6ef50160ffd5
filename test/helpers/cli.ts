// Spawning the real binary (bin/pos-sync → the bundled dist/src/cli/pos-sync.cjs) with a clean environment, so
// nothing from the developer's shell or CI (STORE_ID, Sync__*, POS_SYNC_*…) leaks into a test.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './tmp.js';

export const BIN = path.join(REPO_ROOT, 'bin', 'pos-sync');
/** The same CLI from the compiled modules, for tests that record which modules a run loads. */
export const MODULES_BIN = path.join(REPO_ROOT, 'dist', 'test', 'helpers', 'modules-cli.js');

const LEAKY = /^(POS_SYNC_|(HTTPS?|NO|ALL)_PROXY$|STORE_ID$|CENTRAL_API_URL$|KAFKA_BOOTSTRAP_SERVERS$|STATE_DIRECTORY$|CREDENTIALS_DIRECTORY$|NO_COLOR$|FORCE_COLOR$|NODE_OPTIONS$|NODE_TEST_CONTEXT$)|__/i;

/** process.env without anything pos-sync reads, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !LEAKY.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number;
}

export interface CliOptions {
  readonly cwd: string;
  readonly env?: Record<string, string>;
  /** Kills the process (and fails the run) after this long; default 20 s. */
  readonly timeoutMs?: number;
  /** What to start instead of bin/pos-sync (MODULES_BIN). */
  readonly bin?: string;
}

/** Starts `node bin/pos-sync …args`; `done` resolves when it exits. */
export function startCli(args: readonly string[], options: CliOptions): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pos-sync ${args.join(' ')} did not exit within ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid: child.pid ?? -1 });
    });
  });
  return { child, done };
}

export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Non-empty lines of a stream's text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}
