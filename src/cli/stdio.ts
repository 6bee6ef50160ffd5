// stdout and stderr for the CLI. A pipe or socket (the systemd journal, cron, a parent process)
// gets plain synchronous writes to its file descriptor — what Node does for pipes on Linux anyway
// — instead of process.stdout/stderr, whose stream classes (net, stream) an idle timer tick would
// load for one line, milliseconds every 10 seconds (pos-sync-internals(7) PERFORMANCE). A terminal, or anything else that
// is a character device, keeps Node's own stream (colour, the spinner's cursor moves).

import { fstatSync, writeSync } from 'node:fs';
import { isJournalStream, journalOutput, type Output } from './journal.js';

export type { Output } from './journal.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of every text to `fd`, synchronously; stops quietly once the reader is gone. */
export function fdOutput(fd: number): Output {
  let gone = false;
  return {
    isTTY: false,
    write(text) {
      if (gone) return false;
      let rest = Buffer.from(text, 'utf8');
      while (rest.length > 0) {
        try {
          rest = rest.subarray(writeSync(fd, rest));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // A non-blocking descriptor that is full: wait a moment for the reader, as a stream would.
          if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
          // The reader went away (`pos-sync status | head -1`): the rest is not wanted.
          else if (code === 'EPIPE') {
            gone = true;
            return false;
          } else throw err;
        }
      }
      return true;
    },
  };
}

function output(fd: number, stream: () => Output): Output {
  try {
    const stat = fstatSync(fd, { bigint: true });
    // stderr is the journal (systemd.exec(5), $JOURNAL_STREAM): each line gets its priority.
    if (fd === 2 && isJournalStream(process.env.JOURNAL_STREAM, stat)) return journalOutput(fdOutput(fd));
    if (!stat.isCharacterDevice()) return fdOutput(fd);
  } catch {
    // not open or not ours to stat: Node's stream knows what to do
  }
  return stream();
}

/** The process's stdout and stderr as the CLI writes them (see above), and its warnings. */
export function processStdio(): { stdout: Output; stderr: Output; onProcessWarning: (handler: (warning: Error) => void) => void } {
  return {
    stdout: output(1, () => process.stdout),
    stderr: output(2, () => process.stderr),
    // Node's own printer is a 'warning' listener: replacing it is the supported way to own the output.
    onProcessWarning(handler) {
      process.removeAllListeners('warning');
      process.on('warning', handler);
    },
  };
}
