// A spinner (ora) on stderr for long work, only on a terminal: under systemd, cron or a pipe the
// log lines say the same thing. ora is imported on the first update, so short runs never load it.

export interface Progress {
  update(text: string): void;
  stop(finalText?: string): void;
}

export const noProgress: Progress = { update() {}, stop() {} };

interface Spinner {
  text: string;
  start(): unknown;
  stop(): unknown;
  succeed(text?: string): unknown;
}

export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, enabled: boolean): Progress {
  // A pseudo-terminal with no size (script, some CI runners) makes ora's line clearing spin.
  const columns = (stream as { columns?: number }).columns;
  if (!enabled || stream.isTTY !== true || !columns || columns < 20) return noProgress;
  let spinner: Spinner | undefined;
  let loading = false;
  let stopped = false;
  let latest = '';
  return {
    update(text) {
      latest = text;
      if (spinner) {
        spinner.text = text;
        return;
      }
      if (loading || stopped) return;
      loading = true;
      void import('ora').then(({ default: ora }) => {
        if (stopped) return;
        spinner = ora({ text: latest, stream, discardStdin: false }) as Spinner;
        spinner.start();
      }, () => undefined /* a spinner is a nicety: without it the run goes on */);
    },
    stop(finalText) {
      stopped = true;
      if (!spinner) return;
      if (finalText) spinner.succeed(finalText);
      else spinner.stop();
    },
  };
}
