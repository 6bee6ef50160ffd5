// The Kafka section of the configuration and the translation of the seed's librdkafka-style
// `Kafka.ProducerConfig` map into the options pos-sync's client (kafkajs) understands.
// Pure: no kafkajs import, no file reads (certificate files are named here and read by the
// publisher), so config validation can run without loading the Kafka client at all.

export interface KafkaSettings {
  readonly enabled: boolean;
  /** "host:port" entries (the seed's comma-separated `Kafka.BootstrapServers`, split). */
  readonly bootstrapServers: readonly string[];
  /** `Kafka.InventoryTopic`. */
  readonly topic: string;
  /** `Kafka.ProducerConfig`: librdkafka property names and string values, as in the seed. */
  readonly producerConfig: Readonly<Record<string, string>>;
}

/**
 * The transactional.id of a till: the next pass of the same till fences the previous one with it.
 * Two tills with the same StoreId and TillId would fence each other, so each till needs its own
 * Sync.TillId (the host name by default).
 */
export function transactionalIdOf(storeId: string, tillId: string): string {
  return `pos-sync.${storeId}.${tillId}`;
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface SaslSettings {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface TlsSettings {
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly keyPassword: string | undefined;
  readonly rejectUnauthorized: boolean;
}

/** What the publisher needs from `Kafka.ProducerConfig`, with pos-sync's defaults filled in. */
export interface ProducerOptions {
  readonly clientId: string;
  /** Retries of a failed publish within one pass (always also bounded by the pass deadline). */
  readonly retries: number;
  /** First wait between retries; it doubles per retry. */
  readonly retryBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly idempotent: boolean;
  readonly tls: TlsSettings | undefined;
  readonly sasl: SaslSettings | undefined;
}

export type ProducerConfigResult =
  | { readonly ok: ProducerOptions; readonly warnings: readonly string[] }
  | { readonly error: string };

export const DEFAULT_PRODUCER_OPTIONS: ProducerOptions = {
  clientId: 'pos-sync',
  retries: 3,
  retryBackoffMs: 100,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 3_000,
  idempotent: true,
  tls: undefined,
  sasl: undefined,
};

const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** The librdkafka keys pos-sync maps; anything else is refused so a typo is never ignored. */
export const SUPPORTED_PRODUCER_KEYS: readonly string[] = [
  'client.id',
  'acks',
  'request.required.acks',
  'retries',
  'message.send.max.retries',
  'retry.backoff.ms',
  'request.timeout.ms',
  'socket.connection.setup.timeout.ms',
  'enable.idempotence',
  'security.protocol',
  'sasl.mechanism',
  'sasl.mechanisms',
  'sasl.username',
  'sasl.password',
  'ssl.ca.location',
  'ssl.certificate.location',
  'ssl.key.location',
  'ssl.key.password',
  'enable.ssl.certificate.verification',
];

const SASL_MECHANISMS: ReadonlyMap<string, SaslMechanism> = new Map([
  ['PLAIN', 'plain'],
  ['SCRAM-SHA-256', 'scram-sha-256'],
  ['SCRAM-SHA-512', 'scram-sha-512'],
]);

/** librdkafka keys with a better home than ProducerConfig in pos-sync. */
const MOVED_KEYS: ReadonlyMap<string, string> = new Map([
  ['bootstrap.servers', 'set Kafka.BootstrapServers instead'],
  ['metadata.broker.list', 'set Kafka.BootstrapServers instead'],
]);

// Secret values (sasl.password, ssl.key.password) are only ever copied, never parsed, so no
// message below can echo them: the "(got ...)" parts quote only numbers, booleans and names.

/**
 * Maps the seed's `Kafka.ProducerConfig` onto pos-sync's producer options.
 * Keys are librdkafka's (case-sensitive, as librdkafka has them). An unknown key is an error
 * naming it, with a "did you mean" for near misses. Values may be strings (as in
 * appsettings.json) or numbers/booleans (a hand-written YAML/JSON config).
 */
export function mapProducerConfig(map: Readonly<Record<string, unknown>>): ProducerConfigResult {
  const values = new Map<string, string>();
  for (const [key, raw] of Object.entries(map)) {
    if (!SUPPORTED_PRODUCER_KEYS.includes(key)) return { error: unknownKeyMessage(key) };
    if (typeof raw === 'string') values.set(key, raw.trim());
    else if ((typeof raw === 'number' && Number.isFinite(raw)) || typeof raw === 'boolean') values.set(key, String(raw));
    else return { error: `Kafka.ProducerConfig.${key} must be a string, number or boolean` };
  }
  for (const [a, b] of [['acks', 'request.required.acks'], ['retries', 'message.send.max.retries'], ['sasl.mechanism', 'sasl.mechanisms']] as const) {
    if (values.has(a) && values.has(b)) return { error: `Kafka.ProducerConfig sets both ${a} and its alias ${b}: keep one` };
  }
  try {
    return mapValues(values);
  } catch (e) {
    if (e instanceof ProducerConfigProblem) return { error: e.message };
    throw e;
  }
}

class ProducerConfigProblem extends Error {}

function mapValues(values: ReadonlyMap<string, string>): ProducerConfigResult {
  const warnings: string[] = [];
  const get = (key: string): string | undefined => values.get(key);
  const d = DEFAULT_PRODUCER_OPTIONS;

  const clientId = get('client.id') ?? d.clientId;
  if (clientId === '') throw new ProducerConfigProblem('Kafka.ProducerConfig.client.id must not be empty');

  const acksKey = values.has('request.required.acks') ? 'request.required.acks' : 'acks';
  const acks = acksWarning(acksKey, get(acksKey));
  if (acks) warnings.push(acks);

  const idempotent = parseBool('enable.idempotence', get('enable.idempotence'), d.idempotent);
  const retriesKey = values.has('message.send.max.retries') ? 'message.send.max.retries' : 'retries';
  const retries = parseInteger(retriesKey, get(retriesKey), d.retries, 0, 2_147_483_647);
  if (idempotent && retries === 0) {
    // librdkafka refuses this combination too: an idempotent producer exists to retry safely.
    throw new ProducerConfigProblem(`Kafka.ProducerConfig.${retriesKey}=0 needs enable.idempotence=false`);
  }

  const protocol = parseProtocol(get('security.protocol'));
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  for (const key of values.keys()) {
    if (!usesTls && (key.startsWith('ssl.') || key === 'enable.ssl.certificate.verification')) {
      warnings.push(`Kafka.ProducerConfig.${key} is ignored: security.protocol is ${protocol}`);
    }
    if (!usesSasl && key.startsWith('sasl.')) {
      warnings.push(`Kafka.ProducerConfig.${key} is ignored: security.protocol is ${protocol}`);
    }
  }

  return {
    ok: {
      clientId,
      retries,
      retryBackoffMs: parseInteger('retry.backoff.ms', get('retry.backoff.ms'), d.retryBackoffMs, 1, 300_000),
      requestTimeoutMs: parseInteger('request.timeout.ms', get('request.timeout.ms'), d.requestTimeoutMs, 1, 900_000),
      connectionTimeoutMs: parseInteger(
        'socket.connection.setup.timeout.ms',
        get('socket.connection.setup.timeout.ms'),
        d.connectionTimeoutMs,
        1,
        2_147_483_647,
      ),
      idempotent,
      tls: usesTls ? tlsSettings(get) : undefined,
      sasl: usesSasl ? saslSettings(get) : undefined,
    },
    warnings,
  };
}

/**
 * pos-sync always publishes with acks=all (-1): an event the leader acknowledged alone is lost
 * when that leader dies before a follower copied it, and "never loses an event" is the point.
 * The seed's own appsettings.json says acks=1, so weaker values are accepted with a warning
 * rather than refused: an existing store's config must keep working unchanged.
 */
function acksWarning(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === 'all' || v === '-1') return undefined;
  if (v === '0' || v === '1') {
    return `Kafka.ProducerConfig.${key}=${value} is raised to all (-1): pos-sync waits for every in-sync replica so no event is lost`;
  }
  throw new ProducerConfigProblem(`Kafka.ProducerConfig.${key} must be all, -1, 1 or 0 (got "${value}")`);
}

function parseProtocol(value: string | undefined): SecurityProtocol {
  if (value === undefined) return 'PLAINTEXT';
  const upper = value.toUpperCase();
  const found = SECURITY_PROTOCOLS.find((p) => p === upper);
  if (!found) {
    throw new ProducerConfigProblem(
      `Kafka.ProducerConfig.security.protocol must be one of ${SECURITY_PROTOCOLS.join(', ')} (got "${value}")`,
    );
  }
  return found;
}

function saslSettings(get: (key: string) => string | undefined): SaslSettings {
  const mechanismKey = get('sasl.mechanisms') !== undefined ? 'sasl.mechanisms' : 'sasl.mechanism';
  // librdkafka's default mechanism is GSSAPI (Kerberos), which kafkajs cannot do.
  const raw = get(mechanismKey) ?? 'GSSAPI';
  const mechanism = SASL_MECHANISMS.get(raw.toUpperCase());
  if (!mechanism) {
    throw new ProducerConfigProblem(
      `Kafka.ProducerConfig.${mechanismKey}=${raw} is not supported: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
    );
  }
  const username = get('sasl.username');
  const password = get('sasl.password');
  if (!username) throw new ProducerConfigProblem('Kafka.ProducerConfig.sasl.username is required with SASL');
  if (!password) throw new ProducerConfigProblem('Kafka.ProducerConfig.sasl.password is required with SASL');
  return { mechanism, username, password };
}

function tlsSettings(get: (key: string) => string | undefined): TlsSettings {
  return {
    caFile: nonEmptyPath('ssl.ca.location', get('ssl.ca.location')),
    certFile: nonEmptyPath('ssl.certificate.location', get('ssl.certificate.location')),
    keyFile: nonEmptyPath('ssl.key.location', get('ssl.key.location')),
    keyPassword: get('ssl.key.password'),
    rejectUnauthorized: parseBool('enable.ssl.certificate.verification', get('enable.ssl.certificate.verification'), true),
  };
}

function nonEmptyPath(key: string, value: string | undefined): string | undefined {
  if (value === '') throw new ProducerConfigProblem(`Kafka.ProducerConfig.${key} must be a file path`);
  return value;
}

function parseInteger(key: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const shown = ` (got "${value}")`;
  if (!/^\d+$/.test(value)) throw new ProducerConfigProblem(`Kafka.ProducerConfig.${key} must be a whole number${shown}`);
  const n = Number(value);
  if (n < min || n > max) throw new ProducerConfigProblem(`Kafka.ProducerConfig.${key} must be between ${min} and ${max}${shown}`);
  return n;
}

function parseBool(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ProducerConfigProblem(`Kafka.ProducerConfig.${key} must be true or false (got "${value}")`);
}

function unknownKeyMessage(key: string): string {
  const moved = MOVED_KEYS.get(key);
  if (moved) return `Kafka.ProducerConfig.${key} is not used: ${moved}`;
  const suggestion = closestKey(key);
  const hint = suggestion ? `; did you mean ${suggestion}?` : `; supported: ${SUPPORTED_PRODUCER_KEYS.join(', ')}`;
  return `Kafka.ProducerConfig.${key} is not a setting pos-sync's Kafka client supports${hint}`;
}

/** The supported key nearest to `key` by edit distance, when near enough to be a typo. */
export function closestKey(key: string): string | undefined {
  const lower = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const candidate of SUPPORTED_PRODUCER_KEYS) {
    const distance = editDistance(lower, candidate);
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(best.key.length / 4)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The files Kafka.ProducerConfig names that cannot be read, as "key path (CODE)": checked at the
 * start of a pass, before anything is sent, so a wrong path is named at once instead of after the
 * rows were delivered. One access() per configured file.
 */
export function unreadableKafkaFiles(producerConfig: Readonly<Record<string, string>>, access: (path: string) => void): string[] {
  const mapped = mapProducerConfig(producerConfig);
  if ('error' in mapped || !mapped.ok.tls) return [];
  const t = mapped.ok.tls;
  const bad: string[] = [];
  for (const [key, file] of [['ssl.ca.location', t.caFile], ['ssl.certificate.location', t.certFile], ['ssl.key.location', t.keyFile]] as const) {
    if (file === undefined) continue;
    try {
      access(file);
    } catch (e) {
      bad.push(`Kafka.ProducerConfig.${key}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return bad;
}
