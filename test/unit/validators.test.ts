import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { validatorCache } from '../../src/validators.js';

const options = { allErrors: false, verbose: true, strict: true, allowUnionTypes: true };
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[a-z]+$', description: 'Lower-case letters only.' }, port: { type: 'integer' } },
};

const folders: string[] = [];
function folder(): string {
  const f = mkdtempSync(join(tmpdir(), 'plab-validators-'));
  folders.push(f);
  return f;
}
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/** What a person is shown comes from these fields (src/yaml-load.ts). */
function errorsOf(fn: ReturnType<ReturnType<typeof validatorCache>['compile']>, data: unknown) {
  expect(fn(data)).toBe(false);
  return (fn.errors ?? []).map((e) => ({
    instancePath: e.instancePath,
    keyword: e.keyword,
    params: e.params,
    message: e.message,
    description: (e.parentSchema as { description?: string } | undefined)?.description,
  }));
}

describe('validators kept between runs', () => {
  it('a later run loads the saved validator, which accepts and refuses exactly as the compiled one', () => {
    const dir = folder();
    const first = validatorCache(options, dir);
    const compiled = first.compile(schema);
    expect([first.compiled, first.loaded]).toEqual([1, 0]);
    expect(readdirSync(dir)).toHaveLength(1);

    const second = validatorCache(options, dir);
    const loaded = second.compile(schema);
    expect([second.compiled, second.loaded]).toEqual([0, 1]);
    expect(loaded(structuredClone({ name: 'ok', port: 25 }))).toBe(true);
    for (const bad of [{ name: 'Not OK' }, { port: 25 }, { name: 'ok', port: 'x' }, { name: 'ok', extra: 1 }]) {
      expect(errorsOf(loaded, bad)).toEqual(errorsOf(compiled, bad));
    }
    expect(errorsOf(loaded, { name: 'Not OK' })[0]).toMatchObject({ keyword: 'pattern', description: 'Lower-case letters only.' });
  });

  it('a changed schema or other options are compiled anew, never answered by a saved one', () => {
    const dir = folder();
    validatorCache(options, dir).compile(schema);
    const changed = { ...schema, properties: { ...schema.properties, port: { type: 'string' } } };
    const again = validatorCache(options, dir);
    const fn = again.compile(changed);
    expect([again.compiled, again.loaded]).toEqual([1, 0]);
    expect(fn({ name: 'ok', port: 'x' })).toBe(true);
    const other = validatorCache({ ...options, allErrors: true }, dir);
    other.compile(schema);
    expect(other.compiled).toBe(1);
    expect(readdirSync(dir)).toHaveLength(3);
  });

  it('a folder that cannot be made only costs the compile: validation is the same, each run', () => {
    const file = join(folder(), 'a-file');
    writeFileSync(file, '');
    const where = join(file, 'validators'); // under a regular file: no one, root included, can make it
    for (let run = 0; run < 2; run++) {
      const cache = validatorCache(options, where);
      const fn = cache.compile(schema);
      expect([cache.compiled, cache.loaded]).toEqual([1, 0]);
      expect(fn({ name: 'ok' })).toBe(true);
      expect(fn({ name: 'Bad' })).toBe(false);
    }
  });
});
