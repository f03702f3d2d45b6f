import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeHolder, ephemeralRange } from '../../src/drivers/container/holder.js';
import { checkPorts } from '../../src/drivers/container/forward.js';

describe('a host port in use', () => {
  let server: Server;
  let client: Socket;
  let localPort = 0;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const { port } = server.address() as { port: number };
    client = connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => client.on('connect', r));
    localPort = client.localPort!;
  });
  afterAll(async () => {
    client.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('names the program that listens on it', () => {
    const { port } = server.address() as { port: number };
    expect(describeHolder(port)).toMatch(new RegExp(`^ by PID ${process.pid} \\(node.*\\) listening on 127\\.0\\.0\\.1$`));
  });

  it('held by an outgoing connection, says the kernel hands that range out and to pick a port below it', async () => {
    const [lo, hi] = ephemeralRange();
    expect(localPort).toBeGreaterThanOrEqual(lo);
    expect(localPort).toBeLessThanOrEqual(hi);
    const err = await checkPorts([{ guest: 22, host: localPort }], '/labs/a.yaml').catch((e: unknown) => e as Error);
    expect(String((err as Error).message)).toMatch(
      new RegExp(`host port ${localPort} .* is already in use \\(no program listens there: .* from ${lo}-${hi}.*; pick one below ${lo}\\)`),
    );
  });

  it('adds nothing for a free-range port no one listens on', () => {
    expect(describeHolder(1)).toBe('');
  });
});
