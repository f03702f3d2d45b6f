/**
 * The container driver for real: as root, on a Debian/Ubuntu host (prerequisites are installed when missing).
 * Takes a few minutes the first time (base image build), well under one after that.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerDriver as driver } from '../../src/drivers/container/index.js';
import { ensureBaseImage, hostMirror, imageKey, PACKAGES } from '../../src/drivers/container/image.js';
import { securityMirror } from '../../src/drivers/mirrors.js';
import { lookup, netnsName, registryEntry, UNIX_DGRAM_QLEN, type Allocation } from '../../src/drivers/container/network.js';
import { PROXY_ADDR, PROXY_PORT } from '../../src/drivers/container/proxy.js';
import { forwarderPid } from '../../src/drivers/container/forward.js';
import { cgroupPids } from '../../src/drivers/container/nspawn.js';
import { sshBanner } from '../../src/drivers/local/ssh-wait.js';
import { ensurePrerequisites } from '../../src/drivers/container/prereqs.js';
import { paths } from '../../src/drivers/container/sys.js';
import { isAlive } from '../../src/drivers/local/processes.js';
import type { DriverContext } from '../../src/drivers/types.js';
import type { SshTarget } from '../../src/ssh/target.js';
import { InputError, LabError } from '../../src/errors.js';
import { loadLab, type Lab } from '../../src/lab/lab-file.js';
import { labState } from '../../src/lab/state.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const root = mkdtempSync('/tmp/postfix-lab-ct-');
process.env.POSTFIX_LAB_HOME = root;
const tag = process.pid.toString(36).slice(-4);
const basePort = 20000 + (process.pid % 20000);

/** A real lab file, loaded the way `lab:up` loads it. */
function makeLab(suffix: string, ports: Lab['ports'] = [], platform: Lab['platform'] = 'debian12'): Lab {
  const file = join(root, `${suffix}.lab.yml`);
  const lines = [
    `name: ct${tag}-${suffix}`,
    'driver: container',
    `platform: ${platform}`,
    'ports:',
    ...ports.map((p) => `  - { guest: ${p.guest}, host: ${p.host} }`),
  ];
  writeFileSync(file, (ports.length ? lines : lines.slice(0, 3)).join('\n') + '\n');
  return loadLab(file);
}

const made = new Map<string, Lab>();
const progress: string[] = [];
function ctx(lab: Lab, signal?: AbortSignal): DriverContext {
  made.set(lab.name, lab);
  return { lab, state: labState(lab.name, root), progress: (m) => progress.push(`${lab.name}: ${m}`), signal };
}

async function inLab(t: SshTarget, command: string, port = t.port, host = t.host): Promise<string> {
  const { stdout } = await run(
    'ssh',
    [
      '-i',
      t.identityFile,
      '-p',
      String(port),
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=10',
      `${t.user}@${host}`,
      command,
    ],
    { timeout: 300_000 },
  );
  return stdout;
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 2000 });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
    s.on('timeout', () => {
      s.destroy();
      resolve(true);
    });
  });
}

/** Local addresses of sockets listening on `port` (from /proc/net/tcp and tcp6). */
function listeners(port: number): string[] {
  const out: string[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const [, local, , st] = line.trim().split(/\s+/);
      if (!local || st !== '0A') continue;
      const [addr, p] = local.split(':');
      if (Number.parseInt(p ?? '', 16) !== port || !addr) continue;
      out.push(
        addr.length === 8
          ? addr
              .match(/../g)!
              .reverse()
              .map((h) => Number.parseInt(h, 16))
              .join('.')
          : addr,
      );
    }
  }
  return out;
}

function pidsOf(lab: Lab): number[] {
  const dir = labState(lab.name, root).driverDir;
  const pids = ['nspawn.pid'].flatMap((f) => (existsSync(join(dir, f)) ? [Number(readFileSync(join(dir, f), 'utf8'))] : []));
  return [...pids, ...cgroupPids(netnsName(lab.name))];
}

