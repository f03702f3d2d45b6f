/** user: a local account; optionally with a password taken from the lab's secrets (set through stdin, never printed). */
import { sh } from '../../host.js';
import { StepError } from '../../errors.js';
import { perform, type RunCommand } from './commands.js';
import { defineKind, run, type KindContext } from './types.js';

export interface UserParams {
  name: string;
  system?: boolean;
  home?: string;
  shell?: string;
  groups?: string[];
  /** Name of a lab secret holding the password; without it the account has no password (login by key or su only). */
  password_secret?: string;
}

function create(p: UserParams): string {
  const opts = [
    p.system ? '--system' : '',
    '--create-home',
    p.home ? `--home-dir ${sh(p.home)}` : '',
    p.shell ? `--shell ${sh(p.shell)}` : '',
    p.groups?.length ? `--groups ${sh(p.groups.join(','))}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `useradd ${opts} ${sh(p.name)}`;
}

function secret(p: UserParams, ctx: KindContext): string | undefined {
  if (!p.password_secret) return undefined;
  const v = ctx.secrets[p.password_secret];
  if (v === undefined)
    throw new StepError(
      ctx.stepId,
      `secret "${p.password_secret}" is not defined for this lab`,
      'Secrets are generated into .lab/<name>/credentials.json on the first lab:up.',
    );
  return v;
}

// Compares the stored hash with the secret on the host, reading the password from stdin (perl's crypt; perl-base is
// essential on Debian and present wherever rpm-build is).
const passwordMatches = (name: string) =>
  `h=$(getent shadow ${sh(name)} | cut -d: -f2); perl -e 'chomp(my $pw = <STDIN>); exit(crypt($pw, $ARGV[0]) eq $ARGV[0] ? 0 : 1)' "$h"`;

const exists = (p: UserParams): RunCommand => ({ run: `getent passwd ${sh(p.name)} >/dev/null`, sudo: false });
const samePassword = (p: UserParams): RunCommand => ({
  run: `sh -c ${sh(passwordMatches(p.name))}`,
  stdinShown: `the secret ${p.password_secret}`,
  learner: `sudo passwd --status ${sh(p.name)}`,
});
const setPassword = (p: UserParams): RunCommand => ({
  run: 'chpasswd',
  stdinShown: `${p.name}:<secret ${p.password_secret}>`,
  // it asks twice; the lab's value of the secret is in .lab/<lab>/credentials.json (never printed)
  learner: `sudo passwd ${sh(p.name)}  # type the lab's ${p.password_secret} (from .lab/<lab>/credentials.json) twice`,
});

export const user = defineKind<UserParams>({
  name: 'user',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[a-z_][a-z0-9_-]*$' },
      system: { type: 'boolean' },
      home: { type: 'string', pattern: '^/' },
      shell: { type: 'string', pattern: '^/' },
      groups: { type: 'array', items: { type: 'string', pattern: '^[a-z_][a-z0-9_-]*$' } },
      password_secret: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
    },
  },
  commands: (p) => ({
    check: [exists(p), ...(p.password_secret ? [samePassword(p)] : [])],
    apply: [{ run: create(p) }, ...(p.password_secret ? [setPassword(p)] : [])],
  }),
  async check(p, ctx) {
    const found = await run(ctx, exists(p).run, { allowFail: true, sudo: false });
    if (found.code !== 0) return { ok: false, detail: `user ${p.name} does not exist` };
    const pw = secret(p, ctx);
    if (pw !== undefined) {
      const res = await run(ctx, samePassword(p).run, { allowFail: true, stdin: `${pw}\n` });
      if (res.code !== 0) return { ok: false, detail: `password of ${p.name} is not the lab's` };
    }
    return { ok: true };
  },
  async apply(p, ctx, before) {
    if (before.detail?.endsWith('does not exist')) await perform(ctx, { run: create(p) });
    const pw = secret(p, ctx);
    if (pw !== undefined) await perform(ctx, setPassword(p), { stdin: `${p.name}:${pw}\n` });
  },
});
