// Logs go to stderr: human lines on a TTY, otherwise one JSON object per line (journald, shippers).
// Commands receive a Logger; they never write to the console themselves.

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
}

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  return out;
}

export function createLogger(options: LoggerOptions): Logger {
  const min = options.verbose ? RANK.debug : options.quiet ? RANK.warn : RANK.info;
  const secrets = options.secrets ?? [];
  const emit = (level: Level, message: string, fields: Fields = {}): void => {
    if (RANK[level] < min) return;
    if (options.json) {
      const line = JSON.stringify({ time: new Date(options.now()).toISOString(), level, message, ...fields });
      options.write(scrub(line, secrets) + '\n');
      return;
    }
    const extras = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const tag = options.paint ? options.paint(level, level) : level;
    options.write(scrub(`${tag}: ${message}${extras ? ` (${extras})` : ''}`, secrets) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
