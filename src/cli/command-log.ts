// The logger a command runs with: context.ts makes it for the command line, and src/idle.ts for
// the timer tick it answers itself (an open breaker's), so the two write the same lines.

import { createLogger, type Level, type Logger } from '../log.js';
import type { Paint } from './render.js';

/**
 * A short id that tells one pass's log lines from the next one's. Not a UUID: node:crypto would
 * cost every idle tick a module load for an id that only has to be unique per store.
 */
export function newPassId(): string {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0')}`;
}

/** The fields on every JSON log line of `command` until the config names the store (`store`). */
export function commandLogContext(command: string): Record<string, string> {
  // A pass id for sync, so the lines of one pass (and one store) can be grouped downstream.
  return command === 'sync' ? { command, pass: newPassId() } : { command };
}

export interface CommandLogOptions {
  readonly stderr: { write(s: string): unknown; readonly isTTY?: boolean };
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly paint: Paint;
  readonly secrets: readonly string[];
  readonly context: Readonly<Record<string, string>>;
}

/** Human lines on a terminal, one JSON object per line anywhere else (src/log.ts). */
export function commandLogger(o: CommandLogOptions): Logger {
  const paintLevel = (level: Level, text: string): string => (level === 'error' ? o.paint.bad(text) : level === 'warn' ? o.paint.warn(text) : o.paint.dim(text));
  return createLogger({
    json: o.stderr.isTTY !== true,
    verbose: o.verbose,
    quiet: o.quiet,
    write: (l) => o.stderr.write(l),
    now: () => Date.now(),
    paint: paintLevel,
    secrets: o.secrets,
    context: { ...o.context },
  });
}
