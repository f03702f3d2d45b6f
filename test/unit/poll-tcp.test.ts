/** pollUntil (every wait-until loop) and the one TCP client (openTcp, readFirst, knock), against loopback servers started here. */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil, stop } from '../../src/probes/poll.js';
import { knock, openTcp, readFirst, TcpConnectError } from '../../src/probes/tcp.js';

describe('pollUntil', () => {
  it('returns the first value an attempt gives, after as many attempts as it took', async () => {
    let n = 0;
    expect(await pollUntil(() => (++n >= 3 ? `got ${n}` : undefined), { timeoutMs: 2000, intervalMs: 10 })).toEqual({ ok: true, value: 'got 3', attempts: 3 });
  });

  it('gives up at the deadline, having tried at least once, and not much later', async () => {
    const t0 = Date.now();
    const r = await pollUntil(() => false, { timeoutMs: 300, intervalMs: 50 });
    expect(r).toMatchObject({ ok: false, why: 'timeout' });
    expect(r.attempts).toBeGreaterThanOrEqual(4);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await pollUntil(() => undefined, { timeoutMs: 0, intervalMs: 50 })).toEqual({ ok: false, why: 'timeout', attempts: 1 });
  });

  it('stops early when an attempt says why, and when the signal aborts', async () => {
    expect(await pollUntil((n) => (n === 2 ? stop('the process exited') : undefined), { timeoutMs: 5000, intervalMs: 5 })).toEqual({
      ok: false,
      why: 'the process exited',
      attempts: 2,
    });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    expect(await pollUntil(() => undefined, { timeoutMs: 5000, intervalMs: 20, signal: ac.signal })).toMatchObject({ ok: false, why: 'aborted' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('doubles the pause up to maxIntervalMs', async () => {
    const at: number[] = [];
    await pollUntil(
      () => {
        at.push(Date.now());
        return at.length === 4;
      },
      { timeoutMs: 5000, intervalMs: 40, maxIntervalMs: 100 },
    );
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeLessThan(160);
  });
});

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});
async function serve(onConn: (s: Socket) => void): Promise<number> {
  const server = createServer(onConn);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}
async function freePort(): Promise<number> {
  const port = await serve(() => undefined);
  await new Promise((r) => servers.pop()!.close(r));
  return port;
}

describe('the TCP client', () => {
  it('opens a connection with TCP_NODELAY, and refuses with kind "connect" when nothing listens', async () => {
    const port = await serve((s) => s.end());
    const sock = await openTcp('127.0.0.1', port, 2000);
    expect(sock.remoteAddress).toBe('127.0.0.1');
    sock.destroy();
    const e = await openTcp('127.0.0.1', await freePort(), 2000).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TcpConnectError);
    expect(e).toMatchObject({ kind: 'connect', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('reads the first words until enough, tells a peer that hangs up from one that stays silent', async () => {
    const greeter = await serve((s) => {
      s.write('SSH-2.0-Fake');
      setTimeout(() => s.write('\r\nrest\r\n'), 50);
    });
    const banner = await knock('127.0.0.1', greeter, 2000, (t) => t.includes('\r\n'));
    expect(banner).toEqual({ text: 'SSH-2.0-Fake\r\nrest\r\n', closed: false });
    const hangsUp = await serve((s) => s.end());
    expect(await knock('127.0.0.1', hangsUp, 2000)).toEqual({ text: '', closed: true });
    const silent = await serve(() => undefined);
    const sock = await openTcp('127.0.0.1', silent, 2000);
    const t0 = Date.now();
    expect(await readFirst(sock, 200)).toEqual({ text: '', closed: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(sock.destroyed).toBe(false); // left open for the caller
    sock.destroy();
    expect(await knock('127.0.0.1', await freePort(), 500)).toBeUndefined();
  });
});
