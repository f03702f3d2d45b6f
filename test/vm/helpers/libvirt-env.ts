/**
 * A throwaway libvirt for the slow VM suite, kept off the host network and out of the host's libvirt config:
 * - a network namespace made for the purpose, joined to the host by a veth pair 198.19.254.1/30 <-> .2; the host
 *   routes only the lab subnet 198.19.253.0/24 into it, and the namespace has no default route (no way out);
 * - libvirtd started without systemd inside that namespace and in a private mount namespace whose /etc/libvirt,
 *   /var/lib/libvirt, /var/cache/libvirt, /run/libvirt and /var/log/libvirt are folders of this fixture: its bridge,
 *   dnsmasq and definitions never touch the host's, and Vagrant reaches it through a socket in the fixture folder;
 * - a storage pool in the fixture folder, and a package proxy on 198.19.254.1:3142 that forwards only to the apt
 *   mirror (the guest's one way to packages).
 * stop() undoes everything, libvirt volumes included, and ends only the processes it started (by PID).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST_ADDR = '198.19.254.1';
export const NS_ADDR = '198.19.254.2';
export const LAB_SUBNET = '198.19.253.0/24';
export const PROXY_PORT = 3142;
const POOL = 'plab-vmtest';
const NETWORK = 'plab-vmtest';
const LIBVIRT_DIRS = ['/etc/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/run/libvirt', '/var/log/libvirt'];

export interface LibvirtEnv {
  dir: string;
  netns: string;
  uri: string;
  libvirtdPid: number;
  /** vagrant-libvirt options for POSTFIX_LAB_LIBVIRT_OPTIONS. */
  vagrantOptions: Record<string, string>;
  proxyUrl: string;
  /** Requests the package proxy refused (anything but the mirror). */
  refused: string[];
  virsh(...args: string[]): string;
  stop(): Promise<string[]>;
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const tryRun = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** PIDs whose command line mentions the fixture folder (libvirtd, dnsmasq, qemu all do). */
export function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir) && alive(pid);
      } catch {
        return false;
      }
    });
}

/** A proxy for apt: absolute-URI GETs to the mirror's host only; nothing else. */
function startProxy(allowedHosts: string[], refused: string[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      url = new URL('http://invalid/');
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || url.protocol !== 'http:' || !allowedHosts.includes(url.hostname)) {
      refused.push(`${req.method} ${req.url}`);
      res.writeHead(403).end('postfix-lab test proxy: only the apt mirror\n');
      return;
    }
    const up = http.request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    up.end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(PROXY_PORT, HOST_ADDR, () => resolve(server));
  });
}

