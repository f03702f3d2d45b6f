/** tcp: a port open (or closed) as seen from outside, through the lab's forwarded port. */
import { portListening } from '../../probes/port.js';
import { openTcp, readFirst } from '../../probes/tcp.js';
import { asker, fail, pass, type CheckKind } from '../types.js';

export async function tcpOpen(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  const s = await openTcp(host, port, timeoutMs).catch(() => undefined);
  if (!s) return false;
  try {
    // A forwarder accepts even when the guest port is closed: only data (a banner) or a clean wait proves it open.
    const first = await readFirst(s, 1500);
    return first.text.length > 0 || !first.closed;
  } finally {
    s.destroy();
  }
}

export const tcp: CheckKind<{ port?: number; open: boolean }> = {
  name: 'tcp',
  fields: { port: { type: 'integer', minimum: 1, maximum: 65535 }, open: { type: 'boolean' } },
  required: ['open'],
  async run(target, s, ctx) {
    const ep = ctx.endpoint(s.port ?? Number(target));
    const open = await tcpOpen(ep.host, ep.port);
    const where = `${s.port ?? target} (${ep.host}:${ep.port})`;
    if (open === s.open) return pass(`port ${where} is ${open ? 'open' : 'closed'}`);
    // Closed from outside but listening inside: the way in (the lab's forwarded port) is what is broken.
    const inside = !open && s.open ? await portListening(asker(ctx), s.port ?? Number(target)).catch(() => undefined) : undefined;
    const why = inside
      ? `; inside the lab host something listens on ${s.port ?? target}, so the way in (ports: in the lab file, a firewall) is what fails`
      : '';
    return fail(`port ${where} is ${open ? 'open' : 'closed'}, expected ${s.open ? 'open' : 'closed'}${why}`);
  },
};
