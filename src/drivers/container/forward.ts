/**
 * Vagrant-style forwarded ports: one small detached Node process per lab listens on 127.0.0.1:HOST (and nowhere
 * else) and connects each client to LAB:GUEST. It outlives `lab:up`, stops when asked (PID recorded in the lab's
 * driver folder) and by itself when the lab's nspawn process is gone.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { InputError, LabError } from '../../errors.js';
import type { PortForward } from '../../lab-file.js';
import { ourPid, terminate } from './sys.js';

const SCRIPT = `// postfix-lab port forwarder (generated). argv: LAB_ADDR WATCH_PID HOST:GUEST...
import net from 'node:net';
const [labAddr, watch, ...pairs] = process.argv.slice(2);
const servers = [];
const conns = new Set();
const stop = () => { for (const s of servers) s.close(); for (const c of conns) c.destroy(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', () => {});
let pending = pairs.length;
const ready = () => { process.send?.({ ready: true }); process.disconnect?.(); };
for (const pair of pairs) {
  const [host, guest] = pair.split(':').map(Number);
  const srv = net.createServer({ noDelay: true }, (c) => {
    const u = net.connect({ host: labAddr, port: guest, noDelay: true });
    conns.add(c); conns.add(u);
    const end = () => { c.destroy(); u.destroy(); conns.delete(c); conns.delete(u); };
    c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
    c.pipe(u); u.pipe(c);
  });
  srv.on('error', (e) => { process.send?.({ error: e.code || String(e), port: host }); process.exit(3); });
  srv.listen({ host: '127.0.0.1', port: host, exclusive: true }, () => { if (--pending === 0) ready(); });
  servers.push(srv);
}
setInterval(() => { try { process.kill(Number(watch), 0); } catch { stop(); } }, 1000);
`;

const files = (dir: string) => ({ script: join(dir, 'forwarder.mjs'), pid: join(dir, 'forward.pid'), log: join(dir, 'forward.log') });

export function forwarderPid(dir: string): number | undefined {
  return ourPid(files(dir).pid, files(dir).script);
}

export function portInUse(p: PortForward, labFile: string, detail = 'is already in use'): InputError {
  return new InputError(
    `host port ${p.host} on 127.0.0.1 (forwarded to the lab's port ${p.guest}) ${detail}`,
    `Stop what listens there (\`ss -ltnp 'sport = :${p.host}'\` shows it), or change ports[].host in ${labFile}.`,
  );
}

/** Fail early, before anything boots, when a host port is taken. */
export async function checkPorts(ports: PortForward[], labFile: string): Promise<void> {
  for (const p of ports) {
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once('error', (e: NodeJS.ErrnoException) => reject(portInUse(p, labFile, e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${e.code ?? e.message})`)));
      s.listen({ host: '127.0.0.1', port: p.host, exclusive: true }, () => s.close(() => resolve()));
    });
  }
}

/** Start the forwarder (no-op without ports); resolves once every port listens. */
export async function startForwarder(dir: string, labAddr: string, ports: PortForward[], watchPid: number, labFile: string): Promise<number | undefined> {
  const f = files(dir);
  await stopForwarder(dir);
  if (ports.length === 0) return undefined;
  writeFileSync(f.script, SCRIPT, { mode: 0o600 });
  const log = openSync(f.log, 'a');
  const child = spawn(process.execPath, [f.script, labAddr, String(watchPid), ...ports.map((p) => `${p.host}:${p.guest}`)], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  const msg = await new Promise<{ ready?: boolean; error?: string; port?: number }>((resolve) => {
    const timer = setTimeout(() => resolve({ error: 'no answer within 10 s' }), 10_000);
    child.once('message', (m) => { clearTimeout(timer); resolve(m as { ready?: boolean }); });
    child.once('exit', (code) => { clearTimeout(timer); resolve({ error: `exited with ${code}` }); });
    child.once('error', (e) => { clearTimeout(timer); resolve({ error: e.message }); });
  });
  if (msg.ready && child.pid) {
    writeFileSync(f.pid, `${child.pid}\n`);
    if (child.connected) child.disconnect();
    child.unref();
    return child.pid;
  }
  if (child.pid && child.exitCode === null) await terminate(child.pid, 2000);
  const port = ports.find((p) => p.host === msg.port);
  if (port) throw portInUse(port, labFile, msg.error === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${msg.error})`);
  throw new LabError(`the port forwarder for ${labAddr} did not start: ${msg.error}`, `See ${f.log}; run \`npm run lab:up\` again.`);
}

export async function stopForwarder(dir: string): Promise<void> {
  const f = files(dir);
  const pid = forwarderPid(dir);
  if (pid) await terminate(pid, 3000);
  rmSync(f.pid, { force: true });
}
