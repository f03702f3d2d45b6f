/**
 * postconf: main.cf parameters set or removed, for the default instance or a postmulti instance.
 * The check reads main.cf itself instead of asking `postconf -n`: Postfix's config reader waits for a file changed
 * in the last ~2 seconds to "cool down" (300 ms naps), so a `postconf -n` right after a `postconf -e` took 1.6-2 s,
 * and every postconf step paid it in its recheck (and the next one in its check).
 * The wait is an mtime test (commands.ts, settle): after its own edit the step sets main.cf's mtime 3 s back, so
 * the next Postfix command (`postfix check`, postmulti, a reload, the runbook's `postconf -h` checks) reads it at
 * once. The content is what counts, and the check reads the content.
 */
import { sh } from '../../host.js';
import { mainCfPath, parseMainCf, postconf as postconfCmd, postconfSet } from '../../probes/postconf.js';
import { perform, settle, type Commands, type ReadCommand, type RunCommand } from './commands.js';
import { defineKind } from './types.js';

export { mainCfPath, parseMainCf, parseSettings } from '../../probes/postconf.js';

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

function commands(p: PostconfParams): Commands & { check: [ReadCommand]; apply: RunCommand[] } {
  const apply: RunCommand[] = [];
  const sets = Object.entries(p.set ?? {}).map(([k, v]) => sh(`${k}=${v}`));
  if (sets.length) apply.push({ run: postconf(p, `-e ${sets.join(' ')}`) });
  if (p.remove?.length) apply.push({ run: postconf(p, `-X ${p.remove.join(' ')}`) });
  apply.push(settle([mainCfPath(p.instance)]));
  // A learner asks Postfix (postconf -n NAME...); the step reads the file, which answers the same without the wait.
  return { check: [{ read: mainCfPath(p.instance), learner: postconfSet.command({ instance: p.instance, names: names(p) }) }], apply };
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
    // One read of the file (SFTP; through sudo only where the lab user cannot read it); no Postfix process.
    const path = commands(p).check[0].read;
    const text = await ctx.host.get(path).catch(() => ctx.host.get(path, { sudo: ctx.sudo }));
    const diffs = differences(p, parseMainCf(text?.toString('utf8') ?? ''));
    return diffs.length ? { ok: false, detail: diffs.join('; ') } : { ok: true };
  },
  async apply(p, ctx) {
    // `postconf -e`/`-X` edit main.cf without the cool-down wait (they do not read it back); then the mtime is set
    // back, so the next Postfix command does not wait; the check after them reads the file.
    for (const c of commands(p).apply) await perform(ctx, c);
  },
});
