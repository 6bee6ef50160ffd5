// Every read from the central is bounded (pos-sync-central(7)): one deadline covers connect, headers and the
// whole body, and a body is read as a stream with a byte cap, never whole and then cut.

import type { BodyRead } from '../domain/classify.js';
import { scrub, scrubCutText } from '../domain/redact.js';

/** The most of an answer's body that is read; the rest is never waited for. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface RequestSignal {
  readonly signal: AbortSignal;
  /** Stops the timer (the request ended first). */
  clear(): void;
}

/**
 * A signal that aborts with a TimeoutError after `timeoutMs`. Its timer is unref'd: a pending
 * deadline never keeps the process alive by itself.
 */
export function requestSignal(timeoutMs: number): RequestSignal {
  const controller = new AbortController();
  const ms = Math.max(1, Math.round(timeoutMs));
  const timer = setTimeout(() => controller.abort(new DOMException(`no whole answer within ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

export interface BoundedBody extends BodyRead {
  readonly text: string;
}

/**
 * Reads `response`'s body until its end, `capBytes`, or the signal, whichever comes first. Never
 * throws: an incomplete body says why. Secrets are scrubbed here, before the text is cut anywhere
 * else; a body cut off may end with part of a secret, which is redacted too.
 */
export async function readBounded(
  response: Response,
  signal: AbortSignal,
  timeoutMs: number,
  secrets: readonly string[],
  capBytes = MAX_BODY_BYTES,
): Promise<BoundedBody> {
  if (response.body === null) return { text: '', complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let problem: string | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) return resolve('aborted');
    onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), aborted]);
      if (next === 'aborted') {
        problem = `not whole within ${Math.round(timeoutMs)} ms`;
        break;
      }
      if (next.done) break;
      const room = capBytes - bytes;
      if (next.value.byteLength > room) {
        chunks.push(next.value.subarray(0, room));
        bytes = capBytes;
        problem = `larger than ${capBytes} bytes`;
        break;
      }
      chunks.push(next.value);
      bytes += next.value.byteLength;
    }
  } catch {
    problem = signal.aborted ? `not whole within ${Math.round(timeoutMs)} ms` : 'cut short';
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
    // Whatever is left is not wanted: cancelling closes the connection instead of waiting for it.
    if (problem !== undefined) reader.cancel().catch(() => undefined);
    else reader.releaseLock();
  }
  const text = Buffer.concat(chunks, bytes).toString('utf8');
  return problem === undefined ? { text: scrub(text, secrets), complete: true } : { text: scrubCutText(text, secrets), complete: false, problem };
}
