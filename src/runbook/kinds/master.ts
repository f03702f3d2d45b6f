/** master: service entries in master.cf (one per service/type), each -o on its own indented line. */
import { defineKind } from './types.js';
import { readCommands, readText, unifiedDiff, writeCommands, writeText } from './remote-file.js';
import { StepError } from '../../errors.js';
import { sh } from '../../host.js';

export interface MasterService {
  service: string;
  type: 'inet' | 'unix' | 'fifo' | 'pass' | 'unix-dgram';
  private?: string;
  unpriv?: string;
  chroot?: string;
  wakeup?: string;
  maxproc?: string;
  command: string;
  args?: string[];
  state?: 'present' | 'absent';
}

export interface MasterParams {
  instance?: string;
  services: MasterService[];
  /** Keep the original once as master.cf.orig (default true). */
  backup?: boolean;
}

interface Entry {
  start: number;
  end: number;
  fields: string[];
}

/** Entries of master.cf: a line starting in column 0 opens one; indented lines continue it. */
export function parseMaster(text: string): { lines: string[]; entries: Entry[] } {
  const lines = text.replace(/\n$/, '').split('\n');
  const entries: Entry[] = [];
  lines.forEach((l, i) => {
    if (/^\s*(#|$)/.test(l)) return;
    const last = entries[entries.length - 1];
    if (/^\s/.test(l) && last && last.end === i - 1) {
      last.end = i;
      last.fields.push(...l.trim().split(/\s+/));
    } else if (!/^\s/.test(l)) {
      entries.push({ start: i, end: i, fields: l.trim().split(/\s+/) });
    }
  });
  return { lines, entries };
}

export function renderService(s: MasterService): string[] {
  const f = [s.service, s.type, s.private ?? '-', s.unpriv ?? '-', s.chroot ?? '-', s.wakeup ?? '-', s.maxproc ?? '-'];
  const head = f.map((x, i) => (i < 2 ? x.padEnd(i === 0 ? 10 : 5) : x.padEnd(7))).join(' ') + ' ' + s.command;
  return [head.replace(/\s+$/, ''), ...(s.args ?? []).map((a) => `  ${a}`)];
}

const tokens = (s: MasterService) => [
  s.service,
  s.type,
  s.private ?? '-',
  s.unpriv ?? '-',
  s.chroot ?? '-',
  s.wakeup ?? '-',
  s.maxproc ?? '-',
  s.command,
  ...(s.args ?? []).flatMap((a) => a.trim().split(/\s+/)),
];

export function editMaster(text: string, services: MasterService[]): string {
  let { lines, entries } = parseMaster(text);
  for (const s of services) {
    const idx = entries.findIndex((e) => e.fields[0] === s.service && e.fields[1] === s.type);
    const want = renderService(s);
    const e = entries[idx];
    if (s.state === 'absent') {
      if (e) lines = [...lines.slice(0, e.start), ...lines.slice(e.end + 1)];
    } else if (e) {
      if (e.fields.join(' ') === tokens(s).join(' ')) continue;
      lines = [...lines.slice(0, e.start), ...want, ...lines.slice(e.end + 1)];
    } else {
      lines = [...lines, ...want];
    }
    ({ lines, entries } = parseMaster(lines.join('\n') + '\n'));
  }
  return lines.join('\n') + '\n';
}

const masterPath = (p: MasterParams) => `/etc/${p.instance ?? 'postfix'}/master.cf`;

/** The same edit as `postconf -M` commands: one per service, the whole entry on one line (postconf folds it). */
export function postconfLines(p: MasterParams): string[] {
  const c = p.instance ? ` -c ${sh(`/etc/${p.instance}`)}` : '';
  return p.services.map((s) =>
    s.state === 'absent'
      ? `sudo postconf${c} -MX ${sh(`${s.service}/${s.type}`)}`
      : `sudo postconf${c} -M ${sh(`${s.service}/${s.type}=${tokens(s).join(' ')}`)}`,
  );
}

export const master = defineKind<MasterParams>({
  name: 'master',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['services'],
    properties: {
      instance: { type: 'string', pattern: '^postfix-[a-z0-9-]+$' },
      backup: { type: 'boolean' },
      services: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['service', 'type', 'command'],
          properties: {
            service: { type: 'string', pattern: '^[A-Za-z0-9_.:\\[\\]-]+$' },
            type: { enum: ['inet', 'unix', 'fifo', 'pass', 'unix-dgram'] },
            private: { enum: ['y', 'n', '-'] },
            unpriv: { enum: ['y', 'n', '-'] },
            chroot: { enum: ['y', 'n', '-'] },
            wakeup: { type: 'string', pattern: '^(-|\\d+\\??)$' },
            maxproc: { type: 'string', pattern: '^(-|\\d+)$' },
            command: { type: 'string', minLength: 1 },
            args: {
              type: 'array',
              items: {
                type: 'string',
                pattern: '^-o [a-z0-9_]+=\\S*$|^[^\\s:]',
                description: 'Each argument is "-o name=value" (no explanatory text: it would become an smtpd argument).',
              },
            },
            state: { enum: ['present', 'absent'] },
          },
        },
      },
    },
  },
  commands(p, platform) {
    const what = p.services.map((s) => (s.state === 'absent' ? `remove ${s.service}/${s.type}` : `set ${renderService(s).join(' \\n ')}`)).join('; ');
    const apply = writeCommands(masterPath(p), {}, p.backup ?? true, `in ${masterPath(p)}: ${what}`);
    // Postfix 2.11 and later edit master.cf entries themselves (postconf -M name/type=entry, -MX to remove): that
    // is what a learner types. Postfix 2.10 (el7) cannot, so there the learner edits the file with the lines shown.
    if (platform !== 'el7') {
      const write = apply.at(-1)!;
      apply[apply.length - 1] = { ...write, learner: postconfLines(p).join('\n') };
    }
    return { check: readCommands(masterPath(p), {}), apply };
  },
  async check(p, ctx) {
    const current = await readText(ctx, masterPath(p));
    if (current === null)
      throw new StepError(ctx.stepId, `${masterPath(p)} does not exist`, 'Postfix (or the instance) must be installed before its master.cf is edited.');
    const next = editMaster(current, p.services);
    return next === current ? { ok: true } : { ok: false, detail: `${masterPath(p)} needs a change`, diff: unifiedDiff(masterPath(p), current, next) };
  },
  async apply(p, ctx) {
    const current = (await readText(ctx, masterPath(p))) ?? '';
    await writeText(ctx, masterPath(p), editMaster(current, p.services), {}, p.backup ?? true);
  },
});
