/** tcp: a port open (or closed) as seen from outside, through the lab's forwarded port. */
import { portListening } from '../../probes/port.js';
import { openTcp, readFirst } from '../../probes/tcp.js';
import { asker, fail, pass, type CheckKind } from '../types.js';

/**
 * Open from outside? A forwarder accepts even when the guest port is closed, so only data (a banner) or a connection
 * that stays open proves it. `listensInside`, when given, shortens the wait for a port without a banner: open for
 * 300 ms and listening inside the lab is open (a forwarder whose guest port is closed hangs up within milliseconds).
 */
export async function tcpOpen(host: string, port: number, timeoutMs = 3000, listensInside?: () => Promise<boolean | undefined>): Promise<boolean> {
  const s = await openTcp(host, port, timeoutMs).catch(() => undefined);
  if (!s) return false;
  try {
    const inside = listensInside?.().catch(() => undefined);
    let first = await readFirst(s, inside ? 300 : 1500);
    if (first.text.length > 0 || first.closed) return first.text.length > 0;
    if (inside && (await inside) === true) return !s.destroyed && !s.readableEnded;
    if (inside) first = await readFirst(s, 1200);
    return first.text.length > 0 || !first.closed;
  } finally {
    s.destroy();
  }
}

export const tcp: CheckKind<{ port?: number; open: boolean }> = {
  name: 'tcp',
  fields: { port: { type: 'integer', minimum: 1, maximum: 65535 }, open: { type: 'boolean' } },
  required: ['open'],
  // a port without a banner (465 before its TLS handshake): 300 ms when it listens inside, else up to 1.5 s
  seconds: () => 0.3,
  async run(target, s, ctx) {
    const ep = ctx.endpoint(s.port ?? Number(target));
    const guest = s.port ?? Number(target);
    const open = await tcpOpen(ep.host, ep.port, 3000, s.open ? () => portListening(asker(ctx), guest) : undefined);
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
