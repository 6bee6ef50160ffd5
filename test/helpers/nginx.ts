// A real nginx (Debian's package) as a reverse proxy on 127.0.0.1, started by the test with a
// generated configuration in a temporary folder and stopped after it. In CI (.ci/run installs it)
// a missing nginx fails the test; on a developer's machine without it the tests say so and skip.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { closedPort } from './central.js';

export const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p)) ?? null;

/** Why the nginx tests cannot run here, or null when they can (never a reason in CI). */
export function nginxMissing(): string | null {
  if (NGINX !== null) return null;
  if (process.env['CI']) throw new Error('nginx is not installed: .ci/run installs the Debian package "nginx"');
  return 'nginx is not installed (apt-get install nginx); CI runs these tests';
}

/** A port nothing listens on now (bound, then released), for nginx to listen on. */
export const freePort = closedPort;

export interface NginxOptions {
  /** The temporary folder for the configuration, logs and nginx's own temp files. */
  readonly dir: string;
  /** The server block's body (listen, locations…); `{{port}}` is replaced by the chosen port. */
  readonly server: string;
  /** Extra directives for the http block. */
  readonly http?: string;
}

export interface RunningNginx {
  readonly port: number;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8') : ''}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on ${port} within 10 s`);
}

/** Starts nginx in the foreground (daemon off) with a generated configuration. */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  if (NGINX === null) throw new Error('nginx is not installed');
  const dir = options.dir;
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const errorLog = path.join(dir, 'error.log');
  const asRoot = process.getuid?.() === 0;
  const conf = `
${asRoot ? 'user root;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${errorLog} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type text/html;
  ${options.http ?? ''}
  server {
    ${options.server.replaceAll('{{port}}', String(port))}
  }
}
`;
  const confFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(confFile, conf);
  const check = spawnSync(NGINX, ['-t', '-p', dir, '-c', confFile, '-e', errorLog], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t failed: ${check.stderr}\n${conf}`);
  const child = spawn(NGINX, ['-p', dir, '-c', confFile, '-e', errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(port, child, errorLog);
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM'); // fast shutdown of master and workers
      await exited;
    },
  };
}

/** A location that forwards to the central at `upstream` with the response streamed, not buffered. */
export function proxyTo(upstream: string): string {
  return `proxy_pass ${upstream}; proxy_http_version 1.1; proxy_buffering off; proxy_read_timeout 120s;`;
}
