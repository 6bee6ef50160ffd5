// Merges defaults, the config file, the environment and flags into validated values, keeping
// the source of each (pos-sync(1) CONFIGURATION). Pure apart from nothing: the caller reads files and env.

import { dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { URL_CREDENTIALS } from './kinds.js';
import { hideUrlPassword } from './secrets.js';
import { CONNECTION_STRINGS_KEY, EVENTS_PATH, HEALTH_PATH, HEARTBEAT_PATH, SECTIONS, SETTINGS, SUMMARY_PATH, type SettingSpec } from './schema.js';
import type { Resolved, ValueSource } from './types.js';

export interface GlobalFlags {
  readonly config?: string | undefined;
  readonly db?: string | undefined;
  readonly stateFile?: string | undefined;
  readonly storeId?: string | undefined;
  readonly centralUrl?: string | undefined;
  readonly verbose?: boolean | undefined;
}

export interface ResolveInput {
  /** The parsed config file, or null when none was found. */
  readonly file: { readonly path: string; readonly content: unknown } | null;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags: GlobalFlags;
  readonly cwd: string;
}

export type ResolvedSettings = ReadonlyMap<string, Resolved>;

/** A setting whose value does not fit its kind. */
export interface InvalidSetting {
  readonly key: string;
  /** As shown (a secret redacted). */
  readonly value: string;
  readonly source: ValueSource;
  readonly expected: string;
  readonly message: string;
}

/**
 * One or more settings are invalid: the message names the first (one clear line), `invalid` has
 * them all and `settings` every value as found, for `pos-sync config`'s table.
 */
export class InvalidSettingsError extends ConfigError {
  constructor(readonly invalid: readonly InvalidSetting[], readonly settings: ResolvedSettings) {
    super(invalid.length === 1 ? invalid[0]!.message : `${invalid[0]!.message} (and ${invalid.length - 1} more)`, {
      ...(invalid.length > 1 ? { hint: 'pos-sync config marks every invalid value' } : {}),
    });
  }
}

const byLowerKey = new Map(SETTINGS.map((s) => [s.key.toLowerCase(), s]));

function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'file':
      return `config file ${source.name}`;
    case 'environment':
      return `environment ${source.name}`;
    case 'flag':
      return `option ${source.name}`;
    default:
      return source.kind;
  }
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The known key closest to a misspelt one, for "did you mean". */
export function suggestKey(unknownKey: string): string | undefined {
  const lower = unknownKey.toLowerCase();
  const section = lower.split('.')[0];
  let best: { key: string; distance: number } | undefined;
  for (const spec of SETTINGS) {
    if (spec.key.toLowerCase().split('.')[0] !== section) continue;
    const distance = levenshtein(lower, spec.key.toLowerCase());
    if (!best || distance < best.distance) best = { key: spec.key, distance };
  }
  return best && best.distance <= Math.max(3, Math.floor(unknownKey.length / 4)) ? best.key : undefined;
}

