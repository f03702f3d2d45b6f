/** The port forwarder's program listens where a lab's `bind` says (class:up --listen), 127.0.0.1 otherwise. */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'plab-fwd-'));
const sock = join(dir, 'c.sock');
let fwd: ChildProcess;
let echo: Server;

function request(m: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = connect(sock);
    let buf = '';
    c.on('data', (d) => (buf += d));
    c.on('end', () => resolve(JSON.parse(buf)));
    c.on('error', reject);
    c.write(`${JSON.stringify(m)}\n`);
  });
}

const reaches = (host: string, port: number) =>
  new Promise<string>((resolve) => {
    const c = connect({ host, port });
    c.on('data', (d) => {
      c.end();
      resolve(d.toString());
    });
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });

describe('the port forwarder', () => {
  beforeAll(async () => {
    await new Promise<void>((r) => (echo = createServer((c) => c.end('hello\n')).listen({ host: '127.0.0.1', port: 0 }, r)));
    // from a copy, as forward.ts runs it: the program removes its own file when it exits
    copyFileSync(join(import.meta.dirname, '../../src/drivers/container/forwarder.mjs'), join(dir, 'forwarder.mjs'));
    fwd = spawn(process.execPath, [join(dir, 'forwarder.mjs'), sock, join(dir, 's.json'), join(dir, 'p'), join(dir, 'log')], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(() => {
    fwd.kill('SIGTERM');
    echo.close();
  });

  it("binds a lab's ports to its bind address and says so, and to 127.0.0.1 without one", async () => {
    const guest = (echo.address() as { port: number }).port;
    const a = await request({ op: 'add', key: 'a', addr: '127.0.0.1', watch: process.pid, ports: [[44590, guest]], bind: '127.0.0.2' });
    expect(a).toMatchObject({ ok: true, bind: '127.0.0.2' });
    expect(await reaches('127.0.0.2', 44590)).toBe('hello\n');
    expect(await reaches('127.0.0.1', 44590)).toBe('ECONNREFUSED');
    const b = await request({ op: 'add', key: 'b', addr: '127.0.0.1', watch: process.pid, ports: [[44591, guest]] });
    expect(b).toMatchObject({ ok: true, bind: '127.0.0.1' });
    expect(await reaches('127.0.0.1', 44591)).toBe('hello\n');
    expect(await reaches('127.0.0.2', 44591)).toBe('ECONNREFUSED');
  });
});
