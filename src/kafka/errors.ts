// The only errors src/kafka lets out. kafkajs's own error classes never leave this folder, so
// the rest of pos-sync needs no knowledge of the client library (and never loads it to check
// an `instanceof`).

import { ConfigError, TempFailError } from '../errors.js';

/**
 * Kafka could not take the events this time (down, unreachable, too slow for the pass, refused
 * the request). The caller leaves the rows unpublished and the next pass tries again: a
 * publishing failure never fails delivery to the central API. The message never holds secrets.
 */
export class KafkaUnavailableError extends TempFailError {
  /** False when trying again cannot help without a change (e.g. authentication refused). */
  readonly retriable: boolean;
  /**
   * True when the commit of a transaction was sent and its answer never came (the pass's budget
   * ended, the connection broke): it may or may not have committed. The next pass finds out.
   */
  readonly commitUnknown: boolean;
  constructor(message: string, options: { retriable?: boolean; hint?: string; commitUnknown?: boolean } = {}) {
    super(message, options.hint === undefined ? {} : { hint: options.hint });
    this.retriable = options.retriable ?? true;
    this.commitUnknown = options.commitUnknown ?? false;
  }
}

/** `Kafka.*` settings that cannot work (bad ProducerConfig, unreadable certificate file). */
export class KafkaConfigError extends ConfigError {}
