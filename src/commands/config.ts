// `pos-sync config`: the effective configuration, where every value came from, secrets redacted.
// Pure: it reads what loadConfig already resolved and never touches the database or network.
// The whole command: its --help, its run, the table of settings and its human output.

import type { LoadedConfig } from '../config/load.js';
import { SETTINGS } from '../config/schema.js';
import { isSecretHeader, isSecretProducerKey, plainHttpCredentialWarning } from '../config/secrets.js';
import type { ValueSource } from '../config/types.js';
import { mapProducerConfig } from '../kafka/settings.js';
import { defineCommand } from './command.js';

/** After the options in --help: examples and the exit codes it can end with (pos-sync(1) EXIT STATUS). */
const HELP = `
Examples:
  pos-sync config                          every setting, its value and where it came from
  pos-sync --config /etc/pos-sync/appsettings.json config --check
                                           only validate (install.sh runs it): silent but one line
  Kafka__ProducerConfig__sasl.password=… pos-sync --config appsettings.json config

Exit codes:
  0   the configuration is valid
  78  invalid: the table marks every invalid value
  64  usage error`;

export const config = defineCommand<{ check?: boolean }>({
  options: [{ flags: '--check', description: 'only validate the configuration: one line, exit 0 when valid, else the error and 78' }],
  help: HELP,
  run: async (ctx, opts) => {
    let loaded: LoadedConfig;
    try {
      loaded = await ctx.loadConfig();
    } catch (err) {
      // Every invalid value at once, in the table, then the one closing line.
      const { InvalidSettingsError } = await import('../config/resolve.js');
      if (err instanceof InvalidSettingsError && ctx.human && !opts.check) {
        ctx.io.stdout.write(renderInvalidConfig(err.invalid, err.settings));
      }
      throw err;
    }
    const result = runConfig(loaded, ctx.io.env);
    ctx.print(result, () => (opts.check ? `configuration valid${result.file === null ? ' (no config file: defaults, environment and flags)' : `: ${result.file}`}\n` : renderConfig(result)));
    return result.exitCode;
  },
});

export const REDACTED = '<redacted>';

export interface ConfigRow {
  readonly key: string;
  /** The effective value, secrets replaced by "<redacted>". */
  readonly value: unknown;
  readonly source: ValueSource;
  /** A seed key accepted for compatibility and not used. */
  readonly ignored?: true;
  readonly doc: string;
}

export interface ConfigResult {
  readonly command: 'config';
  readonly exitCode: 0;
  /** The config file read, or null when none was found. */
  readonly file: string | null;
  readonly settings: readonly ConfigRow[];
  /** Things a sync run keeps quiet about (logging them every tick would flood the journal). */
  readonly notes: readonly string[];
}

function redactMap(map: Readonly<Record<string, string>>, secret: (key: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, secret(k) ? REDACTED : v]));
}

export function runConfig(loaded: LoadedConfig, env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const { settings, config } = loaded;
  const rows: ConfigRow[] = [];
  for (const spec of SETTINGS) {
    const resolved = settings.get(spec.key);
    if (!resolved) continue;
    let value = resolved.value;
    let source = resolved.source;
    if (spec.key === 'Sync.ApiToken') {
      // The token actually used may come from a file, a systemd credential or the environment.
      value = loaded.tokenSource ? REDACTED : null;
      source = loaded.tokenSource ?? resolved.source;
    } else if (spec.secret) {
      value = value === null ? null : REDACTED;
    } else if (spec.key === 'Sync.ApiHeaders') {
      value = redactMap(value as Record<string, string>, isSecretHeader);
    } else if (spec.key === 'Kafka.ProducerConfig') {
      value = redactMap(value as Record<string, string>, isSecretProducerKey);
    } else if (spec.key === 'Sync.StateFile' && value === null) {
      value = config.stateFile;
      source = { kind: 'derived', name: 'beside the database' };
    }
    rows.push({ key: spec.key, value, source, ...(spec.ignored ? { ignored: true as const } : {}), doc: spec.doc });
    if (spec.key === 'Database.ConnectionString') {
      const db = settings.get('Database.Path');
      if (db) rows.push({ key: 'Database.Path', value: db.value, source: db.source, doc: 'The database file in use (from --db, POS_SYNC_DB or the connection string).' });
    }
  }
  const producer = mapProducerConfig(config.kafka.producerConfig);
  const notes = 'warnings' in producer ? [...producer.warnings] : [];
  const plain = plainHttpCredentialWarning(config);
  if (plain !== null) notes.push(plain);
  return { command: 'config', exitCode: 0, file: loaded.file, settings: rows, notes };
}

export function describeSource(source: ValueSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `file ${source.name}`;
    case 'environment':
      return `env ${source.name}`;
    case 'flag':
      return `flag ${source.name}`;
    case 'derived':
      return `derived (${source.name})`;
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '-';
  return JSON.stringify(value);
}

/** An aligned three-column table: key, value, source. */
export function renderConfig(result: ConfigResult): string {
  const lines = [`config file: ${result.file ?? 'none found (defaults, environment and flags only)'}`];
  const keyWidth = Math.max(3, ...result.settings.map((r) => r.key.length));
  const valueWidth = Math.min(60, Math.max(5, ...result.settings.map((r) => show(r.value).length)));
  lines.push(`${'KEY'.padEnd(keyWidth)}  ${'VALUE'.padEnd(valueWidth)}  SOURCE`);
  for (const r of result.settings) {
    const source = `${describeSource(r.source)}${r.ignored ? ' (seed key, ignored)' : ''}`;
    lines.push(`${r.key.padEnd(keyWidth)}  ${show(r.value).padEnd(valueWidth)}  ${source}`);
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  return lines.join('\n') + '\n';
}

/**
 * The table of an invalid configuration: every setting as found, each bad one marked with what
 * it expects, so all of them can be fixed in one go (a pass names only the first).
 */
export function renderInvalidConfig(invalid: readonly { key: string; value: string; source: ValueSource; expected: string }[], settings: ReadonlyMap<string, { value: unknown; source: ValueSource }>): string {
  const bad = new Map(invalid.map((i) => [i.key, i]));
  const rows = SETTINGS.map((spec) => {
    const i = bad.get(spec.key);
    const r = settings.get(spec.key);
    const value = i ? i.value : spec.secret && r?.value !== null && r?.value !== undefined ? REDACTED : show(r?.value ?? null);
    return { key: spec.key, value, source: i?.source ?? r?.source ?? { kind: 'default' as const, name: 'default' }, error: i ? `expected ${i.expected}` : null };
  });
  const keyWidth = Math.max(3, ...rows.map((r) => r.key.length));
  const valueWidth = Math.min(40, Math.max(5, ...rows.map((r) => r.value.length)));
  const lines = [`${invalid.length === 1 ? '1 invalid value' : `${invalid.length} invalid values`}, marked ✗:`, `  ${'KEY'.padEnd(keyWidth)}  ${'VALUE'.padEnd(valueWidth)}  SOURCE`];
  for (const r of rows) {
    lines.push(`${r.error ? '✗' : ' '} ${r.key.padEnd(keyWidth)}  ${r.value.padEnd(valueWidth)}  ${describeSource(r.source)}${r.error ? ` — ${r.error}` : ''}`);
  }
  return lines.join('\n') + '\n';
}
