/**
 * Vagrant-style forwarded ports: one small detached Node process (its program: forwarder.mjs) serves every running
 * lab's ports on 127.0.0.1. It outlives `lab:up`; labs are added and removed over a control socket (one JSON line
 * each way); a lab whose nspawn process is gone is dropped by the forwarder itself, and it exits with its last lab. One process rather than one per lab:
 * a Node process costs ~0.08 CPU-s to start, a fifth of a container lab's boot.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../../schemas.js';
import { InputError, LabError } from '../../errors.js';
import type { PortForward } from '../../lab/lab-file.js';
import { paths, withLock } from './sys.js';
import { ourPid, waitExit } from '../local/processes.js';
import { describeHolder } from './holder.js';

/** The forwarder's program; it runs from a copy under /run, so a checkout changing under it changes nothing. */
const PROGRAM = join(repoRoot, 'src/drivers/container/forwarder.mjs');

const files = () => ({
  script: join(paths.run, 'forwarder.mjs'),
  pid: join(paths.run, 'forwarder.pid'),
  sock: join(paths.run, 'forwarder.sock'),
  state: join(paths.run, 'forwarder.json'),
  log: join(paths.run, 'forwarder.log'),
});

interface State {
  pid: number;
  labs: Record<string, { addr: string; watch: number; ports: [number, number][] }>;
}

function readState(): State | undefined {
  try {
    return JSON.parse(readFileSync(files().state, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

/** The forwarder's PID when it serves this lab (`dir`: the lab's driver folder, its key). */
export function forwarderPid(dir: string): number | undefined {
  const pid = ourPid(files().pid, files().script);
  return pid && readState()?.labs[dir] ? pid : undefined;
}

export function portInUse(p: PortForward, labFile: string, detail = 'is already in use'): InputError {
  const by = detail === 'is already in use' ? describeHolder(p.host) : '';
  return new InputError(
    `host port ${p.host} on 127.0.0.1 (forwarded to the lab's port ${p.guest}) ${detail}${by}; the lab was not started`,
    `Stop what listens there${by ? '' : ` (\`ss -ltnp 'sport = :${p.host}'\` shows it)`}, or change ports[].host in ${labFile}; then run \`npm run lab:up\` again.`,
  );
}

/** Fail early, before anything boots, when a host port is taken. */
export async function checkPorts(ports: PortForward[], labFile: string, bind = '127.0.0.1'): Promise<void> {
  for (const p of ports) {
    await new Promise<void>((resolve, reject) => {
      const s = createServer();
      s.once('error', (e: NodeJS.ErrnoException) =>
        reject(portInUse(p, labFile, e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${e.code ?? e.message})`)),
      );
      s.listen({ host: bind, port: p.host, exclusive: true }, () => s.close(() => resolve()));
    });
  }
}

/** Start the shared forwarder unless it runs. Call under the forwarder lock. */
async function ensureRunning(): Promise<number> {
  const f = files();
  const running = ourPid(f.pid, f.script);
  if (running) return running;
  mkdirSync(paths.run, { recursive: true, mode: 0o755 });
  writeFileSync(f.script, readFileSync(PROGRAM), { mode: 0o600 });
  const log = openSync(f.log, 'a', 0o600);
  const child = spawn(process.execPath, [f.script, f.sock, f.state, f.pid, f.log], { detached: true, stdio: ['ignore', log, log, 'ipc'] });
  closeSync(log);
  const msg = await new Promise<{ ready?: boolean; error?: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ error: 'no answer within 10 s' }), 10_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as { ready?: boolean });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ error: `exited with ${code}` });
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ error: e.message });
    });
  });
  if (!msg.ready || !child.pid) throw new LabError(`the port forwarder did not start: ${msg.error}`, `See ${f.log}; run \`npm run lab:up\` again.`);
  writeFileSync(f.pid, `${child.pid}\n`);
  if (child.connected) child.disconnect();
  child.unref();
  return child.pid;
}

interface Reply {
  ok?: boolean;
  error?: string;
  port?: number;
  pid?: number;
  empty?: boolean;
  /** the address the ports listen on (a forwarder older than `bind` does not say) */
  bind?: string;
}

/** One request over the control socket. */
function request(msg: Record<string, unknown>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const c = connect(files().sock);
    let buf = '';
    c.setTimeout(10_000, () => c.destroy(new Error('no answer within 10 s')));
    c.on('connect', () => c.write(JSON.stringify(msg) + '\n'));
    c.on('data', (d) => {
      buf += d;
    });
    c.on('error', reject);
    c.on('close', () => {
      try {
        resolve(JSON.parse(buf));
      } catch {
        reject(new Error(`no reply (${buf.trim() || 'connection closed'})`));
      }
    });
  });
}

/** Serve the lab's ports (none: stop serving it); resolves once every port listens. */
/** `bind`: the address the ports listen on (default 127.0.0.1; the lab file's container.listen, set by class:up --listen). */
export async function startForwarder(
  dir: string,
  labAddr: string,
  ports: PortForward[],
  watchPid: number,
  labFile: string,
  bind?: string,
): Promise<number | undefined> {
  if (ports.length === 0) {
    await stopForwarder(dir);
    return undefined;
  }
  const add = { op: 'add', key: dir, addr: labAddr, watch: watchPid, ports: ports.map((p) => [p.host, p.guest]), ...(bind ? { bind } : {}) };
  const reply = await withLock('forwarder', async (): Promise<Reply> => {
    for (let attempt = 1; ; attempt++) {
      const pid = await ensureRunning();
      try {
        return await request(add);
      } catch (e) {
        // it was exiting (its last lab had just gone): wait for that, then start a new one
        if (attempt === 2) return { error: `${(e as Error).message} (pid ${pid})` };
        await waitExit(pid, 3000);
      }
    }
  });
  if (reply.ok && bind && bind !== '127.0.0.1' && reply.bind !== bind) {
    await stopForwarder(dir);
    throw new LabError(
      `the port forwarder running on this machine (pid ${reply.pid}) is older than listen addresses and serves 127.0.0.1 only; ${labAddr}'s ports were not opened on ${bind}`,
      'It exits with its last lab: halt the running labs (npm run lab:status lists them), then run the command again.',
    );
  }
  if (reply.ok) return reply.pid;
  const port = ports.find((p) => p.host === reply.port);
  if (port) throw portInUse(port, labFile, reply.error === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${reply.error})`);
  throw new LabError(`the port forwarder did not take ${labAddr}'s ports: ${reply.error}`, `See ${files().log}; run \`npm run lab:up\` again.`);
}

/** Stop serving the lab's ports (the forwarder exits with its last lab). */
export async function stopForwarder(dir: string): Promise<void> {
  await withLock('forwarder', async () => {
    const pid = ourPid(files().pid, files().script);
    if (!pid || !readState()?.labs[dir]) return;
    const reply = await request({ op: 'remove', key: dir }).catch(() => undefined);
    if (reply?.empty) await waitExit(pid, 3000); // the next lab:up starts a new one, not this exiting one
  });
}
