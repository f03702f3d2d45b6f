/**
 * command: run a shell command when its check says it is needed.
 *   unless: a command that exits 0 when nothing needs doing (checked before and after)
 *   creates: a path that exists when nothing needs doing
 *   readonly: true for commands that only look (postfix check, rsyslogd -N1): they always run and never change anything
 *   always: true for handlers (newaliases, postmap after a change): runs each time it is reached, reports changed
 *   settles: main.cf files the command edits (postmulti): their mtime is set back after it (commands.ts, settle)
 */
import { sh } from '../../host.js';
import { StepError } from '../../errors.js';
import { perform, settle, type RunCommand } from './commands.js';
import { defineKind, run, type KindContext } from './types.js';

export interface CommandParams {
  run: string;
  unless?: string;
  creates?: string;
  readonly?: boolean;
  always?: boolean;
  /** Run as this user (through sudo -u) instead of root. */
  user?: string;
  cwd?: string;
  /** Secrets (by name) handed to the command as environment variables on stdin, never on the command line. */
  secret_env?: string[];
  settles?: string[];
}

function wrap(p: CommandParams, cmd: string): string {
  const inner = p.cwd ? `cd ${sh(p.cwd)} && ${cmd}` : cmd;
  if (p.user) return `sudo -n -H -u ${sh(p.user)} bash -c ${sh(inner)}`;
  return `bash -c ${sh(inner)}`;
}

function probe(p: CommandParams): string | undefined {
  if (p.unless) return p.unless;
  if (p.creates) return `test -e ${sh(p.creates)}`;
  return undefined;
}

/** The main command: secrets reach it through stdin, `read` into the environment, so they never show in ps or logs. */
function main(p: CommandParams): RunCommand {
  if (!p.secret_env?.length) return { run: wrap(p, p.run) };
  const reads = p.secret_env.map((n) => `IFS= read -r ${n.toUpperCase()}; export ${n.toUpperCase()}`).join('; ');
  return { run: wrap(p, `${reads}; ${p.run}`), stdinShown: `the secrets ${p.secret_env.join(', ')}, one a line` };
}

async function runMain(p: CommandParams, ctx: KindContext): Promise<void> {
  const values = (p.secret_env ?? []).map((n) => {
    const v = ctx.secrets[n];
    if (v === undefined)
      throw new StepError(
        ctx.stepId,
        `secret "${n}" is not defined for this lab`,
        'Secrets are generated into .lab/<name>/credentials.json on the first lab:up.',
      );
    return v;
  });
  await perform(ctx, main(p), { stdin: values.length ? values.join('\n') + '\n' : undefined });
}

export const command = defineKind<CommandParams>({
  name: 'command',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['run'],
    properties: {
      run: { type: 'string', minLength: 1 },
      unless: { type: 'string', minLength: 1 },
      creates: { type: 'string', minLength: 1 },
      readonly: { type: 'boolean' },
      always: { type: 'boolean' },
      user: { type: 'string', minLength: 1 },
      cwd: { type: 'string', minLength: 1 },
      secret_env: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
      settles: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^/' } },
    },
  },
  lint(p) {
    const n = [p.unless, p.creates, p.readonly, p.always].filter((x) => x !== undefined && x !== false).length;
    if (n === 0)
      return 'a command step needs "unless", "creates" or "readonly: true" (or, for handlers, "always: true"), so that a second run knows whether it must run again';
    if (n > 1) return 'use only one of "unless", "creates", "readonly" and "always"';
    if (p.settles && p.readonly) return '"settles" is for a command that edits main.cf; a read-only command changes nothing';
    return undefined;
  },
  sameAnswerKey: (p) => (p.readonly && !p.secret_env?.length ? JSON.stringify([p.user ?? '', p.cwd ?? '', p.run]) : undefined),
  commands(p) {
    if (p.readonly) return { check: [main(p)], apply: [] };
    const check = probe(p);
    return { check: check ? [{ run: wrap(p, check) }] : [], apply: [main(p), ...(p.settles ? [settle(p.settles)] : [])] };
  },
  async check(p, ctx) {
    if (p.always) return ctx.phase === 'check' ? { ok: false, detail: 'runs whenever it is reached' } : { ok: true };
    if (p.readonly) {
      await runMain(p, ctx);
      return { ok: true, detail: 'read-only command succeeded' };
    }
    const c = probe(p)!;
    const res = await run(ctx, wrap(p, c), { allowFail: true });
    return res.code === 0 ? { ok: true } : { ok: false, detail: p.creates ? `${p.creates} does not exist` : `check failed: ${c}` };
  },
  async apply(p, ctx) {
    await runMain(p, ctx);
    if (p.settles) await perform(ctx, settle(p.settles));
  },
});