/** Running (a zombie waiting for its parent to reap it is not). */
const alive = (pid: number) => isAlive(pid);

/** Everything `down` must have removed for this lab. */
async function assertNothingLeft(lab: Lab, pids: number[]): Promise<void> {
  const netns = (await run('ip', ['netns', 'list'])).stdout;
  expect(netns.split(/\s+/)).not.toContain(netnsName(lab.name));
  const st = labState(lab.name, root);
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(st.dir);
  expect(existsSync(st.driverDir)).toBe(false);
  expect(pids.filter(alive)).toEqual([]);
  expect(forwarderPid(st.driverDir)).toBeUndefined();
  for (const p of lab.ports) expect(listeners(p.host)).toEqual([]);
  expect(existsSync(`/run/systemd/nspawn/propagate/${lab.name}`)).toBe(false);
  expect(existsSync(`/run/netns/${netnsName(lab.name)}`)).toBe(false);
  for (const r of ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified', '/sys/fs/cgroup'])
    expect(existsSync(join(r, 'postfix-lab', netnsName(lab.name)))).toBe(false);
  expect((await driver.status(ctx(lab))).state).toBe('absent');
}

const A = makeLab('a', [{ guest: 22, host: basePort }]);
const B = makeLab('b', [{ guest: 22, host: basePort + 1 }]);
let ta: SshTarget;
let tb: SshTarget;

describe('container driver: input checks', () => {
  it('refuses an el7 lab and points to the vagrant driver', async () => {
    const el7 = makeLab('el7', [], 'el7');
    const e = await driver.up(ctx(el7)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).hint).toMatch(/vagrant/);
  });
});

