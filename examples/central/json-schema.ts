// A small JSON Schema (2020-12) validator for the keywords man/schemas/*.schema.json use — type,
// const, enum, required, properties, additionalProperties: false, items, anyOf, $ref to #/$defs,
// minimum, maximum, minLength, pattern — so the reference central checks heartbeats against the
// very schema the man page publishes. An unknown keyword is an error: never silently ignored.

export type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema', '$id', 'title', 'description', '$defs', '$ref',
  'type', 'const', 'enum', 'required', 'properties', 'additionalProperties', 'items', 'anyOf',
  'minimum', 'maximum', 'minLength', 'pattern',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Every way `value` breaks `schema`, as "path: reason"; empty when it is valid. */
export function validateSchema(schema: Schema, value: unknown): string[] {
  const errors: string[] = [];
  check(schema, value, '$', schema, errors);
  return errors;
}

function check(s: Schema, v: unknown, at: string, root: Schema, errors: string[]): void {
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) errors.push(`${at}: the schema uses "${k}", which this validator does not know`);
  if (typeof s['$ref'] === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s['$ref']);
    const target = m ? (root['$defs'] as Record<string, Schema> | undefined)?.[m[1]!] : undefined;
    if (!target) errors.push(`${at}: unresolved $ref ${s['$ref']}`);
    else check(target, v, at, root, errors);
  }
  const t = typeOf(v);
  if (s['type'] !== undefined) {
    const types = Array.isArray(s['type']) ? (s['type'] as string[]) : [s['type'] as string];
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) {
      errors.push(`${at}: ${String(JSON.stringify(v)).slice(0, 60)} is ${t}, not ${types.join(' or ')}`);
      return;
    }
  }
  if ('const' in s && JSON.stringify(s['const']) !== JSON.stringify(v)) errors.push(`${at}: must be ${JSON.stringify(s['const'])}`);
  if (Array.isArray(s['enum']) && !s['enum'].some((e) => JSON.stringify(e) === JSON.stringify(v))) errors.push(`${at}: must be one of ${JSON.stringify(s['enum'])}`);
  if (typeof v === 'number') {
    if (typeof s['minimum'] === 'number' && v < s['minimum']) errors.push(`${at}: below ${s['minimum']}`);
    if (typeof s['maximum'] === 'number' && v > s['maximum']) errors.push(`${at}: above ${s['maximum']}`);
  }
  if (typeof v === 'string') {
    if (typeof s['minLength'] === 'number' && v.length < s['minLength']) errors.push(`${at}: shorter than ${s['minLength']}`);
    if (typeof s['pattern'] === 'string' && !new RegExp(s['pattern'], 'u').test(v)) errors.push(`${at}: does not match ${s['pattern']}`);
  }
  if (Array.isArray(s['anyOf'])) {
    const fits = (s['anyOf'] as Schema[]).some((alt) => validateSchema({ ...alt, $defs: root['$defs'] }, v).length === 0);
    if (!fits) errors.push(`${at}: matches none of anyOf`);
  }
  if (t === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of (s['required'] as string[] | undefined) ?? []) if (!(r in o)) errors.push(`${at}: "${r}" is missing`);
    const props = (s['properties'] as Record<string, Schema> | undefined) ?? {};
    for (const [k, val] of Object.entries(o)) {
      if (props[k]) check(props[k]!, val, `${at}.${k}`, root, errors);
      else if (s['additionalProperties'] === false) errors.push(`${at}: "${k}" is not in the schema`);
    }
  }
  if (Array.isArray(v) && s['items'] !== undefined) v.forEach((item, i) => check(s['items'] as Schema, item, `${at}[${i}]`, root, errors));
}
