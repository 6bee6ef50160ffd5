// The Kafka side of a pass: a small interface the rest of pos-sync uses, and its kafkajs
// implementation. kafkajs is loaded here, lazily, and nowhere else: a pass with nothing to
// publish (and `status`) never pays for loading it.
//
// Time is the hard part. A pass must end before the next timer tick, so every call here is
// bounded by the pass deadline even when a broker accepts TCP and then never answers. kafkajs's
// own retries nest (producer → cluster → broker pool) and keep sleeping after a disconnect, so
// pos-sync turns them off almost entirely, retries in its own loop with its own timers, and
// cuts a call that runs into the deadline by tearing down the sockets itself.

import { kafkaTrouble } from '../domain/kafka-trouble.js';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type {
  ICustomPartitioner,
  ISocketFactory,
  Kafka as KafkaClient,
  KafkaConfig,
  LogEntry,
  Producer,
  SASLOptions,
} from 'kafkajs';
import { KafkaConfigError, KafkaUnavailableError } from './errors.js';
import type { OutgoingMessage } from './message.js';
import { seedPartition } from './partitioner.js';
import { mapProducerConfig, type KafkaSettings, type ProducerOptions, type TlsSettings } from './settings.js';

/**
 * Calls are sequential (one publish at a time). A call that runs out of time closes the
 * publisher: every later call rejects at once, as there is no time left anyway.
 */
export interface EventPublisher {
  /**
   * Publishes the events, waiting for every in-sync replica (acks=all). Resolves when Kafka has
   * them all; rejects with KafkaUnavailableError otherwise (some may have been written: the
   * caller publishes them again later and consumers deduplicate on the `id` header).
   * `onAcked` is told each sub-chunk Kafka acknowledged, as it happens, so after a failure in the
   * middle only the unacknowledged messages are published again.
   */
  publish(messages: readonly OutgoingMessage[], onAcked?: (acked: readonly OutgoingMessage[]) => void): Promise<void>;
  /**
   * Resolves when a broker answers (connects, and registers the idempotent producer) within
   * timeoutMs and the deadline; else KafkaUnavailableError. A later publish reuses the connection.
   */
  check(timeoutMs: number): Promise<void>;
  /**
   * What `health` needs: connects as this user (TLS, SASL) and fetches the topic's metadata with
   * its credentials, so a refused password, an untrusted certificate or a topic the user may not
   * access fails here, without publishing anything. Rejects with KafkaUnavailableError.
   */
  checkTopic(timeoutMs: number): Promise<void>;
  /** Disconnects; never rejects, and takes at most about a second past the deadline. */
  close(): Promise<void>;
}

/**
 * Where the publisher's diagnostics go, kafkajs's own lines included: all at debug, since they
 * explain a failure the caller already reports (src/log.ts's Logger fits).
 */
