/**
 * The labs' only way out: apt-cacher-ng, started by us (PID recorded), bound to one address in 198.18.0.0/15
 * on the host's loopback that each lab routes to through its veth. ForceManaged: it fetches only from the
 * configured mirrors (no CONNECT, no other hosts). Its cache is shared, so a second lab reuses the downloads.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../errors.js';
import { readJson } from '../../lab/state.js';
import { passwdEntry, paths } from './sys.js';
import { ourPid, terminate } from '../local/processes.js';
import { removeInside } from '../../lab/names.js';
import { pollUntil, stop } from '../../probes/poll.js';
import { openTcp } from '../../probes/tcp.js';

export const PROXY_ADDR = '198.19.255.253';
export const PROXY_PORT = 3142;

const files = () => ({
  conf: join(paths.lib, 'proxy'),
  log: join(paths.lib, 'proxy', 'log'),
  cache: join(paths.cache, 'apt-cacher-ng'),
  runDir: join(paths.run, 'proxy'),
  pid: join(paths.run, 'proxy.pid'),
  state: join(paths.run, 'proxy.json'),
});

/** "deb.debian.org/debian" from "http://deb.debian.org/debian/": what the lab's apt asks the proxy for. */
const prefix = (mirror: string) => mirror.replace(/^https?:\/\//, '').replace(/\/+$/, '');

export function proxyConfig(mirrors: string[]): string {
  const f = files();
  return [
    '# postfix-lab: package proxy for container labs (generated; do not edit)',
    `CacheDir: ${f.cache}`,
    `LogDir: ${f.log}`,
    'SupportDir: /usr/lib/apt-cacher-ng',
    `SocketPath: ${join(f.runDir, 'socket')}`,
    `Port: ${PROXY_PORT}`,
    `BindAddress: ${PROXY_ADDR}`,
    'ForeGround: 1',
    // only the remapped mirrors below; no CONNECT tunnels; no admin/report page
    'ForceManaged: 1',
    'PassThroughPattern: ^$',
    'ReportPage:',
    'ExThreshold: 4',
    ...mirrors.map((m, i) => `Remap-plab${i}: ${prefix(m)} ; ${m.replace(/\/+$/, '')}/`),
    '',
  ].join('\n');
}

export function proxyPid(): number | undefined {
  return ourPid(files().pid, files().conf);
}

async function answers(ms: number): Promise<boolean> {
  const s = await openTcp(PROXY_ADDR, PROXY_PORT, ms).catch(() => undefined);
  s?.destroy();
  return s !== undefined;
}

/**
 * Start the proxy (or restart it when a lab needs a mirror it does not serve yet). Call under the network lock;
 * it does not wait for the proxy to answer (the lab boots meanwhile): call proxyReady() after.
 */
export async function ensureProxy(mirrors: string[]): Promise<void> {
  const f = files();
  const want = [...new Set(mirrors)].sort();
  const pid = proxyPid();
  const serving = readJson<{ mirrors: string[] }>(f.state)?.mirrors ?? [];
  if (pid && want.every((m) => serving.includes(m))) return;
  if (pid) await terminate(pid);
  const all = [...new Set([...serving, ...want])].sort();
  const user = passwdEntry('/', 'apt-cacher-ng'); // the package's own user: the proxy needs no root
  mkdirSync(paths.run, { recursive: true, mode: 0o755 });
  chmodSync(paths.run, 0o755); // the proxy user makes its socket below it
  for (const d of [f.conf, f.log, f.cache, f.runDir]) {
    mkdirSync(d, { recursive: true, mode: 0o755 });
    if (user && d !== f.conf) chownSync(d, user.uid, user.gid);
  }
  writeFileSync(join(f.conf, 'acng.conf'), proxyConfig(all));
  const out = openSync(join(f.log, 'postfix-lab-proxy.out'), 'a');
  const argv = ['/usr/sbin/apt-cacher-ng', '-c', f.conf];
  const child = user
    ? spawn('setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--init-groups', ...argv], { detached: true, stdio: ['ignore', out, out] })
    : spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  if (!child.pid) throw new LabError('could not start apt-cacher-ng', 'Check that the apt-cacher-ng package is installed (`apt-get install apt-cacher-ng`).');
  writeFileSync(f.pid, `${child.pid}\n`);
  writeFileSync(f.state, JSON.stringify({ mirrors: all }) + '\n');
}

/** Wait until the proxy answers; a clear error (with its log) when it does not. */
export async function proxyReady(timeoutMs = 15_000): Promise<void> {
  const f = files();
  const up = await pollUntil(async () => (await answers(500)) || (proxyPid() ? undefined : stop('apt-cacher-ng exited')), { timeoutMs, intervalMs: 25 });
  if (up.ok) return;
  let tail = '';
  try {
    tail = readFileSync(join(f.log, 'postfix-lab-proxy.out'), 'utf8').trim().split('\n').slice(-6).join('\n');
  } catch {
    /* no log */
  }
  throw new LabError(
    `the package proxy (apt-cacher-ng) did not start on ${PROXY_ADDR}:${PROXY_PORT}${tail ? `:\n${tail}` : ''}`,
    `Is something else using port ${PROXY_PORT} on all addresses (e.g. the system's own apt-cacher-ng: \`systemctl disable --now apt-cacher-ng\`)? Its log is in ${f.log}.`,
  );
}

/** Stop the proxy we started; keeps its cache and config. Call under the network lock. */
export async function stopProxy(): Promise<void> {
  const f = files();
  const pid = proxyPid();
  if (pid) await terminate(pid);
  for (const p of [f.pid, f.state, f.runDir]) removeInside(paths.run, p);
}
