// The Kafka side of a pass: a small interface the rest of pos-sync uses, and its kafkajs
// implementation. kafkajs is loaded here, lazily, and nowhere else: a pass with nothing to
// publish (and `status`) never pays for loading it.
//
// Time is the hard part. A pass must end before the next timer tick, so every call here is
// bounded by the pass deadline even when a broker accepts TCP and then never answers. kafkajs's
// own retries nest (producer → cluster → broker pool) and keep sleeping after a disconnect, so
// pos-sync turns them off almost entirely, retries in its own loop with its own timers, and
// cuts a call that runs into the deadline by tearing down the sockets itself.

import { kafkaTrouble, oneLine } from '../domain/kafka-trouble.js';
import { X509Certificate } from 'node:crypto';
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
   * Publishes the events in one Kafka transaction (acks=all), under this till's
   * transactional.id: a `read_committed` consumer sees all of them or none. The transaction also
   * commits `plan.marker` as the offset of the till's marker group, so that a pass that never
   * heard the commit's answer can ask later whether it happened (lastCommittedMarker).
   * `plan.beforeCommit` runs just before the commit is sent. Resolves once committed; rejects with
   * KafkaUnavailableError otherwise: aborted (nothing visible; `commitUnknown` false), or the
   * commit was sent and its answer never came (`commitUnknown` true; the publisher is closed).
   */
  publish(messages: readonly OutgoingMessage[], plan: TransactionPlan): Promise<void>;
  /**
   * Makes this producer the till's only one (InitProducerId: the producer of an earlier pass is
   * fenced, its open transaction aborted, a commit it had sent completed), then reads the marker
   * its last committed transaction left; null when none is recorded.
   */
  lastCommittedMarker(): Promise<number | null>;
  /**
   * Resolves when a broker answers (connects) within timeoutMs and the deadline; else
   * KafkaUnavailableError. A later publish reuses the connection.
   */
  check(timeoutMs: number): Promise<void>;
  /**
   * What `health` needs: connects as this user (TLS, SASL) and fetches the topic's metadata with
   * its credentials, so a refused password, an untrusted certificate or a topic the user may not
   * access fails here, without publishing anything. Resolves with what the topic's replication can
   * survive; rejects with KafkaUnavailableError.
   */
  checkTopic(timeoutMs: number): Promise<TopicFacts | null>;
  /** Requests sent to Kafka so far (what `npm run bench` counts per pass). */
  readonly requests: number;
  /** Disconnects; never rejects, and takes at most about a second past the deadline. */
  close(): Promise<void>;
}

export interface TransactionPlan {
  /** A number unique to this transaction among the till's (the outbox uses the clock). */
  readonly marker: number;
  /** Synchronous: records that the outcome may become unknown, before the commit is sent. */
  readonly beforeCommit: () => void;
}

/** The topic as the brokers describe it: can each event survive the loss of one broker? */
export interface TopicFacts {
  readonly partitions: number;
  /** The smallest replica count among its partitions. */
  readonly replicationFactor: number;
  /** The topic's min.insync.replicas (null when the user may not describe its configs). */
  readonly minInsyncReplicas: number | null;
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
  /**
   * This till's transactional.id (transactionalIdOf); needed by publish() and
   * lastCommittedMarker(). Never given to `health`: its producer would fence the pass's.
   */
  readonly transactionalId?: string | undefined;
  /** Orders the bootstrap brokers (randomly by default; seeded in tests). */
  readonly random?: () => number;
  readonly log: KafkaLog;
  /** The clock (epoch ms); a parameter so tests can reason about budgets. */
  readonly now?: () => number;
}

/** An attempt with less time than this left is not started: it could only time out. */
const MIN_ATTEMPT_MS = 100;
/**
 * Per bootstrap broker: how long a connection may take before the next broker is tried. A host
 * that accepts TCP and never answers then costs about this much, not the pass's whole budget.
 */
export const BROKER_CONNECT_MS = 1_500;
/**
 * A transaction left open (the pass was cut off) holds back `read_committed` consumers of its
 * partitions until the next pass's producer fences it (the next timer tick), or at the latest
 * until this timeout, after which the coordinator aborts it (it checks every 10 s by default:
 * transaction.abort.timed.out.transaction.cleanup.interval.ms). The pass's budget plus a margin,
 * so a transaction that runs to the end of its pass is never aborted under it.
 */
