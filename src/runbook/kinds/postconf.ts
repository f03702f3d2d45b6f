/** postconf: main.cf parameters set or removed, for the default instance or a postmulti instance. */
import { sh } from '../../host.js';
import { postconf as postconfCmd, postconfSet } from '../../probes/postconf.js';
import { perform, type Commands, type RunCommand } from './commands.js';
import { asker, defineKind } from './types.js';

export { parseSettings } from '../../probes/postconf.js';

export interface PostconfParams {
  instance?: string;
  set?: Record<string, string>;
  remove?: string[];
}

const postconf = (p: PostconfParams, args: string) => postconfCmd(p.instance, args);
const norm = (v: string) => v.trim().replace(/\s+/g, ' ');

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

function commands(p: PostconfParams): Commands {
  const apply: RunCommand[] = [];
  const sets = Object.entries(p.set ?? {}).map(([k, v]) => sh(`${k}=${v}`));
  if (sets.length) apply.push({ run: postconf(p, `-e ${sets.join(' ')}`) });
  if (p.remove?.length) apply.push({ run: postconf(p, `-X ${p.remove.join(' ')}`) });
  return { check: [{ run: postconfSet.command({ instance: p.instance, names: names(p) }) }], apply };
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
  commands,
  async check(p, ctx) {
    // `postconf -n NAME...` prints only the names that main.cf sets; one round trip for all of them.
    const diffs = differences(p, await postconfSet(asker(ctx), { instance: p.instance, names: names(p) }));
    return diffs.length ? { ok: false, detail: diffs.join('; ') } : { ok: true };
  },
  async apply(p, ctx) {
    for (const cmd of commands(p).apply) await perform(ctx, cmd as RunCommand);
  },
});
