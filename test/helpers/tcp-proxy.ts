/**
 * A TCP proxy on 127.0.0.1 between the engine and a lab host's sshd, so tests can break the connection for real
 * from the host side: cut() resets every connection (as a dead NAT or `ss -K` would), outage(ms) holds every byte
 * in both directions for a while and then lets it through (a network outage TCP survives), cutAfterBytes(n) cuts
 * once n more bytes went from the engine to the host (mid-upload). stop() closes it.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Bytes forwarded from the engine to the host so far. */
  readonly upBytes: number;
  cut(): number;
  outage(ms: number): Promise<void>;
  cutAfterBytes(n: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<{ a: net.Socket; b: net.Socket }>();
  let accepted = 0;
  let upBytes = 0;
  let held = false;
  let watchers: Array<{ at: number; fire: () => void }> = [];
  const server = net.createServer((a) => {
    accepted++;
    const b = net.connect({ host: targetHost, port: targetPort });
    const pair = { a, b };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      a.destroy();
      b.destroy();
    };
    a.on('error', end).on('close', end);
    b.on('error', end).on('close', end);
    a.on('data', (d: Buffer) => {
      upBytes += d.length;
      b.write(d);
      for (const w of watchers.filter((x) => upBytes >= x.at)) w.fire();
    });
    b.on('data', (d: Buffer) => a.write(d));
    if (held) {
      a.pause();
      b.pause();
    }
  });
  await new Promise<void>((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', () => res()));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy has no port');
  const cut = (): number => {
    const n = pairs.size;
    for (const p of [...pairs]) {
      p.a.resetAndDestroy();
      p.b.resetAndDestroy();
    }
    pairs.clear();
    return n;
  };
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get upBytes() {
      return upBytes;
    },
    cut,
    async outage(ms) {
      held = true;
      for (const p of pairs) {
        p.a.pause();
        p.b.pause();
      }
      await new Promise((r) => setTimeout(r, ms));
      held = false;
      for (const p of pairs) {
        p.a.resume();
        p.b.resume();
      }
    },
    cutAfterBytes(n) {
      return new Promise<void>((resolve) => {
        const w = {
          at: upBytes + n,
          fire: () => {
            watchers = watchers.filter((x) => x !== w);
            cut();
            resolve();
          },
        };
        watchers.push(w);
      });
    },
    async stop() {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