export function transactionTimeoutMs(budgetMs: number): number {
  return Math.min(60_000, Math.max(5_000, Math.ceil(budgetMs) + 2_000));
}

/**
 * The bootstrap list reordered so that its first entry answered a Kafka request (ApiVersions,
 * which brokers answer before authentication) within `perBrokerMs`, trying the brokers one after
 * the other in the given order. kafkajs bounds only the TCP connect by its connection timeout and
 * waits for a host that accepts and never answers until its request timeout, the pass's whole
 * budget; here each costs at most `perBrokerMs`. With one broker there is nothing to choose.
 * When none answers the order stays, and kafkajs reports the failure.
 */
async function firstAnswering(brokers: string[], ssl: tls.ConnectionOptions | undefined, clientId: string, perBrokerMs: number): Promise<string[]> {
  if (brokers.length < 2) return brokers;
  for (const [i, broker] of brokers.entries()) {
    if (await answers(broker, ssl, clientId, perBrokerMs)) return [broker, ...brokers.slice(0, i), ...brokers.slice(i + 1)];
  }
  return brokers;
}

/** True when `broker` answers an ApiVersions request within `ms`. */
function answers(broker: string, ssl: tls.ConnectionOptions | undefined, clientId: string, ms: number): Promise<boolean> {
  const colon = broker.lastIndexOf(':');
  const host = broker.slice(0, colon);
  const port = Number(broker.slice(colon + 1));
  const id = Buffer.from(clientId);
  // ApiVersions v0: size, api key 18, version 0, correlation id, client id; no body.
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + id.length);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(18, 4);
  request.writeInt16BE(0, 6);
  request.writeInt32BE(1, 8);
  request.writeInt16BE(id.length, 12);
  id.copy(request, 14);
  return new Promise((resolve) => {
    const socket = ssl
      ? tls.connect({ ...ssl, host, port, ...(net.isIP(host) ? {} : { servername: host }) }, () => socket.write(request))
      : net.connect({ host, port }, () => socket.write(request));
    let got = 0;
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= 8) done(true);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** Fisher–Yates with the given random source: the order the bootstrap brokers are tried in. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * kafkajs asks the brokers for the metadata of *every* topic until it has a target topic, and
 * fails the whole request when any partition of any topic has no leader: one unrelated topic
 * offline stopped all publishing. Its clusters are made by a private factory on the client;
 * wrapped here so every cluster this client makes (producer, admin) targets our topic from the
 * start. Checked by the test of an unrelated offline topic (test/kafka-transactions.test.ts).
 */
function onlyThisTopic(client: KafkaClient, topic: string): void {
  const owner = client as unknown as Record<symbol, unknown>;
  const key = Object.getOwnPropertySymbols(owner).find((k) => k.description === 'private:Kafka:createCluster');
  const create = key === undefined ? undefined : owner[key];
  if (key === undefined || typeof create !== 'function') return;
  owner[key] = (...args: unknown[]): unknown => {
    const cluster = (create as (...a: unknown[]) => { targetTopics?: unknown }).apply(client, args);
    if (cluster.targetTopics instanceof Set) cluster.targetTopics.add(topic);
    return cluster;
  };
}

/** Errors of a transaction or group coordinator that is loading or moving: waited for, not counted. */
const COORDINATOR_WAIT = /coordinator|COORDINATOR_LOAD_IN_PROGRESS|CONCURRENT_TRANSACTIONS/i;

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
  const tlsOptions = mapped.ok.tls ? await readTlsFiles(mapped.ok.tls, (opts.now ?? Date.now)()) : undefined;

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

async function readTlsFiles(t: TlsSettings, now: number): Promise<tls.ConnectionOptions> {
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
  if (cert) checkClientCertificate(cert, key, t.keyPassword, now);
  return options;
}

/**
 * What the broker would refuse anyway, named before connecting: a key that is not the
 * certificate's, a certificate outside its validity dates (by this machine's clock).
 */
function checkClientCertificate(cert: Buffer, key: Buffer | undefined, passphrase: string | undefined, now: number): void {
  if (key) {
    try {
      tls.createSecureContext({ cert, key, ...(passphrase === undefined ? {} : { passphrase }) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (/KEY_VALUES_MISMATCH/.test(code) || /key values mismatch/i.test(errorMessage(e))) {
        throw new KafkaConfigError('Kafka.ProducerConfig.ssl.key.location does not match ssl.certificate.location (key values mismatch)');
      }
      throw new KafkaConfigError(`Kafka.ProducerConfig.ssl.certificate.location or ssl.key.location cannot be used: ${oneLine(errorMessage(e))}`);
    }
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new KafkaConfigError(`Kafka.ProducerConfig.ssl.certificate.location is not a PEM certificate: ${oneLine(errorMessage(e))}`);
  }
  const from = Date.parse(x509.validFrom);
  const to = Date.parse(x509.validTo);
  if (now > to) throw new KafkaConfigError(`Kafka.ProducerConfig.ssl.certificate.location: the client certificate expired on ${new Date(to).toISOString()}`);
  if (now < from) throw new KafkaConfigError(`Kafka.ProducerConfig.ssl.certificate.location: the client certificate is not yet valid (from ${new Date(from).toISOString()})`);
}

class KafkajsPublisher implements EventPublisher {
  private readonly producer: Producer;
  private readonly client: KafkaClient;
  private readonly now: () => number;
  private readonly sockets = new Set<net.Socket>();
  private readonly secrets: readonly string[];
  private readonly transactionalId: string | undefined;
  private requestCount = 0;
  private bootstrap: Promise<string[]> | undefined;
  /** A broker closed a TLS connection right after the handshake, before any answer. */
  private hungUpAfterHandshake = false;
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
      // In random order (seedable), starting with one that answers: a bootstrap entry that is
      // down or hangs must not cost every pass (see firstAnswering).
      brokers: () => (this.bootstrap ??= firstAnswering(shuffled(brokers, opts.random ?? Math.random), tlsOptions, options.clientId, Math.min(BROKER_CONNECT_MS, budget))),
      clientId: options.clientId,
      // Per broker: a dead or hung bootstrap host costs at most this before the next is tried.
      connectionTimeout: Math.min(options.connectionTimeoutMs, BROKER_CONNECT_MS, budget),
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
    onlyThisTopic(client, topic);
    this.client = client;
    this.transactionalId = opts.transactionalId;
    this.producer = client.producer({
      // The transactional producer is idempotent by itself; `idempotent` here would make connect()
      // ask for a second, non-transactional producer id: a round trip for nothing.
      // Without a transactional.id this producer only checks (health, tests) and never sends.
      idempotent: false,
      ...(this.transactionalId === undefined ? {} : { transactionalId: this.transactionalId, transactionTimeout: transactionTimeoutMs(budget) }),
      // One request in flight keeps the idempotent producer's sequence numbers in order.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: seedPartitioner,
      // No retry inside kafkajs: when a partition's leader moves during a send, its retry sends
      // only to brokers that have not answered yet, so the records of a partition whose new
      // leader had answered for another partition are never sent, and the send still resolves
      // (20,000 events, a leader killed: 210 lost in test/kafka-cluster.test.ts). publish()
      // retries the whole transaction instead. (The transactional producer allows 0 retries.)
      retry: { retries: 0 },
    });
    this.producer.on(this.producer.events.REQUEST, () => {
      this.requestCount++;
    });
  }

  /** Any failure as KafkaUnavailableError, named by what waiting can heal. */
  private failure(e: unknown): KafkaUnavailableError {
    if (this.hungUpAfterHandshake && !(e instanceof KafkaUnavailableError) && /Closed connection|ECONNRESET|socket hang up|EPIPE/i.test(classifyKafkaError(e).message)) {
      return toUnavailable(new Error('the Kafka broker hung up right after the TLS handshake, before any answer: it rejected the client certificate (or requires one)'), this.secrets);
    }
    return toUnavailable(e, this.secrets);
  }

  get requests(): number {
    return this.requestCount;
  }

  async publish(messages: readonly OutgoingMessage[], plan: TransactionPlan): Promise<void> {
    if (messages.length === 0) return;
    const transactionalId = this.requireTransactionalId();
    for (let attempt = 0, failures = 0; ; attempt++) {
      this.assertOpen();
      const remaining = this.opts.deadline - this.now();
      if (remaining < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left in this pass to publish to Kafka');
      let committing = false;
      let failure: KafkaUnavailableError;
      try {
        await this.bounded(
          (async () => {
            await this.connect();
            const transaction = await this.producer.transaction();
            try {
              for (const chunk of chunkMessages(messages, MAX_CHUNK_BYTES)) {
                await transaction.sendBatch({
                  acks: -1,
                  // The broker's own wait for replicas: never longer than the pass has left.
                  timeout: Math.min(this.options.requestTimeoutMs, Math.max(MIN_ATTEMPT_MS, this.opts.deadline - this.now())),
                  topicMessages: [{ topic: this.topic, messages: chunk.map((m) => ({ key: m.key, value: m.value, headers: { ...m.headers } })) }],
                });
              }
              await transaction.sendOffsets({
                consumerGroupId: transactionalId,
                topics: [{ topic: this.topic, partitions: [{ partition: 0, offset: String(plan.marker) }] }],
              });
              // The caller could not record the commit it is about to make (its database): the
              // commit is not sent, so its outcome can never be unknown to it.
              try {
                plan.beforeCommit();
              } catch (e) {
                throw new KafkaUnavailableError(`the transaction was not committed: ${errorMessage(e)}`, { retriable: false });
              }
            } catch (e) {
              // Nothing of it becomes visible: abort now if the broker lets us (else the next
              // pass's producer, or the transaction timeout, aborts it).
              await transaction.abort().catch(() => undefined);
              throw e;
            }
            committing = true;
            await transaction.commit();
          })(),
          remaining,
        );
        return;
      } catch (e) {
        failure = this.failure(e);
      }
      if (committing) {
        // Sent and not answered, or answered with an error: either way only the next pass's
        // InitProducerId settles what happened. Nothing more from this producer.
        this.abort();
        throw new KafkaUnavailableError(`the outcome of a Kafka commit is unknown (${failure.message}); the next pass finds out before publishing again`, {
          commitUnknown: true,
        });
      }
      // A coordinator still loading (the first transaction of a cluster creates its state topic,
      // a coordinator moved) is waited for while the pass has time: it is not a failure of the
      // publish, so it does not use up the configured retries.
      const coordinatorWait = COORDINATOR_WAIT.test(failure.message);
      if (!coordinatorWait) failures++;
      const wait = Math.min(1_000, this.options.retryBackoffMs * 2 ** attempt);
      // kafkajs calls a group coordinator not found (yet) not retriable; it is what a fresh
      // cluster answers until its transaction state topic exists: waited for like the rest.
      const worthRetrying = (failure.retriable || coordinatorWait) && !this.closed && failures <= this.options.retries;
      if (!worthRetrying || this.now() + wait + MIN_ATTEMPT_MS > this.opts.deadline) throw failure;
      this.opts.log.debug('Kafka publish failed, retrying', { attempt: attempt + 1, waitMs: wait, error: failure.message });
      await this.sleep(wait);
    }
  }

  async lastCommittedMarker(): Promise<number | null> {
    const transactionalId = this.requireTransactionalId();
    this.assertOpen();
    const budget = this.opts.deadline - this.now();
    if (budget < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left in this pass to publish to Kafka');
    const admin = this.client.admin({ retry: { retries: 0 } });
    try {
      return await this.bounded(
        (async () => {
          await this.connect();
          // InitProducerId is what fences the earlier pass's producer and settles its last
          // transaction (CONCURRENT_TRANSACTIONS while the coordinator completes it: waited for).
          for (let wait = 100; ; wait = Math.min(1_000, wait * 2)) {
            try {
              await this.ensureProducerId();
              break;
            } catch (e) {
              if (!COORDINATOR_WAIT.test(classifyKafkaError(e).message + String((e as { type?: unknown }).type ?? '')) || this.now() + wait + MIN_ATTEMPT_MS > this.opts.deadline) throw e;
              await this.sleep(wait);
            }
          }
          await admin.connect();
          // The admin client finds the group coordinator among the brokers its metadata lists.
          await admin.fetchTopicMetadata({ topics: [this.topic] });
          const offsets = await admin.fetchOffsets({ groupId: transactionalId, topics: [this.topic] });
          const found = offsets.find((t) => t.topic === this.topic)?.partitions.find((p) => p.partition === 0)?.offset;
          return found === undefined || Number(found) < 0 ? null : Number(found);
        })(),
        budget,
      );
    } catch (e) {
      throw this.failure(e);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async check(timeoutMs: number): Promise<void> {
    this.assertOpen();
    const budget = Math.min(timeoutMs, this.opts.deadline - this.now());
    if (budget < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left to check Kafka');
    try {
      await this.bounded(this.connect(), budget);
    } catch (e) {
      throw this.failure(e);
    }
  }

  async checkTopic(timeoutMs: number): Promise<TopicFacts | null> {
    this.assertOpen();
    const budget = Math.min(timeoutMs, this.opts.deadline - this.now());
    if (budget < MIN_ATTEMPT_MS) throw new KafkaUnavailableError('no time left to check Kafka');
    const admin = this.client.admin({ retry: { retries: 0 } });
    try {
      return await this.bounded(
        (async (): Promise<TopicFacts | null> => {
          await admin.connect();
          // The topic's metadata with this user's credentials: TOPIC_AUTHORIZATION_FAILED when
          // the broker's ACLs give the user nothing on it. Nothing is published.
          const metadata = await admin.fetchTopicMetadata({ topics: [this.topic] }).catch((e: unknown) => {
            // Allowed to see it, and not created yet: the first publish creates it (a broker
            // without auto-creation then refuses that publish, which the pass reports).
            if ((e as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
            return null;
          });
          const partitions = metadata?.topics.find((t) => t.name === this.topic)?.partitions ?? [];
          if (partitions.length === 0) return null;
          const replicationFactor = Math.min(...partitions.map((p) => p.replicas.length));
          // min.insync.replicas needs DESCRIBE_CONFIGS, which a producer may lack: then unknown.
          const minInsyncReplicas = await admin
            .describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: this.topic, configNames: ['min.insync.replicas'] }] })
            .then((r) => {
              const value = r.resources[0]?.configEntries.find((c) => c.configName === 'min.insync.replicas')?.configValue;
              return value === undefined || value === null || !/^\d+$/.test(value) ? null : Number(value);
            })
            .catch(() => null);
          return { partitions: partitions.length, replicationFactor, minInsyncReplicas };
        })(),
        budget,
      );
    } catch (e) {
      throw this.failure(e);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async connect(): Promise<void> {
    if (this.connected) return;
    await this.producer.connect();
    this.connected = true;
  }

  /** InitProducerId, once: kafkajs sends it when the first transaction begins (nothing else is sent until a record is); an empty one is ended locally. */
  private async ensureProducerId(): Promise<void> {
    const transaction = await this.producer.transaction();
    // No partition or offset was added: kafkajs ends it without a request.
    await transaction.abort();
  }

  private requireTransactionalId(): string {
    if (this.transactionalId === undefined) throw new KafkaConfigError('publishing needs the till\'s transactional.id');
    return this.transactionalId;
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
    if (ssl) {
      // Under TLS 1.3 a broker refuses the client's certificate only after the client finished its
      // handshake: what the client sees is the broker hanging up before any answer. Remembered
      // here so the failure is named for what it most likely is (toUnavailable).
      let secured = false;
      let answered = false;
      socket.once('secureConnect', () => (secured = true));
      socket.on('data', () => (answered = true));
      socket.once('end', () => {
        if (secured && !answered) this.hungUpAfterHandshake = true;
      });
    }
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
  const text = oneLine(typeof type === 'string' && !message.includes(type) ? `${message} (${type})` : message);
  // A failure waiting cannot heal is named for what it is, not called an outage.
  const trouble = kafkaTrouble(text);
  // A missing topic is retried through the pass (a broker that creates topics answers so once).
  const retry = retriable && (trouble.heals || trouble.kind === 'unknownTopic');
  return new KafkaUnavailableError(`${trouble.label}: ${redact(text, secrets)}`, { retriable: retry, ...(trouble.heals ? {} : { hint: trouble.hint }) });
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
