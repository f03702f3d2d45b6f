/**
 * Each lab: its own network namespace and a veth pair with a /30 from 198.18.0.0/15 (host side .1, lab side .2).
 * The lab has no default route: only its /30 and a host route to the package proxy. An nftables table keeps
 * the lab from reaching anything on the host but the proxy (host services listening on all addresses included).
 * Allocations live in a machine-wide registry so labs of any state folder never collide.
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError } from '../../errors.js';
import { readJson, writePrivate } from '../../lab/state.js';
import { securityMirror } from '../mirrors.js';
import { ensureProxy, PROXY_ADDR, PROXY_PORT, stopProxy } from './proxy.js';
import { paths, probe, run, runWithInput, withLock } from './sys.js';

/** 198.18.0.0/15 holds 32768 /30s; the last one is reserved for the proxy address. */
const BASE = (198 << 24) | (18 << 16);
const SLOTS = 32767;
const VETH_PREFIX = 'pflab';
/** What systemd sets net.unix.max_dgram_qlen to on a booted machine. */
export const UNIX_DGRAM_QLEN = 512;

export interface Allocation {
  index: number;
  netns: string;
  /** Host end of the veth pair. */
  veth: string;
  hostAddr: string;
  labAddr: string;
}

interface Entry {
  index: number;
  name: string;
  stateDir: string;
  mirror: string;
  active: boolean;
}
interface Registry {
  labs: Record<string, Entry>;
}

const registryFile = () => join(paths.lib, 'network.json');
const readRegistry = (): Registry => readJson<Registry>(registryFile()) ?? { labs: {} };
function writeRegistry(r: Registry): void {
  mkdirSync(paths.lib, { recursive: true, mode: 0o755 });
  writePrivate(registryFile(), JSON.stringify(r, null, 2) + '\n', 0o644);
}

/** The mirrors the proxy must serve: those of the labs that run, and their security mirrors. */
const activeMirrors = (reg: Registry) =>
  Object.values(reg.labs)
    .filter((e) => e.active)
    .flatMap((e) => [e.mirror, securityMirror(e.mirror)].filter((m): m is string => !!m));

const ip4 = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export function slot(index: number, netns: string): Allocation {
  const net = BASE + index * 4;
  return { index, netns, veth: `${VETH_PREFIX}${index}`, hostAddr: ip4(net + 1), labAddr: ip4(net + 2) };
}

export const netnsName = (lab: string) => `postfix-lab-${lab}`;

export function lookup(netns: string): Allocation | undefined {
  const e = readRegistry().labs[netns];
  return e ? slot(e.index, netns) : undefined;
}

/** Reserve (or find again) this lab's /30 in the registry. A lab of the same name from another state folder is refused. */
function reserve(reg: Registry, netns: string, name: string, stateDir: string, mirror: string): Entry {
  checkOwner(netns, name, stateDir, reg);
  const cur = reg.labs[netns];
  if (cur) return Object.assign(cur, { mirror });
  const used = new Set(Object.values(reg.labs).map((e) => e.index));
  // /30s someone else already uses on this host (other tools pick from 198.18.0.0/15 too)
  for (const i of Object.values(networkInterfaces()).flat()) {
    const [a, b, c, d] = (i?.family === 'IPv4' ? i.address : '').split('.').map(Number) as [number, number, number, number];
    if (a === 198 && (b === 18 || b === 19)) used.add((((a << 24) | (b << 16) | (c << 8) | d) - BASE) >>> 2);
  }
  let index = 0;
  while (used.has(index)) index++;
  if (index >= SLOTS) throw new InputError('no free address block left in 198.18.0.0/15', 'Take some labs down (npm run lab:down).');
  const entry = { index, name, stateDir, mirror, active: false };
  reg.labs[netns] = entry;
  return entry;
}

/**
 * Lab names are machine-wide (namespace, cgroup and nspawn machine names derive from them): a lab of the same name
 * made from another state folder is refused, and nothing of it is touched.
 */
export function checkOwner(netns: string, name: string, stateDir: string, reg = readRegistry()): void {
  const cur = reg.labs[netns];
  if (cur && cur.stateDir !== stateDir) {
    throw new InputError(
      `a lab named "${name}" already exists on this machine, made from another state folder (${cur.stateDir})`,
      `Take that one down first (POSTFIX_LAB_HOME=${dirname(cur.stateDir)} npm run lab:down), or give this lab another name.`,
    );
  }
}

export const netnsExists = (netns: string) => existsSync(`/run/netns/${netns}`);
export const linkExists = (dev: string) => existsSync(`/sys/class/net/${dev}`);

/** Lab veths are named in a set, so the rules match exactly ours (not another tool's look-alike names). */
function nftRules(): string {
  return `table inet postfix_lab {
  set labs { type ifname; }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname != @labs accept
    ct state established,related accept
    ip daddr ${PROXY_ADDR} tcp dport ${PROXY_PORT} accept
    drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname @labs drop
    oifname @labs drop
  }
}
`;
}

/** The pieces all labs share: nft table (with this lab's veth in its set), proxy address on lo, the proxy. */
async function sharedUp(veth: string, mirrors: string[]): Promise<void> {
  const element = `{ ${veth} }`;
  if ((await probe`nft add element inet postfix_lab labs ${element}`).code !== 0) {
    const file = join(paths.lib, 'nftables.conf');
    writeFileSync(file, nftRules());
    await run`nft -f ${file}`;
    await run`nft add element inet postfix_lab labs ${element}`;
  }
  if (!networkInterfaces().lo?.some((i) => i.address === PROXY_ADDR)) await run`ip addr add ${PROXY_ADDR}/32 dev lo`;
  await ensureProxy(mirrors);
}

