// The CONFIGURATION section of man/pos-sync.1, generated from the settings table (schema.ts) so
// the manual can never disagree with the loader about a key, its default or its environment
// variable. test/man.test.ts compares the page with this text (UPDATE_MAN=1 rewrites the block).
// Pure: never imported by the CLI.

import { SECTIONS, SETTINGS, type SettingSpec } from './schema.js';

export const BEGIN_MARKER = '.\\" BEGIN CONFIGURATION KEYS (generated from src/config/schema.ts by src/config/manual.ts; do not edit)';
export const END_MARKER = '.\\" END CONFIGURATION KEYS';

/** Text safe on a roff text line: backslashes, dashes (so options copy as ASCII) and a leading control character. */
export function roff(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

function showDefault(value: unknown): string {
  if (value === null || value === undefined) return 'unset';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Environment variables, as roff: a map is set one entry per variable (Sync__ApiHeaders__X-Api-Key). */
function envNames(spec: SettingSpec): string[] {
  const dotnet = `\\fB${roff(spec.key.split('.').join('__'))}\\fR`;
  const isMap = spec.kind.describe.startsWith('an object');
  return [isMap ? `${dotnet}\\fB__\\fIname\\fR` : dotnet, ...(spec.env ?? []).map((e) => `\\fB${roff(e)}\\fR`)];
}

function entry(spec: SettingSpec): string[] {
  const lines = ['.TP', `.B ${spec.key}`, roff(spec.doc)];
  lines.push('.br');
  lines.push(`Default: \\fB${roff(showDefault(spec.default))}\\fR; ${roff(spec.kind.describe)}.`);
  lines.push(`Environment: ${envNames(spec).join(', ')}.`);
  if (spec.path) lines.push('Relative to the config file\'s folder when written there.');
  if (spec.secret) lines.push('Never printed: shown as <redacted>.');
  return lines;
}

/** The block between the markers, markers included. */
export function configurationKeys(): string {
  const out = [BEGIN_MARKER];
  for (const section of SECTIONS) {
    out.push(`.SS ${section}`);
    for (const spec of SETTINGS.filter((s) => s.key.startsWith(`${section}.`))) out.push(...entry(spec));
  }
  out.push(END_MARKER);
  return out.join('\n');
}

/** Replaces the block in a page's text; throws when the markers are missing. */
export function withConfigurationKeys(page: string): string {
  const begin = page.indexOf(BEGIN_MARKER);
  const end = page.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error('the manual page has no generated configuration block');
  return page.slice(0, begin) + configurationKeys() + page.slice(end + END_MARKER.length);
}
