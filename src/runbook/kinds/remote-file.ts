/** Reading and writing whole files for the file, line and master kinds: original kept once, diff shown. */
import { createTwoFilesPatch } from 'diff';
import { sh } from '../../host.js';
import { asker, type KindContext } from './types.js';
import { fileStat, fileText } from '../../probes/file.js';
import { type Command, perform, type PutCommand, type RunCommand } from './commands.js';

export interface Attrs {
  mode?: string;
  owner?: string;
  group?: string;
}

export async function readText(ctx: KindContext, path: string): Promise<string | null> {
  return fileText(ctx.host, path, ctx.sudo);
}

/** Attributes that differ from the wanted ones, in words; empty when they match. */
export async function attrDiffs(ctx: KindContext, path: string, want: Attrs): Promise<string[]> {
  if (!want.mode && !want.owner && !want.group) return [];
  const st = await fileStat(asker(ctx), path);
  if (!st) return [`${path} does not exist`];
  const { mode, owner, group } = st;
  const out: string[] = [];
  if (want.mode && Number.parseInt(want.mode, 8) !== Number.parseInt(mode, 8)) out.push(`mode ${mode} should be ${want.mode}`);
  if (want.owner && want.owner !== owner) out.push(`owner ${owner} should be ${want.owner}`);
  if (want.group && want.group !== group) out.push(`group ${group} should be ${want.group}`);
  return out;
}

export function unifiedDiff(path: string, before: string | null, after: string): string {
  return createTwoFilesPatch(before === null ? '/dev/null' : `${path}.orig`, path, before ?? '', after, '', '', { context: 2 })
    .split('\n')
    .slice(1)
    .map((l) => (l.startsWith('---') || l.startsWith('+++') ? l.trimEnd() : l))
    .join('\n')
    .trimEnd();
}

/** How a file is checked: read whole, and its attributes when the step sets any. */
export function readCommands(path: string, want: Attrs): Command[] {
  return [{ read: path }, ...(want.mode || want.owner || want.group ? [{ run: fileStat.command(path) }] : [])];
}

/** How a file is written: the original kept once as PATH.orig, then the whole file with its attributes. */
export function writeCommands(path: string, want: Attrs, backup: boolean, shown: string, content?: string): (RunCommand | PutCommand)[] {
  const keep: RunCommand = {
    run: `if [ -e ${sh(path)} ] && [ ! -e ${sh(path + '.orig')} ]; then cp -p ${sh(path)} ${sh(path + '.orig')}; fi`,
    learner: `sudo test -e ${sh(path)} && sudo cp -pn ${sh(path)} ${sh(path + '.orig')}`,
  };
  return [...(backup ? [keep] : []), { put: path, content, mode: want.mode, owner: want.owner, group: want.group, shown }];
}

/** Write content (keeping the original once as PATH.orig), then set attributes: the entries of writeCommands(). */
export async function writeText(ctx: KindContext, path: string, content: string, want: Attrs, backup = true): Promise<void> {
  for (const c of writeCommands(path, want, backup, '', content)) await perform(ctx, c);
}

export const attrSchema = {
  mode: { type: 'string', pattern: '^0?[0-7]{3,4}$', description: 'Octal mode as a string, e.g. "0644".' },
  owner: { type: 'string', minLength: 1 },
  group: { type: 'string', minLength: 1 },
} as const;
