/**
 * log: trigger an event (a command on the lab, with {{token}} replaced, or a connection to a port from outside) and
 * find it in the right file, and not in the wrong ones. Only lines written after the trigger count.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sh } from '../../host.js';
import { fileSizes } from '../../probes/file.js';
import { pollUntil, stop } from '../../probes/poll.js';
import { openTcp, readFirst } from '../../probes/tcp.js';
import { asker, fail, pass, type CheckKind, type Endpoint } from '../types.js';

export interface LogSpec {
  file: string;
  trigger?: string;
  connect?: number;
  /** Regular expression to find (default: the token). {{token}} is replaced. */
  expect?: string;
  absent_in?: string[];
  wait?: number;
}

/** Connect, and when the server greets, say QUIT: the connection is the event a log check looks for. False: no greeting. */
async function touch(ep: Endpoint): Promise<boolean> {
  const s = await openTcp(ep.host, ep.port, 3000).catch(() => undefined);
  if (!s) return false;
  try {
    if (!(await readFirst(s, 3000)).text) return false;
    s.write('QUIT\r\n');
    await sleep(200);
    return true;
  } finally {
    s.destroy();
  }
}

/** No syslog daemon runs: nothing will write the line, so there is no point in waiting for it. */
const NO_SYSLOGD = 'pidof rsyslogd syslog-ng syslogd >/dev/null || echo none';
const NO_DAEMON = 'no syslog daemon';

export const log: CheckKind<LogSpec> = {
  name: 'log',
  fields: {
    file: { type: 'string', pattern: '^/' },
    trigger: { type: 'string' },
    connect: { type: 'integer', minimum: 1, maximum: 65535 },
    expect: { type: 'string' },
    absent_in: { type: 'array', items: { type: 'string', pattern: '^/' } },
    wait: { type: 'number', minimum: 0 },
  },
  required: ['file'],
  seconds: () => 0.4,
  async run(_target, s, ctx) {
    const token = ctx.token();
    const files = [s.file, ...(s.absent_in ?? [])];
    const before = await fileSizes(asker(ctx), files);
    if (s.trigger) {
      const r = await ctx.exec(s.trigger.replace(/\{\{\s*token\s*\}\}/g, token));
      if (r.code !== 0) return fail(`trigger \`${s.trigger}\` exited ${r.code}: ${r.stderr.trim()}`);
    }
    if (s.connect && !(await touch(ctx.endpoint(s.connect)))) return fail(`port ${s.connect} gave no greeting, so there was no connection to log`);
    const pattern = (s.expect ?? token).replace(/\{\{\s*token\s*\}\}/g, token);
    const newLines = (f: string, i: number) => `tail -c +${(before[i] ?? 0) + 1} ${sh(f)} 2>/dev/null | grep -E -m1 -- ${sh(pattern)}`;
    const found = await pollUntil(
      async (n) => {
        const r = await ctx.exec(newLines(s.file, 0));
        if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
        // not there at once: asked only now, so a check that passes pays nothing for it
        if (n === 1 && (await ctx.exec(NO_SYSLOGD)).stdout.trim() === 'none') return stop(NO_DAEMON);
        return false;
      },
      { timeoutMs: (s.wait ?? 5) * 1000, intervalMs: 250 },
    );
    if (!found.ok && found.why === NO_DAEMON) return fail(`no syslog daemon runs on the lab (no rsyslogd), so nothing writes ${s.file}`);
    if (!found.ok) return fail(`no new line matching /${pattern}/ in ${s.file} within ${s.wait ?? 5} s`);
    for (const [i, f] of (s.absent_in ?? []).entries()) {
      const r = await ctx.exec(newLines(f, i + 1));
      if (r.code === 0) return fail(`the event also went to ${f}: ${r.stdout.trim()}`);
    }
    return pass(`${s.file}: ${found.value.slice(0, 160)}`);
  },
};
