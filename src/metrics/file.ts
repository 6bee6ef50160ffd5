// The metrics file on disk: the previous one read back for its running totals, the new one
// written atomically (temporary file in the same folder, then rename) so node_exporter never
// scrapes half a file. The temporary name does not end in .prom, so the collector skips it.

import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LocalIoError } from '../errors.js';
import { NO_PREVIOUS, parsePrevious, type Previous } from './exposition.js';

/** Ours is a few KiB; anything far larger is not ours and is not worth reading. */
const MAX_READ_BYTES = 1024 * 1024;

/** The previous file's totals; a missing, unreadable or foreign file reads as none (a counter reset). */
export function readPreviousMetrics(file: string): Previous {
  try {
    const stat = statSync(file);
    if (!stat.isFile() || stat.size > MAX_READ_BYTES) return NO_PREVIOUS;
    return parsePrevious(readFileSync(file, 'utf8'));
  } catch {
    return NO_PREVIOUS;
  }
}

export function writeMetricsFile(file: string, text: string): void {
  const dir = dirname(file);
  if (!existsSync(dir)) {
    throw new LocalIoError(`cannot write the metrics file ${file}: its folder ${dir} does not exist`, {
      hint: "create it (node_exporter's textfile collector folder) or fix --metrics-file / Sync.MetricsFile",
    });
  }
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  try {
    // 0644 whatever the umask (the example unit sets UMask=0027): node_exporter runs as another
    // user and must read it. No fsync: after a power cut a lost or empty file only means the
    // counters start again, which Prometheus handles.
    writeFileSync(tmp, text, { mode: 0o644 });
    chmodSync(tmp, 0o644);
    renameSync(tmp, file);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the write failed already; that is the error worth reporting
    }
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new LocalIoError(`cannot write the metrics file ${file}: ${code} ${(err as Error).message.replace(/^[A-Z]+: /, '')}`, { cause: err });
  }
}
