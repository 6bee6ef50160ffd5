// The last pass as status, health and the metrics judge it: what the state file keeps of it.

/** What `status` and `health` need to know about the most recent pass, idle ones included. */
export interface PassSummary {
  /** Epoch ms when the pass ended. */
  readonly at: number;
  readonly exitCode: number;
  /** Why the pass ended: drained, time, unavailable, breakerOpen, credentials, misconfigured… */
  readonly outcome: string;
  readonly delivered: number;
  readonly refused: number;
  readonly durationMs: number;
  readonly error: string | null;
  /**
   * Epoch ms of the first pass of the unbroken run of passes that ended with this exit code: how
   * long a trouble (or the good state) has lasted, for `health` and `status` ("since 08:56").
   */
  readonly since: number;
  /** Why publishing to Kafka failed in this pass (delivery to the central is not affected). */
  readonly kafkaError?: string | null;
  /** Epoch ms of the first pass of the unbroken run that failed to publish for the same kind of reason. */
  readonly kafkaErrorSince?: number | null;
}

/** A pass's summary with `since` carried over from the previous pass when the exit code is the same. */
export function withSince(prev: PassSummary | null, next: Omit<PassSummary, 'since'>): PassSummary {
  const since = prev !== null && prev.exitCode === next.exitCode && prev.since <= next.at ? prev.since : next.at;
  return { ...next, since };
}