export async function startLibvirt(mirrorHosts: string[]): Promise<LibvirtEnv> {
  if (tryRun('ip', ['route', 'show', LAB_SUBNET]).stdout.trim()) throw new Error(`${LAB_SUBNET} is already routed on this host: is another VM suite running?`);
  const dir = mkdtempSync(join(process.env.POSTFIX_LAB_VM_TMP ?? '/var/tmp', 'plab-vm-'));
  const id = dir.slice(-6).replace(/[^A-Za-z0-9]/g, 'x');
  const netns = `plab-vm-${id}`;
  const [vethHost, vethNs] = [`pvm${id}a`, `pvm${id}b`];
  const created = LIBVIRT_DIRS.filter((d) => !existsSync(d));
  const refused: string[] = [];
  let proxy: http.Server | undefined;
  let libvirtdPid = 0;
  const uri = `qemu:///system?socket=${dir}/run/libvirt-sock`;
  const virsh = (...args: string[]) => sh('virsh', ['-q', '-c', uri, ...args]);

  const stop = async (): Promise<string[]> => {
    const left: string[] = [];
    if (libvirtdPid && alive(libvirtdPid)) {
      const q = (...a: string[]) => tryRun('virsh', ['-q', '-c', uri, ...a]);
      for (const dom of q('list', '--all', '--name')
        .stdout.split('\n')
        .map((s) => s.trim())
        .filter(Boolean)) {
        left.push(`domain ${dom}`);
        q('destroy', dom);
        q('undefine', dom, '--remove-all-storage', '--snapshots-metadata');
      }
      for (const net of q('net-list', '--all', '--name')
        .stdout.split('\n')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (net !== NETWORK) left.push(`network ${net}`);
        q('net-destroy', net);
        q('net-undefine', net);
      }
      for (const pool of q('pool-list', '--all', '--name')
        .stdout.split('\n')
        .map((s) => s.trim())
        .filter(Boolean)) {
        for (const vol of q('vol-list', pool)
          .stdout.split('\n')
          .map((l) => l.trim().split(/\s+/)[0])
          .filter((v): v is string => !!v)) {
          q('vol-delete', '--pool', pool, vol);
        }
        q('pool-destroy', pool);
        q('pool-undefine', pool);
      }
      process.kill(libvirtdPid, 'SIGTERM');
      for (let i = 0; i < 50 && alive(libvirtdPid); i++) await sleep(200);
    }
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    for (const pid of processesUsing(dir)) {
      left.push(`process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120)}`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    tryRun('ip', ['netns', 'del', netns]);
    tryRun('ip', ['link', 'del', vethHost]);
    rmSync(dir, { recursive: true, force: true });
    for (const d of created.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        /* not empty or gone */
      }
    }
    return left;
  };

  try {
    for (const d of ['etc', 'lib', 'cache', 'run', 'log', 'pool']) mkdirSync(join(dir, d), { recursive: true });
    // qemu as root without the host's security drivers; qemu's output to files (no virtlogd needed).
    writeFileSync(
      join(dir, 'etc', 'qemu.conf'),
      'user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\nsecurity_driver = "none"\nstdio_handler = "file"\n',
    );
    writeFileSync(
      join(dir, 'etc', 'libvirtd.conf'),
      'unix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n',
    );
    sh('ip', ['netns', 'add', netns]);
    sh('ip', ['link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs]);
    sh('ip', ['link', 'set', vethNs, 'netns', netns]);
    sh('ip', ['addr', 'add', `${HOST_ADDR}/30`, 'dev', vethHost]);
    sh('ip', ['link', 'set', vethHost, 'up']);
    const inNs = (...a: string[]) => sh('ip', ['netns', 'exec', netns, ...a]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${NS_ADDR}/30`, 'dev', vethNs);
    inNs('ip', 'link', 'set', vethNs, 'up');
    inNs('sysctl', '-qw', 'net.ipv4.ip_forward=1');
    sh('ip', ['route', 'add', LAB_SUBNET, 'via', NS_ADDR, 'dev', vethHost]);
    for (const d of created) mkdirSync(d, { recursive: true });
    const start = [
      'set -e',
      ...LIBVIRT_DIRS.map((d, i) => `mount --bind "$1/${['etc', 'lib', 'cache', 'run', 'log'][i]}" ${d}`),
      'exec libvirtd -d --pid-file "$1/libvirtd.pid"',
    ].join('\n');
    sh('ip', ['netns', 'exec', netns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', start, 'start-libvirtd', dir]);
    for (let i = 0; i < 100 && !(existsSync(join(dir, 'run', 'libvirt-sock')) && existsSync(join(dir, 'libvirtd.pid'))); i++) await sleep(200);
    libvirtdPid = Number(readFileSync(join(dir, 'libvirtd.pid'), 'utf8').trim());
    virsh('version');
    virsh('pool-define-as', POOL, 'dir', '--target', join(dir, 'pool'));
    virsh('pool-start', POOL);
    proxy = await startProxy(mirrorHosts, refused);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    dir,
    netns,
    uri,
    libvirtdPid,
    virsh,
    stop,
    refused,
    proxyUrl: `http://${HOST_ADDR}:${PROXY_PORT}`,
    vagrantOptions: {
      uri,
      storage_pool_name: POOL,
      management_network_name: NETWORK,
      management_network_address: LAB_SUBNET,
      // "open": libvirt adds no firewall rules; the namespace has no way out anyway.
      management_network_mode: 'open',
    },
  };
}
