/**
 * line: ensure one line in a file. With `regexp`, the line matching it is replaced, exactly once
 * (further matches are removed); without a match the line is added (after `insertafter` when given, else at the end).
 * state: absent removes every line matching `regexp` (or equal to `line`).
 */
import { StepError } from '../../errors.js';
import { sh } from '../../host.js';
import { defineKind } from './types.js';
import { readCommands, readText, unifiedDiff, writeCommands, writeText } from './remote-file.js';

export interface LineParams {
  path: string;
  line?: string;
  regexp?: string;
  insertafter?: string;
  state?: 'present' | 'absent';
  create?: boolean;
  /** Keep the original once as PATH.orig (default true; false where a folder reads every file, e.g. /etc/cron.d). */
  backup?: boolean;
}

export function editLines(content: string, p: LineParams): string {
  const endsNl = content === '' || content.endsWith('\n');
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  const re = p.regexp ? new RegExp(p.regexp) : undefined;
  const matches = (l: string) => (re ? re.test(l) : l === p.line);
  if (p.state === 'absent') {
    const kept = lines.filter((l) => !matches(l));
    return kept.length ? kept.join('\n') + '\n' : '';
  }
  const line = p.line!;
  const first = lines.findIndex(matches);
  let out: string[];
  if (first >= 0) {
    out = lines.filter((l, i) => i === first || !matches(l));
    out[out.indexOf(lines[first]!)] = line;
  } else if (lines.includes(line)) {
    out = lines;
  } else if (p.insertafter) {
    const after = new RegExp(p.insertafter);
    let at = -1;
    lines.forEach((l, i) => {
      if (after.test(l)) at = i;
    });
    out = at >= 0 ? [...lines.slice(0, at + 1), line, ...lines.slice(at + 1)] : [...lines, line];
  } else {
    out = [...lines, line];
  }
  return out.join('\n') + (out.length && (endsNl || first < 0) ? '\n' : '');
}

/**
 * The same edit as one command a learner can paste: perl (in every Debian and EL base system) edits the file in
 * place with editLines' rules; the values travel in the environment, so no quoting of the line or regexp leaks into
 * the program. A unit test runs it against editLines on sample files.
 */
export function perlEdit(p: LineParams): string {
  const env = [`RE=${sh(p.regexp ?? '')}`, `LINE=${sh(p.line ?? '')}`, ...(p.insertafter ? [`AFTER=${sh(p.insertafter)}`] : [])].join(' ');
  const re = 'my $re = length $ENV{RE} ? qr/$ENV{RE}/ : qr/^\\Q$ENV{LINE}\\E$/; my @l = split /\\n/;';
  const out = '$_ = join "", map { "$_\\n" } @l;';
  const body =
    p.state === 'absent'
      ? `${re} @l = grep { !/$re/ } @l; ${out}`
      : `${re} my $n = 0; @l = map { /$re/ ? ($n++ ? () : $ENV{LINE}) : $_ } @l; ` +
        (p.insertafter
          ? 'unless ($n) { my ($i) = grep { $l[$_] =~ /$ENV{AFTER}/ } reverse 0 .. $#l; if (defined $i) { splice @l, $i + 1, 0, $ENV{LINE} } else { push @l, $ENV{LINE} } } '
          : 'push @l, $ENV{LINE} unless $n; ') +
        out;
  return `${p.create ? `sudo touch ${sh(p.path)} && ` : ''}sudo env ${env} perl -0777 -i -pe ${sh(body)} ${sh(p.path)}`;
}

export const line = defineKind<LineParams>({
  name: 'line',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', pattern: '^/' },
      line: { type: 'string' },
      regexp: { type: 'string', minLength: 1 },
      insertafter: { type: 'string', minLength: 1 },
      state: { enum: ['present', 'absent'] },
      create: { type: 'boolean' },
      backup: { type: 'boolean' },
    },
  },
  lint(p) {
    if ((p.state ?? 'present') === 'present' && p.line === undefined) return 'a line step needs "line" (or state: absent with "regexp")';
    if (p.state === 'absent' && !p.regexp && p.line === undefined) return 'state: absent needs "regexp" or "line"';
    for (const r of [p.regexp, p.insertafter]) {
      if (r)
        try {
          new RegExp(r);
        } catch (e) {
          return `invalid regular expression ${JSON.stringify(r)}: ${(e as Error).message}`;
        }
    }
    if (p.regexp && p.line !== undefined && !new RegExp(p.regexp).test(p.line)) {
      return `"line" does not match "regexp", so a second run would add it again; make the regexp match the new line too`;
    }
    return undefined;
  },
  commands(p) {
    const what =
      p.state === 'absent'
        ? `remove lines matching ${p.regexp ?? p.line}`
        : `ensure line ${JSON.stringify(p.line)}${p.regexp ? ` (replacing /${p.regexp}/)` : ''}`;
    const apply = writeCommands(p.path, {}, p.backup ?? true, `${what} in ${p.path}`);
    apply[apply.length - 1] = { ...apply.at(-1)!, learner: perlEdit(p) };
    return { check: readCommands(p.path, {}), apply };
  },
  async check(p, ctx) {
    const current = await readText(ctx, p.path);
    if (current === null) {
      if (p.state === 'absent') return { ok: true };
      if (!p.create) throw new StepError(ctx.stepId, `${p.path} does not exist`, 'Install the package that provides it first, or set create: true.');
    }
    const next = editLines(current ?? '', p);
    return next === current ? { ok: true } : { ok: false, detail: `${p.path} needs a change`, diff: unifiedDiff(p.path, current, next) };
  },
  async apply(p, ctx) {
    const current = (await readText(ctx, p.path)) ?? '';
    await writeText(ctx, p.path, editLines(current, p), {}, p.backup ?? true);
  },
});
