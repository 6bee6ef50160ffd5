// A booted Debian 12 container for the live-systemd tests: test/systemd/rootfs.sh's root file
// system booted with `systemd-nspawn --boot --ephemeral` (the host's network: the reference central
// on 127.0.0.1 is reachable from inside), commands run in it with nsenter as any of its users.

import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTmpDir, REPO_ROOT } from '../helpers/tmp.js';

const run = promisify(execFile);
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Why this machine cannot boot the container, or null. */
export function missingForContainer(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (systemd-nspawn)';
  for (const tool of ['systemd-nspawn', 'debootstrap', 'nsenter', 'dpkg-deb']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install systemd-container debootstrap)`;
  }
  return null;
}

export interface Ran {
  readonly code: number;
  readonly out: string;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Container {
  /** A shell command inside, as root (or `as`: a user name, run with setpriv and that user's groups). */
  sh(command: string, options?: { allowFail?: boolean; as?: string }): Promise<Ran>;
  /** A long-running shell command inside; resolves with its output when it ends. */
  start(command: string, options?: { as?: string }): Promise<Ran>;
  stop(): Promise<void>;
  readonly pid1: number;
}

/** The root file system (built once, cached) and the package fresh from this checkout. */
async function rootfsAndPackage(): Promise<{ rootfs: string; deb: string }> {
  const rootfs = (await run('bash', [path.join(REPO_ROOT, 'test', 'systemd', 'rootfs.sh')], { maxBuffer: 64 << 20 })).stdout.trim();
  const deb = (await run('bash', [path.join(REPO_ROOT, 'examples', 'debian', 'build-deb.sh')], { cwd: REPO_ROOT, maxBuffer: 64 << 20 })).stdout.trim();
  return { rootfs, deb: path.join(REPO_ROOT, deb) };
}

/**
 * The host side of a live test: a scratch folder `host` holding `in/` (the package, as
 * `in/pos-sync.deb`, and what the test puts beside it, bound read-only into the container) and
 * `pos/<folder>` for each POS database folder (bound to /var/lib/pos).
 */
export async function hostSide(name: string, folders: readonly string[]): Promise<{ host: string; rootfs: string; inDir: string; pos: string }> {
  const host = makeTmpDir(name);
  const { rootfs, deb } = await rootfsAndPackage();
  const inDir = path.join(host, 'in');
  const pos = path.join(host, 'pos');
  fs.mkdirSync(inDir);
  fs.copyFileSync(deb, path.join(inDir, 'pos-sync.deb'));
  for (const d of folders) fs.mkdirSync(path.join(pos, d), { recursive: true });
  // The test reads the POS databases from the host as root (the ids it checks) and seeds them, as
  // a technician in the group pos would: with umask 002. Root's 022 would leave a -wal/-shm the
  // POS group cannot write whenever the test's read is the one that opens a database, and a pass
  // meeting that file rightly exits 74 naming it.
  process.umask(0o002);
  return { host, rootfs, inDir, pos };
}

function wrap(command: string, as: string | undefined): string {
  if (as === undefined) return command;
  // The user's own groups (a shift lead in group pos), its home, a login-like environment.
  const q = command.replace(/'/g, `'\\''`);
  return `cd / && setpriv --reuid=${as} --regid=$(id -g ${as}) --init-groups env HOME=$(getent passwd ${as} | cut -d: -f6) USER=${as} LOGNAME=${as} sh -c '${q}'`;
}

/**
 * A cgroup of the container's own, beside this process's, in every hierarchy systemd uses (the
 * named systemd one and the unified one on a legacy or hybrid host; the unified one on a pure v2
 * host). With --keep-unit, nspawn puts the container's cgroups (payload/, supervisor/) under the
 * cgroup it starts in: two containers started from one cgroup shared them, so one container's
 * systemd removed or killed the other's /system.slice/pos-sync.service and a pass ended
 * 219/CGROUP before pos-sync ran (seen with the two live files side by side).
 */
function ownCgroups(machine: string): string[] {
  const dirs: string[] = [];
  for (const line of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, where] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (where === undefined) continue;
    const mount =
      controllers === 'name=systemd' ? '/sys/fs/cgroup/systemd' : controllers === '' ? (fs.existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup') : null;
    if (mount === null || !fs.existsSync(path.join(mount, 'cgroup.procs'))) continue;
    const dir = path.join(mount, where, machine);
    fs.mkdirSync(dir);
    dirs.push(dir);
  }
  return dirs;
}

/** Removes a cgroup and those below it, deepest first (a cgroup is removed with rmdir only). */
function removeCgroup(dir: string): void {
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) removeCgroup(path.join(dir, entry.name));
    fs.rmdirSync(dir);
  } catch {
    // gone already, or a process still in it: left to the next boot's host
  }
}

export async function boot(rootfs: string, binds: readonly string[], consoleLog: string): Promise<Container> {
  const machine = `pos-sync-live-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const cgroups = ownCgroups(machine);
  // The shell moves itself into the container's own cgroups, then becomes nspawn.
  const enter = cgroups.map((d) => `echo $$ > '${d}/cgroup.procs'`).join(' && ');
  const nspawn: ChildProcess = spawn(
    'sh',
    ['-c', `${enter ? `${enter} && ` : ''}exec systemd-nspawn "$@"`, 'sh', '-D', rootfs, '--ephemeral', '--boot', '--register=no', '--keep-unit', `--machine=${machine}`, '--console=pipe', ...binds],
    { stdio: ['ignore', fs.openSync(consoleLog, 'w'), 'inherit'] },
  );
  let pid1 = 0;
  const deadline = Date.now() + 60_000;
  while (pid1 === 0 && Date.now() < deadline) {
    await sleep(100);
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
        if (/^Name:\s+systemd$/m.test(status) && new RegExp(`^PPid:\\s+${nspawn.pid}$`, 'm').test(status)) pid1 = Number(entry);
      } catch {
        // gone meanwhile
      }
    }
  }
  assert.ok(pid1 > 0, `the container did not start: ${fs.readFileSync(consoleLog, 'utf8')}`);

  async function sh(command: string, options: { allowFail?: boolean; as?: string } = {}): Promise<Ran> {
    try {
      const { stdout, stderr } = await run('nsenter', ['-t', String(pid1), '-a', 'sh', '-c', wrap(command, options.as)], { maxBuffer: 64 << 20 });
      return { code: 0, out: stdout + stderr, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      const ran = { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      if (!options.allowFail) throw new Error(`in the container${options.as ? ` as ${options.as}` : ''}: ${command}\n→ ${ran.code}: ${ran.out}`);
      return ran;
    }
  }
  let state = '';
  while (!/^(running|degraded)$/.test(state) && Date.now() < deadline) {
    state = (await sh('systemctl is-system-running --wait', { allowFail: true })).out.trim();
    if (!/^(running|degraded)$/.test(state)) await sleep(200);
  }
  assert.match(state, /^(running|degraded)$/, state);

  /** Halts the container: asked twice (the first asks it to halt, the second ends it at once), then killed. */
  async function halt(): Promise<void> {
    if (nspawn.pid === undefined || nspawn.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => nspawn.once('exit', () => resolve()));
    nspawn.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (nspawn.exitCode === null) nspawn.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (nspawn.exitCode === null) nspawn.kill('SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }

  return {
    pid1,
    sh,
    start: (command, options = {}) => sh(command, { ...options, allowFail: true }),
    async stop() {
      await halt();
      for (const dir of cgroups) removeCgroup(dir);
    },
  };
}
