/** tcp: a port open (or closed) as seen from outside, through the lab's forwarded port. */
import { connect } from 'node:net';
import { fail, pass, type CheckKind } from '../types.js';

export function tcpOpen(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v: boolean) => { s.destroy(); resolve(v); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    // A forwarder accepts even when the guest port is closed: only data (a banner) or a clean wait proves it open.
    s.once('data', () => done(true));
    s.once('end', () => done(false));
    s.once('close', () => done(false));
    s.once('connect', () => setTimeout(() => done(!s.destroyed && !s.readableEnded), 1500));
  });
}

export const tcp: CheckKind<{ port?: number; open: boolean }> = {
  name: 'tcp',
  via: 'network',
  fields: { port: { type: 'integer', minimum: 1, maximum: 65535 }, open: { type: 'boolean' } },
  required: ['open'],
  async run(target, s, ctx) {
    const ep = ctx.endpoint(s.port ?? Number(target));
    const open = await tcpOpen(ep.host, ep.port);
    const where = `${s.port ?? target} (${ep.host}:${ep.port})`;
    if (open === s.open) return pass(`port ${where} is ${open ? 'open' : 'closed'}`);
    return fail(`port ${where} is ${open ? 'open' : 'closed'}, expected ${s.open ? 'open' : 'closed'}`);
  },
};