async function sharedDown(): Promise<void> {
  await stopProxy();
  await probe`nft delete table inet postfix_lab`;
  await probe`ip addr del ${PROXY_ADDR}/32 dev lo`;
  // nspawn's bookkeeping under /run (it cannot remove it itself where /run is not tmpfs)
  for (const d of ['locks', 'propagate', 'unix-export', '']) {
    try {
      rmdirSync(join('/run/systemd/nspawn', d));
    } catch {
      /* not empty or absent */
    }
  }
}

function setSysctl(path: string, value: string): void {
  if (existsSync(path)) writeFileSync(path, value);
}

/**
 * Reserve the lab's /30, make sure the shared pieces run (short, under the network lock), then make the lab's
 * namespace, veth pair, addresses and route to the proxy (its own names: no lock needed).
 */
export async function networkUp(netns: string, name: string, stateDir: string, mirror: string): Promise<Allocation> {
  const a = await withLock('network', async () => {
    const reg = readRegistry();
    const entry = reserve(reg, netns, name, stateDir, mirror);
    entry.active = true; // from here on, a failure leaves something networkDown() must remove
    writeRegistry(reg);
    const a = slot(entry.index, netns);
    await sharedUp(a.veth, activeMirrors(reg));
    return a;
  });
  await labNamespace(a);
  return a;
}

/**
 * A running lab's namespace made afresh for its next boot (what a VM's reboot resets: addresses, routes, rules the
 * lab made at run time), keeping its reservation and the shared pieces: the registry entry stays active, so the
 * proxy and the nft table (its set holds the veth's name, which the new pair has again) stay up.
 */
export async function networkRenew(a: Allocation): Promise<Allocation> {
  // (the shared pieces checked on the way, as networkRefresh does for a running lab: e.g. after a proxy crash)
  await Promise.all([labNamespace(a), networkRefresh(a.netns)]);
  return a;
}

/** The lab's own namespace, veth pair, addresses and route to the proxy (its own names: no lock needed). */
async function labNamespace(a: Allocation): Promise<void> {
  // the veth first: deleting it is done when `ip` returns, while a namespace's devices go some time after it
  const old = [linkExists(a.veth) ? `link del ${a.veth}\n` : '', netnsExists(a.netns) ? `netns del ${a.netns}\n` : ''].join('');
  await runWithInput(
    `${old}netns add ${a.netns}\nlink add ${a.veth} type veth peer name eth0 netns ${a.netns}\naddr add ${a.hostAddr}/30 dev ${a.veth}\nlink set ${a.veth} up\n`,
  )`ip -batch -`;
  setSysctl(`/proc/sys/net/ipv4/conf/${a.veth}/forwarding`, '0'); // (the nft forward chain drops it anyway)
  setSysctl(`/proc/sys/net/ipv6/conf/${a.veth}/disable_ipv6`, '1');
  await runWithInput(
    `link set lo up\naddr add ${a.labAddr}/30 dev eth0\nlink set eth0 up\nroute add ${PROXY_ADDR}/32 via ${a.hostAddr} dev eth0\n`,
  )`ip -n ${a.netns} -batch -`;
  // systemd raises this to 512 at boot on a VM; in a container /proc/sys is read-only, and a new namespace starts
  // at 10. With 10, journald drops lines it forwards to rsyslog in a burst ("Forwarding to syslog missed N
  // messages"), and /var/log/maillog misses deliveries. It is per network namespace: set it in the lab's.
  await run`ip netns exec ${a.netns} sh -c ${`echo ${UNIX_DGRAM_QLEN} > /proc/sys/net/unix/max_dgram_qlen`}`;
}

/** For a running lab: make sure the shared pieces (nft table, proxy) are still there, e.g. after a proxy crash. */
export async function networkRefresh(netns: string): Promise<void> {
  await withLock('network', async () => {
    const reg = readRegistry();
    const entry = reg.labs[netns];
    if (entry?.active) await sharedUp(slot(entry.index, netns).veth, activeMirrors(reg));
  });
}

/** Remove the namespace (the veth pair goes with it); the last lab out stops the proxy and the nft table. */
export async function networkDown(netns: string, release: boolean): Promise<void> {
  await withLock('network', async () => {
    const reg = readRegistry();
    const entry = reg.labs[netns];
    if (netnsExists(netns)) await run`ip netns del ${netns}`;
    if (entry) {
      const veth = slot(entry.index, netns).veth;
      if (linkExists(veth)) await probe`ip link del ${veth}`; // normally gone with the namespace
      await probe`nft delete element inet postfix_lab labs ${`{ ${veth} }`}`;
      entry.active = false;
      if (release) delete reg.labs[netns];
      writeRegistry(reg);
    }
    if (!Object.values(reg.labs).some((e) => e.active)) await sharedDown();
  });
}

/** State folders of every lab that holds an address (running or halted), whichever state root it belongs to. */
export function registeredStateDirs(): string[] {
  return Object.values(readRegistry().labs).map((e) => e.stateDir);
}

export function registryEntry(netns: string): { stateDir: string; active: boolean } | undefined {
  return readRegistry().labs[netns];
}
