// A strict reader of the Prometheus text exposition format (0.0.4), written for the tests: every
// line must be a HELP, a TYPE or a sample that follows the grammar, a family's TYPE comes before
// its samples and only once, a family's samples are contiguous, no series repeats.

export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly series: Series[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function fail(n: number, line: string, why: string): never {
  throw new Error(`line ${n + 1}: ${why}: ${JSON.stringify(line)}`);
}

/** Reads `{a="x",b="y"}` from position 0 of `text`; returns the labels and where they end. */
function readLabels(text: string, n: number, line: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = 1;
  while (text[i] !== '}') {
    const eq = text.indexOf('=', i);
    if (eq < 0) fail(n, line, 'label without =');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(n, line, `bad label name ${name}`);
    if (name in labels) fail(n, line, `label ${name} twice`);
    if (text[eq + 1] !== '"') fail(n, line, 'label value not quoted');
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else fail(n, line, `bad escape \\${next}`);
      } else if (text[j] === '\n') {
        fail(n, line, 'raw newline in a label value');
      } else {
        value += text[j];
      }
    }
    if (j >= text.length) fail(n, line, 'unterminated label value');
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail(n, line, 'expected , or } after a label');
  }
  return { labels, end: i + 1 };
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | null = null;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, n) => {
    if (line === '') fail(n, line, 'empty line');
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) fail(n, line, 'a comment that is neither HELP nor TYPE');
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) fail(n, line, 'bad metric name');
      const family = families.get(name!) ?? { name: name!, type: '', help: '', series: [] };
      if (family.series.length > 0) fail(n, line, `${kind} after the family's samples`);
      if (kind === 'TYPE') {
        if (family.type !== '') fail(n, line, 'TYPE twice');
        if (!TYPES.has(rest!)) fail(n, line, 'unknown type');
        families.set(name!, { ...family, type: rest! });
      } else {
        if (family.help !== '') fail(n, line, 'HELP twice');
        if (/\\[^\\n]/.test(rest!.replace(/\\\\/g, ''))) fail(n, line, 'bad escape in HELP');
        families.set(name!, { ...family, help: rest! });
      }
      current = name!;
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) fail(n, line, 'no metric name');
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) fail(n, line, 'bad metric name');
    let rest = line.slice(nameEnd);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const read = readLabels(rest, n, line);
      labels = read.labels;
      rest = rest.slice(read.end);
    }
    const m = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
    if (!m || !VALUE.test(m[1]!)) fail(n, line, 'bad value');
    const family = families.get(name);
    if (!family || family.type === '') fail(n, line, 'sample before its TYPE');
    if (current !== name) fail(n, line, 'samples of a family are not contiguous');
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(n, line, 'series repeated');
    seen.add(key);
    const v = m[1]!;
    family.series.push({ name, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  });
  return families;
}

/** The value of one series, or undefined. */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return families.get(name)?.series.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
