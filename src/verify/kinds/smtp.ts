/**
 * smtp: an SMTP dialogue from outside, as a learner's mail client would have it: banner, EHLO capabilities,
 * STARTTLS, commands with expected replies, AUTH with the lab user's password (or a wrong one).
 */
import { SmtpSession } from '../probes/index.js';
import { fail, pass, type CheckKind, type VerifyContext } from '../types.js';

export type DialogueStep =
  | { ehlo: string; has?: string[]; lacks?: string[] }
  | { starttls: true }
  | { send: string; expect: string }
  | { auth: { mechanism: 'plain' | 'login'; password: 'lab' | 'wrong' }; expect: string };

export interface SmtpSpec {
  port: number;
  tls?: 'none' | 'implicit';
  banner?: string;
  dialogue: DialogueStep[];
  timeout?: number;
}

/** "AUTH PLAIN" means AUTH offered with mechanism PLAIN; plain words are EHLO keywords. */
function offers(ehlo: { capabilities: string[]; authMechanisms: string[] }, want: string): boolean {
  const [kw, mech] = want.toUpperCase().split(/\s+/);
  if (!ehlo.capabilities.includes(kw!)) return false;
  return mech ? ehlo.authMechanisms.includes(mech) : true;
}

export async function openSession(s: { port: number; tls?: string; timeout?: number }, ctx: VerifyContext): Promise<SmtpSession> {
  const ep = ctx.endpoint(s.port);
  return SmtpSession.connect({ host: ep.host, port: ep.port, timeoutMs: (s.timeout ?? 10) * 1000, implicitTls: s.tls === 'implicit' });
}

/** A dialogue with a wrong password is a wrong login, whatever else it does; one with only the lab's is a right one. */
function logsIn(s: SmtpSpec): 'right' | 'wrong' | undefined {
  const auths = s.dialogue.flatMap((d) => ('auth' in d ? [d.auth.password] : []));
  return auths.includes('wrong') ? 'wrong' : auths.length ? 'right' : undefined;
}

export const smtp: CheckKind<SmtpSpec> = {
  name: 'smtp',
  fields: {
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tls: { enum: ['none', 'implicit'] },
    banner: { type: 'string' },
    timeout: { type: 'number', minimum: 1 },
    dialogue: { type: 'array', items: { type: 'object', minProperties: 1 } },
  },
  required: ['port', 'dialogue'],
  // Dovecot answers a wrong password after auth_failure_delay (2 s by default)
  seconds: (s) => (logsIn(s) === 'wrong' ? 2.5 : 0.3),
  logsIn,
  async run(_target, s, ctx) {
    const session = await openSession(s, ctx);
    const seen: string[] = [];
    try {
      const banner = session.banner?.lines.join(' | ') ?? '';
      seen.push(`banner ${banner}`);
      // The banner regex is matched against the greeting text, without the reply code.
      if (s.banner && !new RegExp(s.banner).test(session.banner?.lines.at(-1) ?? '')) return fail(`banner "${banner}" does not match /${s.banner}/`);
      for (const step of s.dialogue) {
        if ('ehlo' in step) {
          const r = await session.ehlo(step.ehlo);
          seen.push(`EHLO -> ${r.code} ${r.capabilities.join(',')}${r.authMechanisms.length ? ` AUTH ${r.authMechanisms.join(' ')}` : ''}`);
          if (r.code !== 250) return fail(`EHLO answered ${r.code} ${r.text}`);
          for (const h of step.has ?? [])
            if (!offers(r, h)) return fail(`EHLO${session.tls ? ' after TLS' : ''} does not offer ${h} (offers ${r.lines.slice(1).join(', ')})`);
          for (const l of step.lacks ?? []) if (offers(r, l)) return fail(`EHLO${session.tls ? ' after TLS' : ''} offers ${l}, which it must not`);
        } else if ('starttls' in step) {
          const t = await session.starttls();
          seen.push(`STARTTLS -> ${t.protocol}`);
        } else if ('send' in step) {
          const r = await session.command(step.send);
          seen.push(`${step.send} -> ${r.code} ${r.text}`);
          if (!new RegExp(step.expect).test(`${r.code} ${r.text}`)) return fail(`${step.send} answered "${r.code} ${r.text}", expected /${step.expect}/`);
        } else {
          // Always the same wrong password: Dovecot does not raise its per-IP penalty for a combination it saw in its
          // last 10 attempts, so repeated verify runs do not slow down every later AUTH from this machine.
          const pw = step.auth.password === 'lab' ? ctx.credentials.password : 'postfix-lab-verify-wrong-password';
          if (step.auth.password === 'wrong') await ctx.rightLoginsDone?.();
          const r = step.auth.mechanism === 'plain' ? await session.authPlain(ctx.credentials.user, pw) : await session.authLogin(ctx.credentials.user, pw);
          seen.push(`AUTH ${step.auth.mechanism.toUpperCase()} (${step.auth.password} password) -> ${r.code}`);
          if (!new RegExp(step.expect).test(`${r.code} ${r.text}`)) {
            return fail(
              `AUTH ${step.auth.mechanism.toUpperCase()} with the ${step.auth.password === 'lab' ? "lab user's" : 'a wrong'} password answered "${r.code} ${r.text}", expected /${step.expect}/`,
            );
          }
        }
      }
      return pass(seen.join('; '));
    } finally {
      await session.quit().catch(() => undefined);
      session.close();
    }
  },
};
