// stderr when it is the systemd journal: every line gets its syslog priority as the `<N>` prefix
// of sd-daemon(3), which journald strips and stores as PRIORITY, so `journalctl -p err` shows
// pos-sync's errors and `-p warning` its warnings too. Without the prefix every line is stored at
// the unit's default, info. Terminals and pipes never see a prefix: only a stderr whose device
// and inode are the ones systemd names in $JOURNAL_STREAM is the journal (systemd.exec(5)).

/** Where a line of output goes (stdout, stderr, or the journal wrapping one). */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** syslog priorities (sd-daemon(3)): what journalctl -p filters on. */
export const PRIORITY = { err: 3, warning: 4, info: 6, debug: 7 } as const;

/** The logger's JSON lines start with time, then level (src/log.ts): read the level from there. */
const LOG_LEVEL = /^\{"time":"[^"]*","level":"(debug|info|warn|error)"/;
const OF_LEVEL: Record<string, number> = { debug: PRIORITY.debug, info: PRIORITY.info, warn: PRIORITY.warning, error: PRIORITY.err };

/**
 * A line's priority. Logger lines carry their level; everything else pos-sync writes to stderr
 * is the final `pos-sync: …` error line, its --verbose stack or the usage text after a bad
 * command line: errors.
 */
export function linePriority(line: string): number {
  const level = LOG_LEVEL.exec(line)?.[1];
  return level === undefined ? PRIORITY.err : (OF_LEVEL[level] ?? PRIORITY.info);
}

/** True when $JOURNAL_STREAM ("<device>:<inode>", decimal) names the file `stat` describes. */
export function isJournalStream(journalStream: string | undefined, stat: { readonly dev: bigint; readonly ino: bigint } | undefined): boolean {
  if (journalStream === undefined || stat === undefined) return false;
  const match = /^(\d+):(\d+)$/.exec(journalStream.trim());
  if (match === null) return false;
  return BigInt(match[1]!) === stat.dev && BigInt(match[2]!) === stat.ino;
}

/**
 * Prefixes each line written through `inner` with its priority. A write may hold several lines
 * or end mid-line: only the start of a line gets a prefix, decided by the whole line's text, so
 * a partial line waits for the rest of its line.
 */
export function journalOutput(inner: Output): Output {
  let pending = '';
  return {
    isTTY: false,
    write(text) {
      const lines = (pending + text).split('\n');
      pending = lines.pop()!;
      if (lines.length === 0) return true;
      return inner.write(lines.map((line) => `<${linePriority(line)}>${line}\n`).join(''));
    },
  };
}
