// The metrics file on disk: the previous one read back for its running totals, the new one
// written atomically (own-file.ts: an exclusive temporary file of an unpredictable name, then
// rename) so node_exporter never scrapes half a file, and a link or FIFO planted at the name is
// refused, never followed. The temporary name does not end in .prom, so the collector skips it.

import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { LocalIoError } from '../errors.js';
import { readOwnFile, writeOwnFile } from '../state/own-file.js';
import { NO_PREVIOUS, parsePrevious, type Previous } from './exposition.js';

/** Ours is a few KiB; anything far larger is not ours and is not worth reading. */
const MAX_READ_BYTES = 1024 * 1024;

/** The previous file's totals; a missing, unreadable or foreign file reads as none (a counter reset). */
export function readPreviousMetrics(file: string): Previous {
  const read = readOwnFile(file, MAX_READ_BYTES);
  return read.kind === 'found' ? parsePrevious(read.text) : NO_PREVIOUS;
}

export function writeMetricsFile(file: string, text: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    throw new LocalIoError(`cannot write the metrics file ${file}: its folder ${dir} does not exist`, {
      hint: "create it (node_exporter's textfile collector folder) or fix --metrics-file / Sync.MetricsFile",
    });
  }
  try {
    // 0644 whatever the umask (the example unit sets UMask=0027): node_exporter runs as another
    // user and must read it. No fsync: after a power cut a lost or empty file only means the
    // counters start again, which Prometheus handles.
    writeOwnFile(file, text, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EODD') throw new LocalIoError(`cannot write the metrics file: ${(err as Error).message}`, { cause: err, hint: `pos-sync leaves it alone: remove it (rm ${file})` });
    throw new LocalIoError(`cannot write the metrics file ${file}: ${code} ${(err as Error).message.replace(/^[A-Z]+: /, '')}`, { cause: err });
  }
}
