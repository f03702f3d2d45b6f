/**
 * postconf: main.cf parameters set or removed, for the default instance or a postmulti instance.
 * The check reads main.cf itself instead of asking `postconf -n`: Postfix's config reader waits for a file changed
 * in the last ~2 seconds to "cool down" (300 ms naps), so a `postconf -n` right after a `postconf -e` took 1.6-2 s,
 * and every postconf step paid it in its recheck (and the next one in its check).
 */
import { sh } from '../host.js';
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

/** The main.cf a step edits: postmulti creates an instance's config directory as /etc/<instance>. */
export function mainCfPath(p: PostconfParams): string {
  return `/etc/${p.instance ?? 'postfix'}/main.cf`;
}

/**
 * main.cf as Postfix reads it (postconf(5)): blank lines and lines whose first non-blank character is # are
 * ignored, a line that starts with whitespace continues the previous one, the last setting of a name wins.
 * The same map `postconf -n` would print, without running Postfix.
 */
export function parseMainCf(text: string): Map<string, string> {
  const logical: string[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim() || l.trim().startsWith('#')) continue;
    if (/^\s/.test(l) && logical.length) logical[logical.length - 1] += ' ' + l.trim();
    else logical.push(l);
  }
  const m = new Map<string, string>();
  for (const l of logical) {
    const i = l.indexOf('=');
    if (i > 0) m.set(l.slice(0, i).trim(), norm(l.slice(i + 1)));
  }
  return m;
}

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
    return { check: [`read ${mainCfPath(p)}`], apply };
  },
  async check(p, ctx) {
    // One read of the file (SFTP; through sudo only where the lab user cannot read it); no Postfix process.
    const path = mainCfPath(p);
    const text = await ctx.host.get(path).catch(() => ctx.host.get(path, { sudo: ctx.sudo }));
    const diffs = differences(p, parseMainCf(text?.toString('utf8') ?? ''));
    return diffs.length ? { ok: false, detail: diffs.join('; ') } : { ok: true };
  },
  async apply(p, ctx) {
    // Set and remove in one exec (`postconf -e`/`-X` edit main.cf without the cool-down wait).
    await run(ctx, this.describe(p, ctx.platform).apply.join(' && '));
  },
});
