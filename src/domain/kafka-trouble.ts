// What a Kafka failure is, from its text: one that waiting heals (the broker down, slow, a leader
// election) or one that needs someone to act — the credentials refused, the topic not allowed,
// the broker's certificate not trusted, a file that is not there. Pure; the texts are kafkajs's,
// Node's TLS errors' and pos-sync's own, as they reach the log.

export type KafkaTroubleKind =
  | 'authentication'
  | 'authorisation'
  | 'clientCertificate'
  | 'clientKey'
  | 'certificateDates'
  | 'tlsTrust'
  | 'missingFile'
  | 'unknownTopic'
  | 'tooFewReplicas'
  | 'leaderElection'
  | 'coordinator'
  | 'unavailable';

export interface KafkaTrouble {
  readonly kind: KafkaTroubleKind;
  /** False when waiting cannot help: a setting or the broker's ACLs must change. */
  readonly heals: boolean;
  /** What it is, for people: leads the log line, the health check and status. */
  readonly label: string;
  readonly hint: string;
}

const RULES: readonly { readonly test: RegExp; readonly trouble: KafkaTrouble }[] = [
  // First: the path in the text may hold any word.
  {
    test: /cannot read .*\((ENOENT|EACCES|EISDIR|ENOTDIR|EPERM)\)|\b(ssl|sasl)\.[a-z.]+ .*does not exist/i,
    trouble: {
      kind: 'missingFile',
      heals: false,
      label: 'a file Kafka.ProducerConfig names cannot be read',
      hint: 'fix the path in Kafka.ProducerConfig (ssl.ca.location, ssl.certificate.location, ssl.key.location) or the file\'s permissions',
    },
  },
  {
    test: /SASL [A-Z0-9 -]*authentication|authentication failed|SaslAuthenticat|ILLEGAL_SASL_STATE|UNSUPPORTED_SASL_MECHANISM/i,
    trouble: {
      kind: 'authentication',
      heals: false,
      label: 'Kafka refused the credentials',
      hint: 'check Kafka.ProducerConfig sasl.mechanism, sasl.username and sasl.password (Kafka__ProducerConfig__sasl.password)',
    },
  },
  {
    test: /AUTHORIZATION_FAILED|authorization failed|not authori[sz]ed/i,
    trouble: {
      kind: 'authorisation',
      heals: false,
      label: 'Kafka does not allow this user to write the topic',
      hint: 'ask the Kafka operator for WRITE, DESCRIBE and READ on Kafka.InventoryTopic, WRITE and DESCRIBE on the TransactionalId and READ on the group pos-sync.<StoreId>.<TillId> for this user (man pos-sync, KAFKA)',
    },
  },
  // Before the broker's trust: these texts hold "certificate" too.
  {
    test: /key values mismatch|KEY_VALUES_MISMATCH|does not match ssl\.certificate\.location/i,
    trouble: {
      kind: 'clientKey',
      heals: false,
      label: 'the client key does not match the client certificate',
      hint: 'point Kafka.ProducerConfig ssl.key.location at the key of the certificate in ssl.certificate.location',
    },
  },
  {
    test: /certificate (has )?expired|not yet valid|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|alert certificate expired/i,
    trouble: {
      kind: 'certificateDates',
      heals: false,
      label: 'a TLS certificate is expired or not yet valid',
      hint: 'renew the certificate (the client\'s in ssl.certificate.location, or the broker\'s), or correct this machine\'s clock',
    },
  },
  {
    // The broker's alert when it refuses the client's certificate: none sent (TLS 1.3 "certificate
    // required"), signed by a CA it does not trust, self-signed, or not for a client.
    test: /alert (certificate required|unknown ca|bad certificate|certificate unknown|unsupported certificate|access denied|handshake failure)|CERTIFICATE_REQUIRED|ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE|rejected the client certificate/i,
    trouble: {
      kind: 'clientCertificate',
      heals: false,
      label: 'the Kafka broker rejected the client certificate',
      hint: 'set Kafka.ProducerConfig ssl.certificate.location and ssl.key.location to a certificate the broker\'s CA signed for this client',
    },
  },
  {
    test: /self[- ]signed certificate|unable to verify|unable to get (local )?issuer|certificate has expired|certificate is not yet valid|altnames|CERT_|wrong version number|ssl3_get_record|handshake/i,
    trouble: {
      kind: 'tlsTrust',
      heals: false,
      label: 'the Kafka broker\'s certificate is not trusted',
      hint: 'point Kafka.ProducerConfig ssl.ca.location at the CA that signed the broker\'s certificate (and check the broker address matches it)',
    },
  },
  {
    // Retried through the pass first: a broker creating the topic answers this once, too.
    test: /UNKNOWN_TOPIC_OR_PARTITION|does not host this topic-partition/i,
    trouble: {
      kind: 'unknownTopic',
      heals: false,
      label: 'Kafka.InventoryTopic does not exist and the brokers do not create it',
      hint: 'create the topic (replication factor 3, min.insync.replicas 2) or correct Kafka.InventoryTopic',
    },
  },
  // What waiting heals, named for health and status.
  {
    test: /NOT_ENOUGH_REPLICAS|not enough (in-sync )?replicas|fewer in-sync replicas/i,
    trouble: { kind: 'tooFewReplicas', heals: true, label: 'too few in-sync replicas of the topic for acks=all', hint: 'nothing is lost: the events stay queued until enough brokers are back' },
  },
  {
    test: /LEADER_NOT_AVAILABLE|NOT_LEADER|no leader|leadership election/i,
    trouble: { kind: 'leaderElection', heals: true, label: 'a partition of the topic has no leader (an election is under way)', hint: 'nothing is lost: the events stay queued for the next pass' },
  },
  {
    test: /coordinator|COORDINATOR_|CONCURRENT_TRANSACTIONS/i,
    trouble: { kind: 'coordinator', heals: true, label: 'the Kafka transaction coordinator is not available', hint: 'nothing is lost: the events stay queued for the next pass' },
  },
];

const UNAVAILABLE: KafkaTrouble = {
  kind: 'unavailable',
  heals: true,
  label: 'Kafka is unavailable',
  hint: 'nothing is lost: the events stay queued for the next pass',
};

/** Every label: a text that already leads with one is not labelled twice. */
const LABELS: readonly string[] = [...RULES.map((r) => r.trouble.label), 'Kafka is unavailable'];

/** A label already at the front of `text`, if any. */
export function leadingKafkaLabel(text: string): string | undefined {
  return LABELS.find((l) => text.startsWith(`${l}: `));
}

export function kafkaTrouble(text: string): KafkaTrouble {
  // A text pos-sync labelled already (the state file, the sync report) keeps its label.
  const lead = leadingKafkaLabel(text);
  if (lead !== undefined) return RULES.find((r) => r.trouble.label === lead)?.trouble ?? UNAVAILABLE;
  return RULES.find((r) => r.test.test(text))?.trouble ?? UNAVAILABLE;
}

/**
 * One line: OpenSSL's messages end in a newline and kafkajs nests causes on several lines, which
 * the JSON log and the state file would show as a literal "\n".
 */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The log and health wording: `<label> (cannot heal by waiting): <detail> — <hint>`. */
export function describeKafkaTrouble(text: string): string {
  const t = kafkaTrouble(text);
  // The publisher's errors already lead with the label: not twice.
  const lead = leadingKafkaLabel(text);
  const detail = lead === undefined ? text : text.slice(lead.length + 2);
  return `${t.label}${t.heals ? '' : ' (cannot heal by waiting)'}: ${detail} — ${t.hint}`;
}
