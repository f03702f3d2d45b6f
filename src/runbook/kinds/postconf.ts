/** postconf: main.cf parameters set or removed, for the default instance or a postmulti instance. */
import { sh } from '../../host.js';
import { defineKind, run } from './types.js';

export interface PostconfParams {
  instance?: string;
  set?: Record<string, string>;
  remove?: string[];
}

function postconf(p: PostconfParams, args: string): string {
  return p.instance ? `postmulti -i ${sh(p.instance)} -x postconf ${args}` : `postconf ${args}`;
}

const norm = (v: string) => v.trim().replace(/\s+/g, ' ');

/** Parse `postconf -n` output ("name = value") into a map. */
export function parseSettings(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of out.split('\n')) {
    const i = l.indexOf(' = ');
    if (i > 0) m.set(l.slice(0, i).trim(), norm(l.slice(i + 3)));
    else if (l.trim().endsWith(' =')) m.set(l.trim().slice(0, -2).trim(), '');
  }
  return m;
}

export function differences(p: PostconfParams, current: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(p.set ?? {})) {
    const now = current.get(k);
    if (now === undefined || now !== norm(v)) out.push(`${k} = ${now ?? '(default)'} -> ${norm(v)}`);
  }
  for (const k of p.remove ?? []) if (current.has(k)) out.push(`${k} set, should be removed`);
  return out;
}

function names(p: PostconfParams): string[] {
  return [...Object.keys(p.set ?? {}), ...(p.remove ?? [])];
}

export const postconfKind = defineKind<PostconfParams>({
  name: 'postconf',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      instance: { type: 'string', pattern: '^postfix-[a-z0-9-]+$' },
      set: { type: 'object', minProperties: 1, additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[a-z0-9_]+$' } },
      remove: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z0-9_]+$' } },
    },
  },
  lint: (p) => (names(p).length === 0 ? 'a postconf step needs "set" or "remove"' : undefined),
  describe(p) {
    const apply: string[] = [];
    const sets = Object.entries(p.set ?? {}).map(([k, v]) => sh(`${k}=${v}`));
    if (sets.length) apply.push(postconf(p, `-e ${sets.join(' ')}`));
    if (p.remove?.length) apply.push(postconf(p, `-X ${p.remove.join(' ')}`));
    return { check: [postconf(p, `-n ${names(p).join(' ')}`)], apply };
  },
  async check(p, ctx) {
    // `postconf -n NAME...` prints only the names that main.cf sets; one round trip for all of them.
    const res = await run(ctx, postconf(p, `-n ${names(p).join(' ')}`), { allowFail: true });
    const diffs = differences(p, parseSettings(res.stdout));
    return diffs.length ? { ok: false, detail: diffs.join('; ') } : { ok: true };
  },
  async apply(p, ctx) {
    for (const cmd of this.describe(p, ctx.platform).apply) await run(ctx, cmd);
  },
});
