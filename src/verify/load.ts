/** Reading the checks: verify/<N>-<name>.yaml, kind -> target -> check, with positions in every error. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Platform } from '../lab/lab-file.js';
import { substitute } from '../runbook/plan.js';
import { loadSchema, repoRoot } from '../schemas.js';
import { positionOf, readYaml, validate } from '../yaml-load.js';
import { checkKinds } from './kinds/index.js';

export interface Check {
  id: string;
  kind: string;
  target: string;
  section: string;
  title: string;
  hint: string;
  retry?: { timeout?: number; interval?: number };
  /** About how long the probe takes where it passes, when the kind's own figure is wrong for this check. */
  seconds?: number;
  spec: Record<string, unknown>;
  at: string;
}

export interface CheckFile {
  section: number;
  title: string;
  title_ja?: string;
  checks: Check[];
}

export const defaultChecksDir = process.env.POSTFIX_LAB_CHECKS ?? join(repoRoot, 'verify');
const COMMON = ['title', 'section', 'hint', 'platforms', 'retry', 'seconds'];

/** One schema object per check kind, so that ajv compiles each once (validate() caches by the schema object). */
const kindSchemas = new WeakMap<object, object>();
function kindSchema(kind: { required?: string[]; fields: Record<string, unknown> }): object {
  let s = kindSchemas.get(kind);
  if (!s) {
    s = {
      type: 'object',
      additionalProperties: false,
      required: kind.required ?? [],
      properties: { ...Object.fromEntries(COMMON.map((k) => [k, {}])), ...kind.fields },
    };
    kindSchemas.set(kind, s);
  }
  return s;
}

export function loadChecks(platform: Platform, vars: Record<string, string | number | boolean>, dir = defaultChecksDir): CheckFile[] {
  if (!existsSync(dir)) throw new InputError(`no checks folder at ${dir}`, 'Run from a checkout of postfix-lab; the checks live in verify/.');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const schema = loadSchema('checks');
  return files.map((name) => {
    const file = readYaml(join(dir, name));
    validate(file, schema);
    const data = file.data as Record<string, unknown> & { section: number; title: string; title_ja?: string };
    const checks: Check[] = [];
    for (const [kindName, targets] of Object.entries(data)) {
      const kind = checkKinds[kindName];
      if (!kind) continue;
      for (const [target, raw] of Object.entries(targets as Record<string, Record<string, unknown>>)) {
        const at = positionOf(file, [kindName, target]);
        const platforms = raw.platforms as Platform[] | undefined;
        if (platforms && !platforms.includes(platform)) continue;
        const resolved = substitute(raw, { ...vars, token: '{{token}}' }, platform, at) as Record<string, unknown>;
        validate(file, kindSchema(kind), resolved, [kindName, target]);
        const { title, section, hint, retry, seconds, platforms: _p, ...spec } = resolved as Record<string, unknown>;
        checks.push({
          id: `${data.section}/${kindName}/${target}`,
          kind: kindName,
          target,
          section: String(section),
          title: String(title),
          hint: String(hint),
          retry: retry as Check['retry'],
          seconds: seconds as number | undefined,
          spec,
          at,
        });
      }
    }
    return { section: data.section, title: data.title, title_ja: data.title_ja, checks };
  });
}
