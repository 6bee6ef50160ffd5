// Logs go to stderr: human lines on a TTY, otherwise one JSON object per line (journald, shippers).
// Commands receive a Logger; they never write to the console themselves.

import { escapeControl, scrub } from './domain/redact.js';

export { scrub } from './domain/redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

export interface LoggerOptions {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly write: (line: string) => void;
  readonly now: () => number;
  /** Colours a level tag for humans (chalk on a TTY, identity otherwise). */
  readonly paint?: (level: Level, text: string) => string;
  /** Strings that must never be printed (the API token, Kafka passwords). */
  readonly secrets?: readonly string[];
  /**
   * Fields on every JSON line (command, store, pass id), so a log shipper can group the lines of
   * one pass. Left out of human lines, where they would only repeat what the terminal shows.
   */
  readonly context?: Fields;
}

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys every JSON line owns; a field with one of these names is renamed rather than overwriting it. */
const RESERVED = new Set(['time', 'level', 'message']);

/** A field value as JSON can carry it: errors become their message, bigints text. */
function plain(value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

function jsonLine(time: string, level: Level, message: string, context: Fields, fields: Fields): string {
  const record: Record<string, unknown> = { time, level, message };
  for (const source of [context, fields]) {
    for (const [k, v] of Object.entries(source)) record[RESERVED.has(k) ? `field_${k}` : k] = plain(v);
  }
  try {
    return JSON.stringify(record);
  } catch {
    // A circular field must not cost the line: keep what is certain.
    return JSON.stringify({ time, level, message, ...context });
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const min = options.verbose ? RANK.debug : options.quiet ? RANK.warn : RANK.info;
  const secrets = options.secrets ?? [];
  const context = options.context ?? {};
  const emit = (level: Level, message: string, fields: Fields = {}): void => {
    if (RANK[level] < min) return;
    if (options.json) {
      options.write(scrub(jsonLine(new Date(options.now()).toISOString(), level, message, context, fields), secrets) + '\n');
      return;
    }
    const extras = Object.entries(fields)
      .map(([k, v]) => {
        const p = plain(v);
        return `${k}=${typeof p === 'string' ? p : JSON.stringify(p)}`;
      })
      .join(' ');
    const tag = options.paint ? options.paint(level, level) : level;
    // Messages and fields carry text from outside (central answers, rows): escaped for the terminal.
    options.write(scrub(`${tag}: ${escapeControl(`${message}${extras ? ` (${extras})` : ''}`)}`, secrets) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