export interface KafkaLog {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface PublisherOptions {
  /** Epoch ms by which the pass must be over: no call outlasts it. */
  readonly deadline: number;
  readonly log: KafkaLog;
  /** The clock (epoch ms); a parameter so tests can reason about budgets. */
  readonly now?: () => number;
}

/** An attempt with less time than this left is not started: it could only time out. */
const MIN_ATTEMPT_MS = 100;
/** How long close() waits for a clean disconnect before it tears the sockets down. */
const CLOSE_GRACE_MS = 1_000;
/**
 * Brokers refuse a record batch over message.max.bytes (1 MiB by default), and kafkajs sends
 * one batch per partition per request, so a large publish is split below that.
 */
const MAX_CHUNK_BYTES = 512 * 1024;

/**
 * Builds a publisher (loading kafkajs) without connecting: the first publish or check connects.
 * Throws KafkaConfigError when the settings cannot work (the config loader should have caught
 * that already with mapProducerConfig), KafkaUnavailableError when kafkajs cannot be loaded.
 */
export async function createKafkaPublisher(settings: KafkaSettings, opts: PublisherOptions): Promise<EventPublisher> {
  const mapped = mapProducerConfig(settings.producerConfig);
  if ('error' in mapped) throw new KafkaConfigError(mapped.error);
  // At debug: a pass runs every 10 s, and the seed's stock config (acks=1) would otherwise put
  // the same warning in the journal 8,640 times a day. `pos-sync config` shows it instead.
  for (const warning of mapped.warnings) opts.log.debug(warning);
  const brokers = normalizeBrokers(settings.bootstrapServers);
  if (settings.topic.trim() === '') throw new KafkaConfigError('Kafka.InventoryTopic must not be empty');
  const tlsOptions = mapped.ok.tls ? await readTlsFiles(mapped.ok.tls) : undefined;

  let kafkajs: typeof import('kafkajs');
  try {
    kafkajs = await import('kafkajs');
  } catch (e) {
    throw new KafkaUnavailableError(`the Kafka client library could not be loaded: ${errorMessage(e)}`, {
      retriable: false,
      hint: 'reinstall pos-sync (npm ci)',
    });
  }
  return new KafkajsPublisher(kafkajs, settings.topic, brokers, mapped.ok, tlsOptions, opts);
}

/** "host:port" for kafkajs; librdkafka also accepts a "PLAINTEXT://" style prefix, so do we. */
export function normalizeBrokers(servers: readonly string[]): string[] {
  const brokers = servers.map((s) => s.trim().replace(/^[A-Za-z_]+:\/\//, '')).filter((s) => s !== '');
  if (brokers.length === 0) throw new KafkaConfigError('Kafka.BootstrapServers is empty');
  for (const broker of brokers) {
    const port = /:(\d+)$/.exec(broker)?.[1];
    if (port === undefined || Number(port) < 1 || Number(port) > 65535 || broker.startsWith(':')) {
      throw new KafkaConfigError(`Kafka.BootstrapServers entry "${broker}" must be host:port`);
    }
  }
  return brokers;
}

async function readTlsFiles(t: TlsSettings): Promise<tls.ConnectionOptions> {
  const read = async (key: string, path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (e) {
      throw new KafkaConfigError(`Kafka.ProducerConfig.${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`);
    }
  };
  const options: tls.ConnectionOptions = { rejectUnauthorized: t.rejectUnauthorized };
  const ca = await read('ssl.ca.location', t.caFile);
  const cert = await read('ssl.certificate.location', t.certFile);
  const key = await read('ssl.key.location', t.keyFile);
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (t.keyPassword !== undefined) options.passphrase = t.keyPassword;
  return options;
}

class KafkajsPublisher implements EventPublisher {
  private readonly producer: Producer;
  private readonly client: KafkaClient;
  private readonly now: () => number;
  private readonly sockets = new Set<net.Socket>();
  private readonly secrets: readonly string[];
  private connected = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** The pending backoff sleep, so close() can cut it short. */
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(
    kafkajs: typeof import('kafkajs'),
    private readonly topic: string,
    brokers: string[],
    private readonly options: ProducerOptions,
    tlsOptions: tls.ConnectionOptions | undefined,
    private readonly opts: PublisherOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.secrets = [options.sasl?.password, options.tls?.keyPassword].filter((s): s is string => !!s);
    const budget = Math.max(MIN_ATTEMPT_MS, opts.deadline - this.now());
    const config: KafkaConfig = {
      brokers,
      clientId: options.clientId,
      connectionTimeout: Math.min(options.connectionTimeoutMs, budget),
      authenticationTimeout: Math.min(10_000, budget),
      requestTimeout: Math.min(options.requestTimeoutMs, budget),
      enforceRequestTimeout: true,
      // No retries below the producer: the loop in publish() owns retrying (see the top).
      retry: { retries: 0 },
      socketFactory: this.socketFactory,
      logLevel: kafkajs.logLevel.INFO,
      logCreator: () => (entry: LogEntry) => this.logEntry(entry),
    };
    if (tlsOptions) config.ssl = tlsOptions;
    if (options.sasl) config.sasl = { ...options.sasl } as SASLOptions;
    const client: KafkaClient = new kafkajs.Kafka(config);
    this.client = client;
    this.producer = client.producer({
      idempotent: options.idempotent,
      // One request in flight keeps the idempotent producer's sequence numbers in order.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: seedPartitioner,
      // kafkajs insists on at least one retry for an idempotent producer; keep it short.
      retry: { retries: options.idempotent ? 1 : 0, initialRetryTime: 50, maxRetryTime: 100 },
    });
  }

  async publish(messages: readonly OutgoingMessage[], onAcked?: (acked: readonly OutgoingMessage[]) => void): Promise<void> {
    if (messages.length === 0) return;
    for (const chunk of chunkMessages(messages, MAX_CHUNK_BYTES)) {
      await this.sendWithRetries(chunk);
      onAcked?.(chunk);
    }
  }

  async check(timeoutMs: number): Promise<void> {
    this.assertOpen();
    const budget = Math.min(timeoutMs, this.opts.deadline - this.now());
    if (budget < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left to check Kafka');
    try {
      await this.bounded(this.connect(), budget);
    } catch (e) {
      throw toUnavailable(e, this.secrets);
    }
  }

  async checkTopic(timeoutMs: number): Promise<void> {
    this.assertOpen();
    const budget = Math.min(timeoutMs, this.opts.deadline - this.now());
    if (budget < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left to check Kafka');
    const admin = this.client.admin({ retry: { retries: 0 } });
    try {
      await this.bounded(
        (async () => {
          await admin.connect();
          // The topic's metadata with this user's credentials: TOPIC_AUTHORIZATION_FAILED when
          // the broker's ACLs give the user nothing on it. Nothing is published.
          await admin.fetchTopicMetadata({ topics: [this.topic] }).catch((e: unknown) => {
            // Allowed to see it, and not created yet: the first publish creates it (a broker
            // without auto-creation then refuses that publish, which the pass reports).
            if ((e as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
          });
        })(),
        budget,
      );
    } catch (e) {
      throw toUnavailable(e, this.secrets);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async sendWithRetries(chunk: readonly OutgoingMessage[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      const remaining = this.opts.deadline - this.now();
      if (remaining < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left in this pass to publish to Kafka');
      let failure: KafkaUnavailableError;
      try {
        await this.bounded(this.sendOnce(chunk, remaining), remaining);
        return;
      } catch (e) {
        failure = toUnavailable(e, this.secrets);
      }
      const wait = this.options.retryBackoffMs * 2 ** attempt;
      const worthRetrying = failure.retriable && !this.closed && attempt < this.options.retries;
      if (!worthRetrying || this.now() + wait + MIN_ATTEMPT_MS > this.opts.deadline) throw failure;
      this.opts.log.debug('Kafka publish failed, retrying', { attempt: attempt + 1, waitMs: wait, error: failure.message });
      await this.sleep(wait);
    }
  }

  private async sendOnce(chunk: readonly OutgoingMessage[], remaining: number): Promise<void> {
    await this.connect();
    await this.producer.sendBatch({
      acks: -1,
      // The broker's own wait for replicas: never longer than the pass has left.
      timeout: Math.min(this.options.requestTimeoutMs, remaining),
      topicMessages: [
        {
          topic: this.topic,
          messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } })),
        },
      ],
    });
  }

  private async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  /**
   * Races an operation against the time left. When time runs out the publisher shuts down
   * (sockets destroyed, so kafkajs gives up its pending requests instead of waiting for them)
   * and the call rejects at once.
   */
  private bounded<T>(operation: Promise<T>, ms: number): Promise<T> {
    // The loser of the race must not surface later as an unhandled rejection.
    operation.catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new KafkaUnavailableError(`Kafka did not answer within ${Math.round(ms)} ms`));
        this.abort();
      }, ms);
      operation.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeper = undefined;
        resolve();
      }, ms);
      this.sleeper = { timer, wake: resolve };
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new KafkaUnavailableError('the Kafka publisher is closed');
  }

  /**
   * Gives up at once: a request still in flight would make kafkajs's disconnect wait for its
   * answer (up to the request timeout), so the sockets are destroyed with an error first,
   * which fails those requests now; then the usual close.
   */
  private abort(): void {
    this.closed = true;
    this.destroySockets();
    void this.close();
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    if (this.sleeper) {
      clearTimeout(this.sleeper.timer);
      this.sleeper.wake();
      this.sleeper = undefined;
    }
    const disconnect = this.producer.disconnect().then(
      () => true,
      (e: unknown) => {
        this.opts.log.debug('Kafka disconnect failed', { error: redact(errorMessage(e), this.secrets) });
        return false;
      },
    );
    let graceTimer: NodeJS.Timeout | undefined;
    const grace = new Promise<false>((resolve) => {
      graceTimer = setTimeout(() => resolve(false), CLOSE_GRACE_MS);
    });
    const clean = await Promise.race([disconnect, grace]);
    clearTimeout(graceTimer);
    // After a clean disconnect kafkajs has only half-closed its sockets; ending them here saves
    // waiting for the broker's FIN. Otherwise kafkajs must hear of it, hence the error.
    this.destroySockets(!clean);
  }

  private destroySockets(tellKafkajs = true): void {
    for (const socket of this.sockets) socket.destroy(tellKafkajs ? new Error('closed by pos-sync') : undefined);
    this.sockets.clear();
  }

  /** kafkajs opens every connection through this, so the publisher knows all its sockets. */
  private readonly socketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
    if (this.closed) {
      // kafkajs retries on its own after a disconnect; once closed, every such try fails at once.
      const refused = new net.Socket();
      process.nextTick(() => refused.destroy(new Error('the Kafka publisher is closed')));
      return refused;
    }
    const socket = ssl
      ? tls.connect({ ...ssl, host, port, ...(net.isIP(host) ? {} : { servername: host }) }, onConnect)
      : net.connect({ host, port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  };

  private logEntry({ namespace, label, log }: LogEntry): void {
    const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
    let safeFields: Record<string, unknown> = {};
    try {
      safeFields = JSON.parse(redact(JSON.stringify(fields), this.secrets)) as Record<string, unknown>;
    } catch {
      // A secret with JSON syntax in it broke the redacted text: drop the fields, keep the line.
    }
    this.opts.log.debug(redact(`kafkajs ${label} ${namespace}: ${message}`, this.secrets), safeFields);
  }
}

/** Sends keyed events where the seed's librdkafka producer sent them (see partitioner.ts). */
const seedPartitioner: ICustomPartitioner = () => ({ partitionMetadata, message }) => {
  if (typeof message.partition === 'number') return message.partition;
  const key = message.key ?? '';
  if (key.length === 0) return 0;
  return seedPartition(typeof key === 'string' ? key : new Uint8Array(key), partitionMetadata.length);
};

/** Splits messages into runs whose keys, values and headers stay under maxBytes each. */
export function chunkMessages(messages: readonly OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let size = 0;
  for (const m of messages) {
    const bytes = messageBytes(m);
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function messageBytes(m: OutgoingMessage): number {
  let bytes = Buffer.byteLength(m.key) + Buffer.byteLength(m.value) + 32; // + record overhead
  for (const [name, value] of Object.entries(m.headers)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
  return bytes;
}

/**
 * kafkajs wraps the error that matters: "retries exceeded" around the last connection error,
 * "non-retriable" around a protocol error. The innermost one says what happened.
 */
export function classifyKafkaError(error: unknown): { message: string; retriable: boolean } {
  if (error instanceof KafkaUnavailableError) return { message: error.message, retriable: error.retriable };
  let e: unknown = error;
  for (let depth = 0; depth < 5 && isWrapper(e); depth++) e = (e as { cause: unknown }).cause;
  const retriable = typeof e === 'object' && e !== null && (e as { retriable?: unknown }).retriable === true;
  return { message: errorMessage(e), retriable };
}

function isWrapper(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, cause } = e as { name?: unknown; cause?: unknown };
  return (name === 'KafkaJSNumberOfRetriesExceeded' || name === 'KafkaJSNonRetriableError') && cause instanceof Error && cause !== e;
}

function toUnavailable(error: unknown, secrets: readonly string[]): KafkaUnavailableError {
  if (error instanceof KafkaUnavailableError) return error;
  const { message, retriable } = classifyKafkaError(error);
  const type = (error as { type?: unknown } | null)?.type;
  const text = typeof type === 'string' && !message.includes(type) ? `${message} (${type})` : message;
  // A failure waiting cannot heal is named for what it is, not called an outage.
  const trouble = kafkaTrouble(text);
  return new KafkaUnavailableError(`${trouble.label}: ${redact(text, secrets)}`, { retriable: retriable && trouble.heals, ...(trouble.heals ? {} : { hint: trouble.hint }) });
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
