// A real forward proxy for tests: Debian's tinyproxy, started on 127.0.0.1 with a config of its
// own (never the package's service or /etc/tinyproxy), in the foreground, stopped by the test.
// .ci/run installs the package; without it the test fails saying so, it never skips.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { closedPort } from './central.js';

export interface Tinyproxy {
  readonly url: string;
  /** The request lines the proxy saw so far ("POST http://…", "CONNECT 127.0.0.1:…"). */
  requests(): string[];
  stop(): Promise<void>;
}

const BINARY = '/usr/bin/tinyproxy';

export async function startTinyproxy(dir: string): Promise<Tinyproxy> {
  if (!fs.existsSync(BINARY)) throw new Error(`${BINARY} is missing: apt-get install tinyproxy (.ci/run installs it)`);
  const port = await closedPort();
  const config = path.join(dir, 'tinyproxy.conf');
  // No ConnectPort line: CONNECT to any port (the test central's is random). LogLevel Connect
  // logs each request line, which is what the tests read.
  fs.writeFileSync(config, [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', 'MaxClients 50', 'Allow 127.0.0.1', 'LogLevel Connect', 'DisableViaHeader Yes', ''].join('\n'));
  let log = '';
  const child: ChildProcess = spawn(BINARY, ['-d', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited ${child.exitCode}: ${log}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`tinyproxy did not listen on 127.0.0.1:${port} within 10 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => [...log.matchAll(/Request \(file descriptor \d+\): (\S+ \S+)/g)].map((m) => m[1]!),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