function unknownKeyError(key: string, source: ValueSource): ConfigError {
  const suggestion = suggestKey(key);
  return new ConfigError(
    `unknown configuration key ${key} in ${describeSource(source)}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
  );
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Flattens one section of the file into dotted keys; nested objects are sub-sections unless the setting is a map. */
function flattenSection(prefix: string, obj: Record<string, unknown>, out: Map<string, unknown>, source: ValueSource): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = `${prefix}.${k}`;
    const spec = byLowerKey.get(key.toLowerCase());
    if (spec) {
      out.set(spec.key, v);
    } else if (isPlainObject(v) && SETTINGS.some((s) => s.key.toLowerCase().startsWith(`${key.toLowerCase()}.`))) {
      flattenSection(SETTINGS.find((s) => s.key.toLowerCase().startsWith(`${key.toLowerCase()}.`))!.key.slice(0, key.length), v, out, source);
    } else {
      throw unknownKeyError(key, source);
    }
  }
}

function fromFile(file: NonNullable<ResolveInput['file']>): Map<string, unknown> {
  const source: ValueSource = { kind: 'file', name: file.path };
  const out = new Map<string, unknown>();
  if (file.content === null || file.content === undefined) return out;
  if (!isPlainObject(file.content)) throw new ConfigError(`config file ${file.path} must hold an object with Sync, Database and Kafka sections`);
  for (const [top, value] of Object.entries(file.content)) {
    const section = SECTIONS.find((s) => s.toLowerCase() === top.toLowerCase());
    if (section) {
      if (!isPlainObject(value)) throw new ConfigError(`config file ${file.path}: section ${section} must be an object`);
      flattenSection(section, value, out, source);
    } else if (top.toLowerCase() === 'connectionstrings' && isPlainObject(value)) {
      const dc = Object.entries(value).find(([k]) => k.toLowerCase() === 'defaultconnection');
      if (dc) out.set(CONNECTION_STRINGS_KEY, dc[1]);
    }
    // Other top-level sections (Logging, AllowedHosts, …) belong to the seed's host: ignored.
  }
  return out;
}

interface EnvValue {
  readonly value: unknown;
  readonly name: string;
}

/** The .NET-style Section__Key overrides and the seed's plain variables. */
function fromEnv(env: ResolveInput['env']): Map<string, EnvValue> {
  const out = new Map<string, EnvValue>();
  const names = Object.keys(env).sort(); // deterministic when two spellings collide
  for (const name of names) {
    const raw = env[name];
    if (raw === undefined || !name.includes('__')) continue;
    const parts = name.split('__');
    const top = parts[0]!.toLowerCase();
    if (top === 'connectionstrings') {
      if (parts[1]?.toLowerCase() === 'defaultconnection') out.set(CONNECTION_STRINGS_KEY, { value: raw, name });
      continue;
    }
    if (!SECTIONS.some((s) => s.toLowerCase() === top)) continue; // not ours
    const dotted = parts.join('.');
    const spec = byLowerKey.get(dotted.toLowerCase());
    if (spec) {
      out.set(spec.key, { value: raw, name });
      continue;
    }
    // A map entry: Sync__ApiHeaders__X-Api-Key=…, Kafka__ProducerConfig__client.id=…
    const mapSpec = SETTINGS.find((s) => s.kind.describe.startsWith('an object') && dotted.toLowerCase().startsWith(`${s.key.toLowerCase()}.`));
    if (mapSpec) {
      const entry = dotted.slice(mapSpec.key.length + 1);
      const previous = out.get(mapSpec.key);
      const merged = { ...((previous?.value as Record<string, string> | undefined) ?? {}), [entry]: raw };
      out.set(mapSpec.key, { value: merged, name: previous ? `${previous.name}, ${name}` : name });
      continue;
    }
    throw unknownKeyError(dotted, { kind: 'environment', name });
  }
  for (const spec of SETTINGS) {
    for (const plain of spec.env ?? []) {
      const raw = env[plain];
      // An explicit Section__Key beats the seed's plain variable.
      if (raw !== undefined && raw !== '' && !out.has(spec.key)) out.set(spec.key, { value: raw, name: plain });
    }
  }
  return out;
}

function baseUrl(raw: string, source: ValueSource): string {
  let url: URL;
  // Redacted only for a message: every tick resolves the URL, few ever need it shown (the
  // redaction's regular expressions, compiled on first use, cost the endpoints 0.77 → 0.26 ms).
  const shown = (): string => hideUrlPassword(raw);
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`central API base URL "${shown()}" from ${describeSource(source)} must be an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`central API base URL "${shown()}" from ${describeSource(source)} must be an http:// or https:// URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`central API base URL "${shown()}" from ${describeSource(source)} must be ${URL_CREDENTIALS}`);
  }
  return url.href.replace(/\/+$/, '');
}

const CONNECTION_PATH_KEYS = new Set(['data source', 'datasource', 'filename']);
const CONNECTION_IGNORED_KEYS = new Set(['cache', 'pooling', 'mode', 'foreign keys', 'recursive triggers', 'default timeout']);

/** "Data Source=/app/data/POS_Local.db;Cache=Shared" → "/app/data/POS_Local.db". */
export function databasePathFromConnectionString(cs: string): string | { error: string } {
  let found: string | undefined;
  for (const part of cs.split(';')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) return { error: `"${part.trim()}" is not key=value` };
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (CONNECTION_PATH_KEYS.has(key)) found = value;
    else if (!CONNECTION_IGNORED_KEYS.has(key)) return { error: `unsupported connection string keyword "${part.slice(0, eq).trim()}"` };
  }
  if (!found) return { error: 'it has no "Data Source=<path>"' };
  return found;
}

interface DatabaseChoice {
  readonly text: string;
  /** A bare path (--db, POS_SYNC_DB) rather than a connection string. */
  readonly bare: boolean;
  readonly source: ValueSource;
  /** The setting it came from, for messages: a file may hold both connection-string keys. */
  readonly key: string;
}

function chooseDatabase(
  input: ResolveInput,
  envValues: ReadonlyMap<string, EnvValue>,
  fileValues: ReadonlyMap<string, unknown>,
  fileSource: ValueSource | undefined,
  fallback: Resolved,
): DatabaseChoice {
  if (input.flags.db !== undefined) return { text: input.flags.db, bare: true, source: { kind: 'flag', name: '--db' }, key: '--db' };
  const envCs = envValues.get(CONNECTION_STRINGS_KEY);
  if (envCs) return { text: String(envCs.value), bare: false, source: { kind: 'environment', name: envCs.name }, key: CONNECTION_STRINGS_KEY };
  const envDb = envValues.get('Database.ConnectionString');
  if (envDb) return { text: String(envDb.value), bare: false, source: { kind: 'environment', name: envDb.name }, key: 'Database.ConnectionString' };
  const plain = input.env['POS_SYNC_DB'];
  if (plain !== undefined && plain !== '') return { text: plain, bare: true, source: { kind: 'environment', name: 'POS_SYNC_DB' }, key: 'POS_SYNC_DB' };
  if (fileValues.has(CONNECTION_STRINGS_KEY)) {
    const v = fileValues.get(CONNECTION_STRINGS_KEY);
    if (typeof v !== 'string') throw new ConfigError(`${CONNECTION_STRINGS_KEY} in ${describeSource(fileSource!)} must be a connection string`);
    return { text: v, bare: false, source: fileSource!, key: CONNECTION_STRINGS_KEY };
  }
  return { text: String(fallback.value), bare: false, source: fallback.source, key: 'Database.ConnectionString' };
}

/** A default's value for this resolution: a map (ApiHeaders, ProducerConfig) copied, as parsing it made a new one. */
function ownCopy(value: unknown): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? { ...value } : value;
}

function redact(spec: SettingSpec | undefined, value: unknown): string {
  if (spec?.secret) return '<redacted>';
  return hideUrlPassword(JSON.stringify(value) ?? String(value));
}

/**
 * Every setting with its value and source, validated. Throws ConfigError naming the key and
 * where its bad value came from.
 */
export function resolveSettings(input: ResolveInput): ResolvedSettings {
  const fileSource: ValueSource | undefined = input.file ? { kind: 'file', name: input.file.path } : undefined;
  const fileValues = input.file ? fromFile(input.file) : new Map<string, unknown>();
  const envValues = fromEnv(input.env);
  const fileDir = input.file ? dirname(resolve(input.cwd, input.file.path)) : input.cwd;

  const result = new Map<string, Resolved>();
  const pick = (key: string): Resolved | undefined => {
    const e = envValues.get(key);
    const inFile = fileValues.get(key);
    if (e && isPlainObject(e.value) && isPlainObject(inFile)) {
      // A map set entry by entry in the environment merges into the file's map key by key, as
      // .NET configuration does: Kafka__ProducerConfig__sasl.password beside the file's
      // ProducerConfig adds the password and keeps the rest.
      // Keys compare without case, as in .NET; the file's spelling is kept.
      const merged: Record<string, unknown> = { ...inFile };
      for (const [k, v] of Object.entries(e.value)) merged[Object.keys(inFile).find((f) => f.toLowerCase() === k.toLowerCase()) ?? k] = v;
      return { value: merged, source: { kind: 'environment', name: `${e.name} over config file ${input.file!.path}` } };
    }
    if (e) return { value: e.value, source: { kind: 'environment', name: e.name } };
    if (fileValues.has(key)) return { value: fileValues.get(key), source: fileSource! };
    return undefined;
  };

  const invalid: InvalidSetting[] = [];
  for (const spec of SETTINGS) {
    const chosen = pick(spec.key) ?? { value: spec.default, source: { kind: 'default', name: 'default' } };
    const fromText = chosen.source.kind === 'environment' || chosen.source.kind === 'flag';
    // A default is a value of its kind already (config.test.ts checks each), so it is not parsed again
    // on every tick: the loop took an idle tick 1.28 → 0.59 ms (markers, 30 runs each).
    const parsed = chosen.source.kind === 'default' ? { ok: true as const, value: ownCopy(spec.default) } : spec.kind.parse(chosen.value, fromText);
    if (!parsed.ok) {
      // Every bad value is collected, so `pos-sync config` can mark them all at once.
      invalid.push({
        key: spec.key,
        value: redact(spec, chosen.value),
        source: chosen.source,
        expected: parsed.expected,
        message: `${spec.key} = ${redact(spec, chosen.value)} from ${describeSource(chosen.source)} is invalid: expected ${parsed.expected}`,
      });
      result.set(spec.key, chosen);
      continue;
    }
    let value = parsed.value;
    if (spec.path && typeof value === 'string') {
      value = resolve(chosen.source.kind === 'file' ? fileDir : input.cwd, value);
    }
    result.set(spec.key, { value, source: chosen.source });
  }

  if (invalid.length > 0) throw new InvalidSettingsError(invalid, result);

  // The database: --db, then the environment (ConnectionStrings__DefaultConnection,
  // Database__ConnectionString, POS_SYNC_DB), then the file (ConnectionStrings.DefaultConnection
  // before Database.ConnectionString, as the seed does), then the default.
  const db = chooseDatabase(input, envValues, fileValues, fileSource, result.get('Database.ConnectionString')!);
  const dbPath = db.bare ? db.text : databasePathFromConnectionString(db.text);
  if (typeof dbPath !== 'string' || dbPath === '') {
    const why = typeof dbPath === 'string' ? 'the path is empty' : dbPath.error;
    throw new ConfigError(
      db.bare ? `database path from ${describeSource(db.source)} is invalid: ${why}` : `${db.key} from ${describeSource(db.source)} is not a valid connection string: ${why}`,
    );
  }
  const dbResolvedPath = resolve(db.source.kind === 'file' ? fileDir : input.cwd, dbPath);
  result.set('Database.Path', { value: dbResolvedPath, source: db.source });

  // Endpoints: a base from --central-url / CENTRAL_API_URL derives both, per-setting precedence.
  const base = input.flags.centralUrl !== undefined
    ? { url: baseUrl(input.flags.centralUrl, { kind: 'flag', name: '--central-url' }), source: { kind: 'flag', name: '--central-url' } as ValueSource }
    : input.env['CENTRAL_API_URL']
      ? { url: baseUrl(input.env['CENTRAL_API_URL'], { kind: 'environment', name: 'CENTRAL_API_URL' }), source: { kind: 'environment', name: 'CENTRAL_API_URL' } as ValueSource }
      : undefined;
  for (const [key, suffix] of [['Sync.CentralApiEndpoint', EVENTS_PATH], ['Sync.HealthCheckEndpoint', HEALTH_PATH]] as const) {
    const current = result.get(key)!;
    const explicitEnv = current.source.kind === 'environment' && current.source.name.includes('__');
    if (base && (base.source.kind === 'flag' || !explicitEnv)) {
      result.set(key, { value: base.url + suffix, source: base.source });
    }
  }
  // The summary endpoint (reconcile): set whole like the others, or derived from the events
  // endpoint: its last path segment replaced by "summary" (…/api/inventory/events → …/summary).
  const summary = result.get('Sync.SummaryEndpoint')!;
  const explicitSummaryEnv = summary.source.kind === 'environment' && summary.source.name.includes('__');
  if (summary.value !== null && base && (base.source.kind === 'flag' || !explicitSummaryEnv)) {
    result.set('Sync.SummaryEndpoint', { value: base.url + SUMMARY_PATH, source: base.source });
  } else if (summary.value === null) {
    result.set('Sync.SummaryEndpoint', { value: new URL('summary', String(result.get('Sync.CentralApiEndpoint')!.value)).href, source: { kind: 'derived', name: 'Sync.CentralApiEndpoint' } });
  }

  // The heartbeat endpoint (the fleet view): derived the same way, last segment "heartbeat".
  const heartbeat = result.get('Sync.HeartbeatEndpoint')!;
  const explicitHeartbeatEnv = heartbeat.source.kind === 'environment' && heartbeat.source.name.includes('__');
  if (heartbeat.value !== null && base && (base.source.kind === 'flag' || !explicitHeartbeatEnv)) {
    result.set('Sync.HeartbeatEndpoint', { value: base.url + HEARTBEAT_PATH, source: base.source });
  } else if (heartbeat.value === null) {
    result.set('Sync.HeartbeatEndpoint', { value: new URL('heartbeat', String(result.get('Sync.CentralApiEndpoint')!.value)).href, source: { kind: 'derived', name: 'Sync.CentralApiEndpoint' } });
  }

  if (input.flags.storeId !== undefined) {
    const spec = byLowerKey.get('sync.storeid')!;
    const parsed = spec.kind.parse(input.flags.storeId, true);
    if (!parsed.ok) throw new ConfigError(`--store-id "${input.flags.storeId}" is invalid: expected ${parsed.expected}`);
    result.set(spec.key, { value: parsed.value, source: { kind: 'flag', name: '--store-id' } });
  }
  if (input.flags.stateFile !== undefined) {
    if (input.flags.stateFile === '') throw new ConfigError('--state-file needs a path');
    result.set('Sync.StateFile', { value: resolve(input.cwd, input.flags.stateFile), source: { kind: 'flag', name: '--state-file' } });
  }
  if (input.flags.verbose) {
    result.set('Sync.EnableDetailedLogging', { value: true, source: { kind: 'flag', name: '--verbose' } });
  }
  return result;
}
