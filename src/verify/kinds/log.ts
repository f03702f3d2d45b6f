/**
 * log: trigger an event (a command on the lab, with {{token}} replaced, or a connection to a port from outside) and
 * find it in the right file, and not in the wrong ones. Only lines written after the trigger count.
 */
import { connect } from 'node:net';
import { sh } from '../../host.js';
import { fail, pass, type CheckKind, type Endpoint } from '../types.js';

export interface LogSpec {
  file: string;
  trigger?: string;
  connect?: number;
  /** Regular expression to find (default: the token). {{token}} is replaced. */
  expect?: string;
  absent_in?: string[];
  wait?: number;
}

function touch(ep: Endpoint): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(ep);
    const done = () => { s.destroy(); resolve(); };
    s.setTimeout(3000, done);
    s.once('data', () => { s.write('QUIT\r\n'); setTimeout(done, 200); });
    s.once('error', done);
    s.once('close', done);
  });
}

const sizes = (files: string[]) => files.map((f) => `stat -c %s ${sh(f)} 2>/dev/null || echo 0`).join('; ');

export const log: CheckKind<LogSpec> = {
  name: 'log',
  via: 'ssh',
  fields: {
    file: { type: 'string', pattern: '^/' },
    trigger: { type: 'string' },
    connect: { type: 'integer', minimum: 1, maximum: 65535 },
    expect: { type: 'string' },
    absent_in: { type: 'array', items: { type: 'string', pattern: '^/' } },
    wait: { type: 'number', minimum: 0 },
  },
  required: ['file'],
  async run(_target, s, ctx) {
    const token = ctx.token();
    const files = [s.file, ...(s.absent_in ?? [])];
    const before = (await ctx.exec(sizes(files))).stdout.trim().split('\n').map((n) => Number(n) || 0);
    if (s.trigger) {
      const r = await ctx.exec(s.trigger.replace(/\{\{\s*token\s*\}\}/g, token));
      if (r.code !== 0) return fail(`trigger \`${s.trigger}\` exited ${r.code}: ${r.stderr.trim()}`);
    }
    if (s.connect) await touch(ctx.endpoint(s.connect));
    const pattern = (s.expect ?? token).replace(/\{\{\s*token\s*\}\}/g, token);
    const newLines = (f: string, i: number) => `tail -c +${(before[i] ?? 0) + 1} ${sh(f)} 2>/dev/null | grep -E -m1 -- ${sh(pattern)}`;
    const deadline = Date.now() + (s.wait ?? 5) * 1000;
    let found = '';
    for (;;) {
      const r = await ctx.exec(newLines(s.file, 0));
      if (r.code === 0) { found = r.stdout.trim(); break; }
      if (Date.now() > deadline) return fail(`no new line matching /${pattern}/ in ${s.file} within ${s.wait ?? 5} s`);
      await new Promise((res) => setTimeout(res, 250));
    }
    for (const [i, f] of (s.absent_in ?? []).entries()) {
      const r = await ctx.exec(newLines(f, i + 1));
      if (r.code === 0) return fail(`the event also went to ${f}: ${r.stdout.trim()}`);
    }
    return pass(`${s.file}: ${found.slice(0, 160)}`);
  },
};
