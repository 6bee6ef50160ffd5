// The JSON Schemas of man/schemas/, loaded by name, and the one small validator the project has
// for them: the reference central's (examples/central/json-schema.ts), which checks heartbeats
// against the very schema the man page publishes. An unknown keyword is an error there, so a
// schema can never use one that would be silently ignored.

import fs from 'node:fs';
import path from 'node:path';
import { validateSchema, type Schema } from '../../examples/central/json-schema.js';
import { REPO_ROOT } from './tmp.js';

export function loadSchema(name: string): Schema {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'man', 'schemas', `${name}.schema.json`), 'utf8')) as Schema;
}

/** Every way `value` breaks `schema`, as "path: reason" lines; empty when it is valid. */
export function validate(schema: Schema, value: unknown): string[] {
  return validateSchema(schema, value);
}
