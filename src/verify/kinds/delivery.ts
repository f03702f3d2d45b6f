/** delivery: a message submitted with the lab user's login reaches the local mailbox, and the log shows it delivered. */
import { sh } from '../../host.js';
import { pollUntil } from '../../probes/poll.js';
import { fail, pass, type CheckKind } from '../types.js';
import { openSession } from './smtp.js';

export interface DeliverySpec {
  port: number;
  to: string;
  log: string;
  wait?: number;
}

/** Where the log line went instead: if journald has it, it was lost on its way to rsyslog. */
async function inJournal(ctx: { exec(cmd: string): Promise<{ stdout: string }> }, queueId: string): Promise<string> {
  const pattern = `${queueId}: .*status=sent`;
  const line = (await ctx.exec(`journalctl -q --no-pager -o cat -n 5000 2>/dev/null | grep -E -m1 -- ${sh(pattern)}`)).stdout.trim();
  if (!line) return ' (nor does the journal)';
  const missed = (await ctx.exec(`journalctl -q --no-pager -o cat -b -u systemd-journald 2>/dev/null | grep -m1 'Forwarding to syslog missed'`)).stdout.trim();
  return `; the journal has it (${line.slice(0, 120)}), so it was lost on its way to rsyslog${missed ? `: journald says "${missed}"` : ''}`;
}

export const delivery: CheckKind<DeliverySpec> = {
  name: 'delivery',
  fields: { port: { type: 'integer' }, to: { type: 'string' }, log: { type: 'string', pattern: '^/' }, wait: { type: 'number', minimum: 1 } },
  required: ['port', 'to', 'log'],
  // a whole message: TLS, AUTH, queue, local delivery, the log line
  seconds: () => 2,
  logsIn: () => 'right',
  async run(_target, s, ctx) {
    const token = ctx.token();
    const session = await openSession({ port: s.port }, ctx);
    let queueId = '';
    try {
      await session.ehlo('probe.lab.invalid');
      await session.starttls();
      await session.ehlo('probe.lab.invalid');
      const auth = await session.authPlain(ctx.credentials.user, ctx.credentials.password);
      if (auth.code !== 235) return fail(`AUTH as the lab user answered ${auth.code} ${auth.text}`);
      const steps: [string, number][] = [
        [`MAIL FROM:<${ctx.credentials.user}@probe.lab.invalid>`, 250],
        [`RCPT TO:<${s.to}>`, 250],
        ['DATA', 354],
      ];
      for (const [line, code] of steps) {
        const r = await session.command(line);
        if (r.code !== code) return fail(`${line} answered ${r.code} ${r.text}`);
      }
      session.sendRaw(`From: <${ctx.credentials.user}@probe.lab.invalid>\r\nTo: <${s.to}>\r\nSubject: postfix-lab verify ${token}\r\n\r\n${token}\r\n.\r\n`);
      const r = await session.readReply('the reply to the message');
      if (r.code !== 250) return fail(`the message was not accepted: ${r.code} ${r.text}`);
      queueId = /queued as ([0-9A-Za-z]+)/.exec(r.text)?.[1] ?? '';
    } finally {
      await session.quit().catch(() => undefined);
      session.close();
    }
    const user = s.to.split('@')[0]!;
    const find = `grep -rl -- ${sh(token)} /var/mail/${sh(user)} /var/spool/mail/${sh(user)} /home/${sh(user)}/Maildir /home/${sh(user)}/mail 2>/dev/null | head -1`;
    let box = '';
    const done = await pollUntil(
      async () => {
        box = (await ctx.exec(find)).stdout.trim();
        const logged = queueId ? (await ctx.exec(`grep -E -m1 -- ${sh(`${queueId}: .*status=sent`)} ${sh(s.log)}`)).stdout.trim() : '';
        return box && (logged || !queueId) ? { box, logged } : undefined;
      },
      { timeoutMs: (s.wait ?? 15) * 1000, intervalMs: 500 },
    );
    if (done.ok) return pass(`delivered to ${done.value.box}; ${done.value.logged.replace(/^.*?: /, '').slice(0, 160)}`);
    if (!box) return fail(`message ${queueId || token} did not reach ${user}'s mailbox within ${s.wait ?? 15} s`);
    return fail(`the message is in ${box}, but ${s.log} has no "status=sent" line for ${queueId}${await inJournal(ctx, queueId)}`);
  },
};
