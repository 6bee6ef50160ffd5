// The process's stop signals, for sync: the only place a command's run meets process signals.

import type { Logger } from '../log.js';
import type { StopRequest } from '../pass/pass.js';

/**
 * SIGTERM (`systemctl stop`) or SIGINT stop a sync after the batch in flight: its answer is
 * committed (or, unanswered, it stays pending) and the state file is saved as after any pass. A
 * second signal kills at once: the handlers are installed once. `release` removes them.
 */
export function stopOnSignals(log: Logger): { readonly stopped: StopRequest; readonly signal: AbortSignal; release: () => void } {
  let aborted = false;
  // Made on first use (--watch sleeps on it): a single pass only asks `stopped.aborted`, and an
  // AbortController costs a timer tick a module load (pos-sync-internals(7) PERFORMANCE).
  let controller: AbortController | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    log.info(`${signal} received: stopping after the current batch`);
    aborted = true;
    controller?.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    stopped: {
      get aborted() {
        return aborted;
      },
    },
    get signal() {
      controller ??= new AbortController();
      if (aborted) controller.abort();
      return controller.signal;
    },
    release: () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}
