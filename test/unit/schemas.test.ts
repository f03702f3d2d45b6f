/** The role and check schemas come from the kind registries: committed copies are current, and they validate kind parameters. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { checksSchema, roleSchema, schemaText } from '../../src/schema-gen.js';
import { kinds } from '../../src/runbook/kinds/index.js';
import { checkKinds } from '../../src/verify/kinds/index.js';
import { repoRoot } from '../../src/schemas.js';

const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: true });
const role = ajv.compile(roleSchema());
const checks = ajv.compile(checksSchema());
const step = (kind: object) => ({ role: 'r', section: 1, title: 't', steps: [{ id: 's', title: 't', section: '1.1', ...kind }] });
const check = (kind: string, spec: object) => ({ section: 1, title: 't', [kind]: { target: { title: 't', section: '1.1', hint: 'h', ...spec } } });

describe('schemas', () => {
  it.each([
    ['role', roleSchema],
    ['checks', checksSchema],
  ] as const)('schemas/%s.schema.json is the one the registries generate', (name, build) => {
    const committed = readFileSync(join(repoRoot, 'schemas', `${name}.schema.json`), 'utf8');
    expect(committed === schemaText(build()), 'run `npm run schemas` and commit the result').toBe(true);
  });

  it('lists every step kind and every check kind with its own parameters', () => {
    const r = roleSchema() as { $defs: Record<string, { properties?: object }> };
    for (const [k, def] of Object.entries(kinds))
      expect(Object.keys(r.$defs[`kind-${k}`]!.properties!)).toEqual(Object.keys((def.schema as { properties: object }).properties));
    const c = checksSchema() as { $defs: Record<string, { properties: object }> };
    for (const [k, def] of Object.entries(checkKinds))
      expect(Object.keys(c.$defs[`check-${k}`]!.properties)).toEqual(expect.arrayContaining(Object.keys(def.fields)));
  });

  it.each([
    ['a known service step', step({ service: { name: 'postfix', enabled: true, state: 'started' } }), true],
    ['per-platform values and {{ variables }}', step({ package: { names: { el7: ['postfix'], debian12: ['postfix', '{{ extra }}'] } }, timeout: 5 }), true],
    ['a file from a template', step({ file: { path: '/etc/x', template: 'etc/x', mode: '0644' } }), true],
    ['an unknown state', step({ service: { name: 'postfix', state: 'runing' } }), false],
    ['an unknown parameter', step({ postconf: { sett: { a: 'b' } } }), false],
    ['a bad mode', step({ file: { path: '/etc/x', content: '', mode: 'rw-r--r--' } }), false],
  ])('role schema: %s', (_, data, ok) => {
    expect(role(data)).toBe(ok);
  });

  it.each([
    ['a service check', check('service', { active: true, unit: 'postfix' }), true],
    ['per-platform expectations', check('postconf', { matches: { el7: '^2', debian12: '^3' } }), true],
    ['a tcp check without "open"', check('tcp', { port: 25 }), false],
    ['an unknown field', check('service', { activ: true }), false],
  ])('checks schema: %s', (_, data, ok) => {
    expect(checks(data)).toBe(ok);
  });
});
