// What a Kafka failure is, from its text: one that waiting heals (the broker down, slow, a leader
// election) or one that needs someone to act — the credentials refused, the topic not allowed,
// the broker's certificate not trusted, a file that is not there. Pure; the texts are kafkajs's,
// Node's TLS errors' and pos-sync's own, as they reach the log.

export type KafkaTroubleKind = 'authentication' | 'authorisation' | 'tlsTrust' | 'missingFile' | 'unavailable';

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
  {
    test: /self[- ]signed certificate|unable to verify|unable to get (local )?issuer|certificate has expired|certificate is not yet valid|altnames|CERT_|wrong version number|ssl3_get_record|handshake/i,
    trouble: {
      kind: 'tlsTrust',
      heals: false,
      label: 'the Kafka broker\'s certificate is not trusted',
      hint: 'point Kafka.ProducerConfig ssl.ca.location at the CA that signed the broker\'s certificate (and check the broker address matches it)',
    },
  },
];

const UNAVAILABLE: KafkaTrouble = {
  kind: 'unavailable',
  heals: true,
  label: 'Kafka is unavailable',
  hint: 'nothing is lost: the events stay queued for the next pass',
};

export function kafkaTrouble(text: string): KafkaTrouble {
  return RULES.find((r) => r.test.test(text))?.trouble ?? UNAVAILABLE;
}

/** The log and health wording: `<label> (cannot heal by waiting): <detail> — <hint>`. */
export function describeKafkaTrouble(text: string): string {
  const t = kafkaTrouble(text);
  // The publisher's errors already lead with the label: not twice.
  const detail = text.startsWith(`${t.label}: `) ? text.slice(t.label.length + 2) : text.replace(/^Kafka is unavailable: /, '');
  return `${t.label}${t.heals ? '' : ' (cannot heal by waiting)'}: ${detail} — ${t.hint}`;
}
