// The process's stop signals, for sync: the only place a command's run meets process signals.

import type { Logger } from '../log.js';

/**
 * SIGTERM (`systemctl stop`) or SIGINT stop a sync after the batch in flight: its answer is
 * committed (or, unanswered, it stays pending) and the state file is saved as after any pass. A
 * second signal kills at once: the handlers are installed once. `release` removes them.
 */
export function stopOnSignals(log: Logger): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    log.info(`${signal} received: stopping after the current batch`);
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    },
  };
}
