// Whole-process measurements for the benchmark (pos-sync-internals(7) PERFORMANCE): every figure is a spawned process,
// timed by the harness's own clock from spawn to exit, with its peak resident memory and CPU time
// taken by GNU time (`/usr/bin/time -f … -o file`) from the kernel's rusage of the child, or —
// where GNU time is missing — by a tiny --import hook that writes process.resourceUsage() on exit.
// Not a test file (no .test.ts): `node --test` must never start a benchmark.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type RssMethod = 'gnu-time' | 'resource-usage-hook';

export interface Sample {
  readonly wallMs: number;
  /** Peak resident set size of the measured process, in KiB. */
  readonly peakRssKb: number;
  /** User + system CPU time of the measured process. */
  readonly cpuMs: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A Node.js process to measure: `node …args`. */
export interface NodeRun {
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

const GNU_TIME = '/usr/bin/time';
const HOOK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'rss-hook.js');

/** GNU time if it is there and writes what we ask for; the in-process hook otherwise. */
export function detectRssMethod(scratch: string): RssMethod {
  if (!fs.existsSync(GNU_TIME)) return 'resource-usage-hook';
  const out = path.join(scratch, 'time-probe.txt');
  const r = spawnSync(GNU_TIME, ['-f', '%M %U %S', '-o', out, process.execPath, '-e', '0'], { stdio: 'ignore', timeout: 10_000 });
  const ok = r.status === 0 && fs.existsSync(out) && /^\d+ [\d.]+ [\d.]+\s*$/.test(fs.readFileSync(out, 'utf8').trim().split('\n').pop() ?? '');
  fs.rmSync(out, { force: true });
  return ok ? 'gnu-time' : 'resource-usage-hook';
}

let seq = 0;

export function measure(run: NodeRun, method: RssMethod, scratch: string): Promise<Sample> {
  const usageFile = path.join(scratch, `usage-${process.pid}-${++seq}.txt`);
  const [file, args, env] =
    method === 'gnu-time'
      ? [GNU_TIME, ['-f', '%M %U %S', '-o', usageFile, process.execPath, ...run.args], run.env]
      : [process.execPath, ['--import', HOOK, ...run.args], { ...run.env, BENCH_USAGE_FILE: usageFile }];
  return new Promise<Sample>((resolve, reject) => {
    const started = process.hrtime.bigint();
    // Its own process group, so a timeout kills node and not only GNU time in front of it.
    const child = spawn(file, args, { cwd: run.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`node ${run.args.join(' ')} did not finish within ${run.timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, run.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      clearTimeout(timer);
      let usage: number[] = [];
      try {
        // GNU time puts "Command exited with non-zero status N" before the figures.
        usage = fs.readFileSync(usageFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
        fs.rmSync(usageFile, { force: true });
      } catch {
        reject(new Error(`no resource usage from node ${run.args.join(' ')} (exit ${code})\n${stderr.slice(-2000)}`));
        return;
      }
      const [rss = NaN, user = NaN, sys = NaN] = usage;
      resolve({ wallMs, peakRssKb: rss, cpuMs: (user + sys) * 1000, code, stdout, stderr });
    });
  });
}

export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median: how far apart the runs were. */
  readonly spread: number;
  readonly samples: readonly number[];
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) throw new Error('no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  return { median, min, max, spread: median === 0 ? 0 : (max - min) / median, samples: values.map((v) => Math.round(v * 100) / 100) };
}

/** What the numbers were measured on: needed to read them, and to compare two result files. */
export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
