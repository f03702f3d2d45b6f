/** Reading and writing whole files for the file, line and master kinds: original kept once, diff shown. */
import { createTwoFilesPatch } from 'diff';
import { sh } from '../host.js';
import { run, type KindContext } from './types.js';

export interface Attrs { mode?: string; owner?: string; group?: string }

export async function readText(ctx: KindContext, path: string): Promise<string | null> {
  const buf = await ctx.host.get(path, { sudo: ctx.sudo });
  return buf === null ? null : buf.toString('utf8');
}

/** Attributes that differ from the wanted ones, in words; empty when they match. */
export async function attrDiffs(ctx: KindContext, path: string, want: Attrs): Promise<string[]> {
  if (!want.mode && !want.owner && !want.group) return [];
  const res = await run(ctx, `stat -c '%a %U %G' ${sh(path)}`, { allowFail: true });
  if (res.code !== 0) return [`${path} does not exist`];
  const [mode, owner, group] = res.stdout.trim().split(' ');
  const out: string[] = [];
  if (want.mode && Number.parseInt(want.mode, 8) !== Number.parseInt(mode ?? '', 8)) out.push(`mode ${mode} should be ${want.mode}`);
  if (want.owner && want.owner !== owner) out.push(`owner ${owner} should be ${want.owner}`);
  if (want.group && want.group !== group) out.push(`group ${group} should be ${want.group}`);
  return out;
}

export function unifiedDiff(path: string, before: string | null, after: string): string {
  return createTwoFilesPatch(before === null ? '/dev/null' : `${path}.orig`, path, before ?? '', after, '', '', { context: 2 })
    .split('\n').slice(1).map((l) => (l.startsWith('---') || l.startsWith('+++') ? l.trimEnd() : l)).join('\n').trimEnd();
}

/** Write content (keeping the original once as PATH.orig), then set attributes. */
export async function writeText(ctx: KindContext, path: string, content: string, want: Attrs, backup = true): Promise<void> {
  if (backup) await run(ctx, `if [ -e ${sh(path)} ] && [ ! -e ${sh(path + '.orig')} ]; then cp -p ${sh(path)} ${sh(path + '.orig')}; fi`);
  await ctx.host.put(path, content, {
    sudo: ctx.sudo,
    mode: want.mode ? Number.parseInt(want.mode, 8) : undefined,
    owner: want.owner,
    group: want.group,
    job: ctx.job?.(),
  });
}

export const attrSchema = {
  mode: { type: 'string', pattern: '^0?[0-7]{3,4}$', description: 'Octal mode as a string, e.g. "0644".' },
  owner: { type: 'string', minLength: 1 },
  group: { type: 'string', minLength: 1 },
} as const;
