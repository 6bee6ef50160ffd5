// Tests that need a real Kafka broker ask for one here. Locally a missing broker skips them
// visibly; in CI it fails them, because a skipped integration test there is a silent hole.

import net from 'node:net';
import type { TestContext } from 'node:test';

export const DEFAULT_TEST_BROKERS = '127.0.0.1:39092';
const START_HINT = 'bash test/kafka/broker.sh start';

/** The brokers from KAFKA_TEST_BROKERS (default 127.0.0.1:39092), or undefined when the test was skipped. */
export async function kafkaBrokerOrSkip(t: TestContext): Promise<string[] | undefined> {
  const brokers = (process.env.KAFKA_TEST_BROKERS ?? DEFAULT_TEST_BROKERS)
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  const first = brokers[0] ?? DEFAULT_TEST_BROKERS;
  if (await reachable(first, 1_000)) return brokers;
  if (process.env.CI === 'true') {
    throw new Error(`no Kafka broker at ${first}: CI must start the broker: ${START_HINT}`);
  }
  t.skip(`no Kafka broker at ${first}: run ${START_HINT}`);
  return undefined;
}

/** True when a TCP connection to host:port opens within timeoutMs. */
export function reachable(hostPort: string, timeoutMs: number): Promise<boolean> {
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon);
  const port = Number(hostPort.slice(colon + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A topic name no other test (or earlier run against the same broker) has used. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface ConsumedMessage {
  readonly partition: number;
  readonly key: string | undefined;
  readonly value: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Reads a topic from the beginning with a fresh consumer group until `expected` messages came
 * (then lingers `settleMs` to catch extra, duplicate ones) or `timeoutMs` passed. It reads as
 * the man page tells consumers to (isolation.level=read_committed) unless `readUncommitted`.
 */
export async function consumeTopic(
  brokers: string[],
  topic: string,
  options: { expected: number; timeoutMs: number; settleMs?: number; readUncommitted?: boolean },
): Promise<ConsumedMessage[]> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ brokers, clientId: 'pos-sync-test-consumer', logLevel: logLevel.NOTHING });
  // Short fetch waits: the test waits for a handful of messages, not for throughput.
  const readUncommitted = options.readUncommitted === true;
  const consumer = kafka.consumer({
    groupId: `${topic}-reader${readUncommitted ? '-uncommitted' : ''}`,
    readUncommitted,
    maxWaitTimeInMs: 200,
    retry: { retries: 10, maxRetryTime: 1_000 },
  });
  const received: ConsumedMessage[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve) => {
      const giveUp = setTimeout(resolve, options.timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            if (value !== undefined) headers[name] = value.toString();
          }
          received.push({ partition, key: message.key?.toString(), value: message.value?.toString(), headers });
          if (received.length === options.expected) {
            clearTimeout(giveUp);
            setTimeout(resolve, options.settleMs ?? 500);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return received;
}

/** Creates a topic with `partitions` partitions (replication 1: the test broker is one node). */
export async function createTopic(brokers: string[], topic: string, partitions: number): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers, clientId: 'pos-sync-test-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** The SASL_SSL listener of the test broker (broker.sh with KAFKA_SASL_PORT) and its CA file. */
export interface SaslBroker {
  /** host:port of the SASL_SSL (SCRAM-SHA-512) listener. */
  readonly saslBrokers: string;
  /** The same broker's PLAINTEXT listener, a super user there: ACLs, topics, reading. */
  readonly plainBrokers: string[];
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
}

/**
 * KAFKA_TEST_SASL_BROKERS and KAFKA_TEST_CA (set by .ci/run); locally a missing listener skips
 * the test visibly, in CI it fails it.
 */
export async function saslBrokerOrSkip(t: TestContext): Promise<SaslBroker | undefined> {
  const sasl = process.env.KAFKA_TEST_SASL_BROKERS;
  const caFile = process.env.KAFKA_TEST_CA;
  const plain = await kafkaBrokerOrSkip(t);
  if (!plain) return undefined;
  const hint = 'start the broker with KAFKA_SASL_PORT set and export KAFKA_TEST_SASL_BROKERS=127.0.0.1:<that port> and KAFKA_TEST_CA=<run dir>/tls/ca.pem';
  if (sasl && caFile && (await reachable(sasl, 1_000))) return { saslBrokers: sasl, plainBrokers: plain, caFile, username: 'pos', password: 'pos-secret' };
  if (process.env.CI === 'true') throw new Error(`no SASL_SSL Kafka listener (KAFKA_TEST_SASL_BROKERS=${sasl ?? ''}): ${hint}`);
  t.skip(`no SASL_SSL Kafka listener: ${hint}`);
  return undefined;
}

/**
 * Creates the topics and lets User:<user> publish to `allowed` in transactions (its ACLs as the man page lists them),
 * and only describe each of `describeOnly`.
 */
export async function allowTopic(plainBrokers: string[], user: string, allowed: string, others: readonly string[], describeOnly: readonly string[] = []): Promise<void> {
  const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = (await import('kafkajs')).default;
  const admin = new Kafka({ brokers: plainBrokers, clientId: 'pos-sync-test-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [allowed, ...others, ...describeOnly].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })), waitForLeaders: true });
    const acl = (resourceType: number, resourceName: string, operation: number) => ({
      resourceType,
      resourceName,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${user}`,
      host: '*',
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({
      acl: [
        acl(AclResourceTypes.TOPIC, allowed, AclOperationTypes.WRITE),
        acl(AclResourceTypes.TOPIC, allowed, AclOperationTypes.DESCRIBE),
        // What transactions need (man page, KAFKA): the till's transactional.id, and its marker
        // group, committed to with the events (READ on the group and the topic).
        acl(AclResourceTypes.TOPIC, allowed, AclOperationTypes.READ),
        { ...acl(AclResourceTypes.TRANSACTIONAL_ID, 'pos-sync.', AclOperationTypes.WRITE), resourcePatternType: ResourcePatternTypes.PREFIXED },
        { ...acl(AclResourceTypes.TRANSACTIONAL_ID, 'pos-sync.', AclOperationTypes.DESCRIBE), resourcePatternType: ResourcePatternTypes.PREFIXED },
        { ...acl(AclResourceTypes.GROUP, 'pos-sync.', AclOperationTypes.READ), resourcePatternType: ResourcePatternTypes.PREFIXED },
        ...describeOnly.map((topic) => acl(AclResourceTypes.TOPIC, topic, AclOperationTypes.DESCRIBE)),
      ],
    });
  } finally {
    await admin.disconnect();
  }
}
