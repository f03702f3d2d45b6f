/**
 * Who holds a TCP port: the listening socket's inode from /proc/net/tcp{,6}, then the process with that socket
 * among /proc/<pid>/fd (as root every process is visible). Used to name the program in a "port in use" error.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

export interface PortHolder {
  pid: number;
  command: string;
  address: string;
}

function hexAddr(h: string): string {
  if (h.length === 8)
    return h
      .match(/../g)!
      .reverse()
      .map((x) => Number.parseInt(x, 16))
      .join('.');
  return /^0+$/.test(h) ? '::' : h === '00000000000000000000000001000000' ? '::1' : `[${h}]`;
}

/** Listening sockets on `port`: inode -> local address. */
function listeningInodes(port: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      const [addr, p] = (c[1] ?? '').split(':');
      if (c[3] !== '0A' || !addr || Number.parseInt(p ?? '', 16) !== port || !c[9]) continue;
      out.set(c[9], hexAddr(addr));
    }
  }
  return out;
}

export function portHolder(port: number): PortHolder | undefined {
  const inodes = listeningInodes(port);
  if (!inodes.size) return undefined;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${d}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = '';
      try {
        link = readlinkSync(`/proc/${d}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (!inode || !inodes.has(inode)) continue;
      let args: string[] = [];
      try {
        args = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      } catch {
        /* gone */
      }
      const command = args.length ? [basename(args[0]!), ...args.slice(1)].join(' ').slice(0, 120) : '?';
      return { pid: Number(d), command, address: inodes.get(inode)! };
    }
  }
  return undefined;
}

/** "by PID 123 (nc -l 41000) on 0.0.0.0", or '' when no process could be found. */
export function describeHolder(port: number): string {
  const h = portHolder(port);
  if (!h) return ephemeralNote(port);
  const ours = h.command.includes('/postfix-lab/forwarder.mjs') ? ', the postfix-lab port forwarder: another lab forwards this port (npm run lab:status)' : '';
  return ` by PID ${h.pid} (${h.command}${ours}) listening on ${h.address}`;
}

/** The kernel's range for the local end of outgoing connections (net.ipv4.ip_local_port_range). */
export function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    /* not Linux */
  }
  return [32768, 60999];
}

/** When nothing listens on a port in the ephemeral range, a connection's local end holds it: say so. */
function ephemeralNote(port: number): string {
  const [lo, hi] = ephemeralRange();
  if (port < lo || port > hi) return '';
  return ` (no program listens there: the local end of a connection holds it, and the kernel hands those ports out from ${lo}-${hi}, so a fixed port in that range can be taken at any time; pick one below ${lo})`;
}
