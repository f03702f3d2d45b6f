/** JSON Schemas kept in the repo (schemas/), loaded once. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const cache = new Map<string, object>();
export function loadSchema(name: string): object {
  let s = cache.get(name);
  if (!s) {
    s = JSON.parse(readFileSync(new URL(`../schemas/${name}.schema.json`, import.meta.url), 'utf8')) as object;
    cache.set(name, s);
  }
  return s;
}