describe.skipIf(!isRoot)('container driver (real, as root)', () => {
  // on a fresh Debian/Ubuntu machine this installs mmdebstrap, systemd-container, apt-cacher-ng, nftables, ...
  beforeAll(() => ensurePrerequisites((m) => progress.push(m)), 600_000);
  afterAll(async () => {
    for (const lab of made.values()) await driver.down(ctx(lab)).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('builds the base image once and reuses it; its key follows the package list and mirror', async () => {
    const mirror = hostMirror();
    const first = await ensureBaseImage({ mirror, progress: (m) => progress.push(m) });
    expect(existsSync(first.tarball)).toBe(true);
    expect(existsSync(join(first.rootfs, 'usr/sbin/sshd'))).toBe(true);
    expect(existsSync(join(first.rootfs, 'etc/ssh/ssh_host_ed25519_key'))).toBe(false); // made at each lab's first boot
    expect(readFileSync(join(first.rootfs, 'etc/sudoers.d/vagrant'), 'utf8')).toMatch(/NOPASSWD/);
    expect(existsSync(join(first.rootfs, 'home/vagrant/.ssh/authorized_keys'))).toBe(false); // no shared key in the image
    const t0 = Date.now();
    const again = await ensureBaseImage({ mirror, progress: (m) => progress.push(m) });
    expect(again).toEqual(first);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(imageKey(mirror, [...PACKAGES, 'postfix'])).not.toBe(first.key);
    expect(imageKey('http://mirror.example/debian')).not.toBe(first.key);
  }, 600_000);

  it('boots two labs at once, each with its own address', async () => {
    const [ra, rb] = await Promise.all([driver.up(ctx(A)), driver.up(ctx(B))]);
    expect(ra.created && rb.created).toBe(true);
    ta = ra.targets[0]!;
    tb = rb.targets[0]!;
    expect(ta.host).not.toBe(tb.host);
    expect(ta.host).toMatch(/^198\.1[89]\./);
    expect(ta).toMatchObject({ port: 22, user: 'vagrant', sudo: true });
    expect(readFileSync(ta.identityFile, 'utf8')).toMatch(/PRIVATE KEY/);
    expect((await run('stat', ['-c', '%a', ta.identityFile])).stdout.trim()).toBe('600');
    expect(await sshBanner(ta.host, 22)).toMatch(/^SSH-2\.0-/);
    expect(await sshBanner(tb.host, 22)).toMatch(/^SSH-2\.0-/);
    expect((await driver.status(ctx(A))).state).toBe('running');
    // and like a VM, where systemd raises the datagram queue (journald drops syslog forwards at the default 10)
    const out = await inLab(ta, 'hostname; systemctl is-system-running --wait; sudo -n id -u; cat /proc/sys/net/unix/max_dgram_qlen');
    expect(out.split('\n')).toEqual([A.name, 'running', '0', String(UNIX_DGRAM_QLEN), '']);
    // each lab made its own host keys
    const fp = (t: SshTarget) => inLab(t, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    expect(await fp(ta)).not.toBe(await fp(tb));
  }, 600_000);

  it('serves forwarded ports on 127.0.0.1 and on no other address', async () => {
    const port = A.ports[0]!.host;
    expect(await sshBanner('127.0.0.1', port)).toMatch(/^SSH-2\.0-/);
    expect(await inLab(ta, 'hostname', port, '127.0.0.1')).toBe(`${A.name}\n`);
    expect(listeners(port)).toEqual(['127.0.0.1']);
    // served by a process in a session of its own: it outlives `lab:up` and Ctrl-C does not reach it
    // one forwarder serves every lab's ports
    const fwd = forwarderPid(labState(A.name, root).driverDir)!;
    expect(forwarderPid(labState(B.name, root).driverDir)).toBe(fwd);
    const stat = readFileSync(`/proc/${fwd}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])).toBe(fwd); // session id
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && i.family === 'IPv4' && !i.internal)
      .map((i) => i!.address);
    for (const addr of [...others, ta.host.replace(/\.2$/, '.1')]) expect(await refused(addr, port)).toBe(true);
  }, 60_000);

  it('says clearly when a host port is already in use', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(basePort + 2, '127.0.0.1', () => r()));
    try {
      const C = makeLab('c', [{ guest: 25, host: basePort + 2 }]);
      const e = await driver.up(ctx(C)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).message).toContain(String(basePort + 2));
      expect((e as InputError).hint).toContain(C.file);
      expect((await driver.status(ctx(C))).state).not.toBe('running');
      // and another lab's forwarded port is just as taken
      const D = makeLab('d', [{ guest: 22, host: A.ports[0]!.host }]);
      await expect(driver.up(ctx(D))).rejects.toThrow(/already in use/);
    } finally {
      busy.close();
    }
  }, 300_000);

  it('installs a package through the proxy (cached for the next lab); the lab reaches nothing else', async () => {
    const install = 'sudo apt-get update -q >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello >/dev/null && hello';
    expect(await inLab(ta, install)).toBe('Hello, world!\n');
    // Debian's security updates come through the same proxy (deb.debian.org carries debian-security)
    if (securityMirror(hostMirror()))
      expect(await inLab(ta, 'ls /var/lib/apt/lists/ | grep -c "_debian-security_dists_bookworm-security_.*Packages" || true')).not.toBe('0\n');
    const cached = (await run('find', [join(paths.cache, 'apt-cacher-ng'), '-name', 'hello_*.deb'])).stdout.trim();
    expect(cached).toMatch(/hello_.*\.deb$/);
    const before = statSync(cached);
    // the second lab gets the same file from the cache: not downloaded (rewritten) again
    expect(await inLab(tb, install)).toBe('Hello, world!\n');
    const after = statSync(cached);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // a service on the host listening on every address is out of reach, as are the mirror and the world
    const hostSvc = createServer((s) => s.end('hi\n'));
    await new Promise<void>((r) => hostSvc.listen(basePort + 3, '0.0.0.0', () => r()));
    try {
      const mirrorHost = new URL(hostMirror()).hostname;
      const mirrorIp = (await run('getent', ['ahostsv4', mirrorHost])).stdout.split(/\s+/)[0]!;
      const gw = ta.host.replace(/\.2$/, '.1');
      const probe = (h: string, p: number) => `timeout 4 bash -c 'exec 3<>/dev/tcp/${h}/${p}' 2>/dev/null && echo open || echo closed`;
      const out = await inLab(
        ta,
        [probe(gw, basePort + 3), probe(mirrorIp, 80), probe('1.1.1.1', 443), probe(tb.host, 22), 'ip route 2>/dev/null || cat /proc/net/route | wc -l'].join(
          '; ',
        ),
      );
      expect(out.split('\n').slice(0, 4)).toEqual(['closed', 'closed', 'closed', 'closed']);
      const denied = await inLab(ta, `exec 3<>/dev/tcp/${PROXY_ADDR}/${PROXY_PORT}; printf 'GET http://example.com/ HTTP/1.0\\r\\n\\r\\n' >&3; head -1 <&3`);
      expect(denied).toMatch(/^HTTP\/1\.[01] 403/);
    } finally {
      hostSvc.close();
    }
  }, 600_000);

  it('round-trips a file through snapshot save and restore', async () => {
    await inLab(ta, 'echo one > ~/marker');
    expect(await driver.snapshot!(ctx(A), 'save', 's1')).toEqual(['s1']);
    expect((await driver.status(ctx(A))).state).toBe('running'); // stopped for the snapshot, booted again
    await inLab(ta, 'echo two > ~/marker; rm -f /tmp/x');
    await driver.snapshot!(ctx(A), 'restore', 's1');
    expect(await inLab(ta, 'cat ~/marker')).toBe('one\n');
    expect(await driver.snapshot!(ctx(A), 'list')).toEqual(['s1']);
    await expect(driver.snapshot!(ctx(A), 'restore', 'nope')).rejects.toBeInstanceOf(InputError);
    expect((await driver.status(ctx(A))).state).toBe('running'); // a refused restore leaves the lab alone
  }, 300_000);

  it('keeps the disk across halt and up', async () => {
    await inLab(ta, 'echo kept > ~/halt-marker');
    await driver.halt(ctx(A));
    const st = await driver.status(ctx(A));
    expect(st.state).toBe('stopped');
    expect((await run('ip', ['netns', 'list'])).stdout.split(/\s+/)).not.toContain(netnsName(A.name));
    expect(await refused('127.0.0.1', A.ports[0]!.host)).toBe(true); // forwarded ports stop with the lab
    const again = await driver.up(ctx(A));
    expect(again.created).toBe(false);
    expect(again.targets[0]!.host).toBe(ta.host);
    expect(await inLab(ta, 'cat ~/halt-marker ~/marker')).toBe('kept\none\n');
  }, 300_000);

  it('shows the console when a lab does not boot', async () => {
    await inLab(tb, 'sudo touch /etc/ssh/sshd_not_to_be_run');
    await driver.halt(ctx(B));
    process.env.POSTFIX_LAB_BOOT_TIMEOUT_S = '6';
    try {
      const e = await driver.up(ctx(B)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LabError);
      expect((e as LabError).message).toMatch(/did not boot[\s\S]*console[\s\S]*\|/);
      expect((e as LabError).hint).toMatch(/lab:down/);
    } finally {
      delete process.env.POSTFIX_LAB_BOOT_TIMEOUT_S;
    }
    expect((await driver.status(ctx(B))).state).toBe('stopped');
  }, 300_000);

  it('lets up continue an interrupted up', async () => {
    const E = makeLab('e');
    const ac = new AbortController();
    const c = ctx(E, ac.signal);
    const p = driver.up({
      ...c,
      progress: (m) => {
        if (m.startsWith('booting')) ac.abort();
      },
    });
    await expect(p).rejects.toThrow(/interrupted/);
    const r = await driver.up(ctx(E));
    expect(r.created).toBe(true);
    expect(await sshBanner(r.targets[0]!.host, 22)).toMatch(/^SSH-/);
  }, 300_000);

  it('reports a crashed lab as leftover, and down removes it', async () => {
    const E = made.get(`ct${tag}-e`)!;
    const pid = Number(readFileSync(join(labState(E.name, root).driverDir, 'nspawn.pid'), 'utf8'));
    const pids = pidsOf(E);
    process.kill(pid, 'SIGKILL'); // its container keeps running, orphaned
    await new Promise((r) => setTimeout(r, 300));
    const st = await driver.status(ctx(E));
    expect(st.state).toBe('leftover');
    await driver.down(ctx(E));
    await assertNothingLeft(E, pids);
  }, 120_000);

  /** The veths in the nft set that the shared table filters (none when the table is gone). */
  async function nftLabs(): Promise<string> {
    return run('nft', ['list', 'set', 'inet', 'postfix_lab', 'labs']).then(
      (r) => r.stdout,
      () => '',
    );
  }

  let fwd: number | undefined;
  it('down leaves nothing of its own labs behind, whatever other labs run on the machine', async () => {
    const pa = pidsOf(A);
    const pb = pidsOf(B);
    const slots = [A, B].map((lab) => lookup(netnsName(lab.name))!) as Allocation[];
    fwd = forwarderPid(labState(A.name, root).driverDir);
    expect(fwd).toBeDefined();
    expect(pa.filter(alive).length).toBeGreaterThan(0);
    // A runs; B is stopped since its failed boot but still holds its /30
    expect(existsSync(`/sys/class/net/${slots[0]!.veth}`), slots[0]!.veth).toBe(true);
    expect(await nftLabs()).toMatch(new RegExp(`"${slots[0]!.veth}"`));
    expect(slots[1]).toBeDefined();
    await Promise.all([driver.down(ctx(A)), driver.down(ctx(B))]);
    await assertNothingLeft(A, pa);
    await assertNothingLeft(B, pb);
    for (const lab of made.values()) expect((await driver.status(ctx(lab))).state).toBe('absent');
    const addrs = Object.values(networkInterfaces())
      .flat()
      .map((i) => i?.address);
    const inSet = await nftLabs();
    for (const [k, lab] of [A, B].entries()) {
      const a = slots[k]!;
      expect(registryEntry(netnsName(lab.name)), lab.name).toBeUndefined(); // its /30 is free again
      expect(existsSync(`/sys/class/net/${a.veth}`), a.veth).toBe(false);
      expect(inSet, `${a.veth} still in the nft set`).not.toMatch(new RegExp(`"${a.veth}"`));
      expect(addrs, a.hostAddr).not.toContain(a.hostAddr);
    }
  }, 120_000);

  it('the last lab out takes the shared pieces with it: no veth, proxy, nft table, forwarder or files under /run', async (t) => {
    const others = Object.keys(JSON.parse(readFileSync(join(paths.lib, 'network.json'), 'utf8')).labs as object);
    // These pieces are machine-wide: while a lab of another run or another user exists, they rightly stay.
    t.skip(others.length > 0, `other labs hold the shared pieces on this machine: ${others.join(', ')}`);
    expect((await run('ip', ['-o', 'link'])).stdout).not.toMatch(/pflab\d+/);
    expect((await run('nft', ['list', 'tables'])).stdout).not.toContain('postfix_lab');
    expect(existsSync(paths.run)).toBe(false);
    expect(fwd).toBeDefined();
    expect(alive(fwd!)).toBe(false); // the shared port forwarder went with the last lab
    expect(existsSync('/run/systemd/nspawn')).toBe(false);
    expect(listeners(PROXY_PORT)).not.toContain(PROXY_ADDR);
  }, 60_000);
});
