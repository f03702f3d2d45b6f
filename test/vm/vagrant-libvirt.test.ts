/**
 * The slow end-to-end suite (npm run test:vm): the debian12 box is built with Packer under TCG (debootstrap base
 * image included) unless the machine's cache has one made from the same inputs; lab:up adds it to Vagrant, boots it on
 * libvirt (started here in its own network namespace), provisions it over SSH; verify checks it; a snapshot is
 * saved and restored; lab:down destroys it; then every libvirt volume, the namespace and the processes go.
 * Needs root and: packer vagrant vagrant-libvirt libvirt-daemon-system qemu-system-x86 qemu-utils debootstrap fdisk
 * (sh scripts/system-deps.sh vm). Roles: roles/ (POSTFIX_LAB_VM_ROLES=DIR picks another runbook, e.g. test/fixtures/e2e-roles).
 * Memo sections: 1 by default, to stay within the 15-minute budget under TCG (POSTFIX_LAB_VM_SECTIONS=all or 1,2,...).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDriver } from '../../src/drivers/index.js';
import { buildBox } from '../../src/drivers/vagrant/box.js';
import type { DriverContext } from '../../src/drivers/types.js';
import { hostMirrors } from '../../src/drivers/mirrors.js';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import type { Host } from '../../src/host.js';
import { loadLab } from '../../src/lab/lab-file.js';
import { labLifecycle, labStatus, labUp } from '../../src/lab/ops.js';
import { connectSsh } from '../../src/ssh/executor.js';
import { labState } from '../../src/lab/state.js';
import { verifyLab } from '../../src/verify/index.js';
import { processesUsing, startLibvirt, type LibvirtEnv } from './helpers/libvirt-env.js';

const repo = resolve(import.meta.dirname, '../..');
const rolesDir = process.env.POSTFIX_LAB_VM_ROLES ? resolve(process.env.POSTFIX_LAB_VM_ROLES) : join(repo, 'roles');
const fixtureRoles = rolesDir.endsWith(join('fixtures', 'e2e-roles'));
const sectionsEnv = process.env.POSTFIX_LAB_VM_SECTIONS ?? '1';
const sections = fixtureRoles ? [1] : sectionsEnv === 'all' ? [1, 2, 3, 4] : sectionsEnv.split(',').map(Number);
const MIN = 60_000;
const VM_CACHE = process.getuid?.() === 0 ? '/var/cache/postfix-lab' : join(repo, '.lab', 'cache');
const timings: Record<string, number> = {};
const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = (Date.now() - t0) / 1000;
  }
};
const log = (m: string) => process.stderr.write(`[vm] ${m}\n`);

let env: LibvirtEnv;
let work: string;
let labFile: string;
const saved: Record<string, string | undefined> = {};

function setEnv(vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
}

let upDone = false;
const stepMs: [string, number][] = [];

function events(): Emitter {
  return new Emitter().on((e: EngineEvent) => {
    if (e.event === 'info') log(e.message);
    if (e.event === 'step') {
      stepMs.push([e.id, e.durationMs]);
      log(`step ${e.id}: ${e.status} (${(e.durationMs / 1000).toFixed(1)} s)${e.status === 'failed' ? ` ${e.detail ?? ''}` : ''}`);
    }
  });
}

/** The engine's SSH connection, plus the guest's one way to packages: the suite's proxy to the apt mirror. */
async function connectWithProxy(t: Parameters<typeof connectSsh>[0], knownHostsFile: string): Promise<Host> {
  const host = await connectSsh(t, { knownHostsFile });
  const conf = `Acquire::http::Proxy "${env.proxyUrl}";\n`;
  await host.put('/etc/apt/apt.conf.d/01postfix-lab-test-proxy', conf, { mode: 0o644, sudo: true });
  if (fixtureRoles) await host.exec('mkdir -p /tmp/plab-e2e/vmtest && touch /tmp/plab-e2e/vmtest/gate-open');
  return host;
}

function ctx(): DriverContext {
  const lab = loadLab(labFile);
  return { lab, state: labState(lab.name), progress: log };
}

beforeAll(async () => {
  if (process.getuid?.() !== 0) throw new Error('the VM suite needs root (network namespace, libvirtd, debootstrap)');
  const mirrors = hostMirrors();
  const mirrorHosts = [mirrors.mirror, mirrors.security].filter((m): m is string => !!m).map((m) => new URL(m).hostname);
  env = await timed('libvirtd start', () => startLibvirt(mirrorHosts));
  work = env.dir;
  mkdirSync(join(work, 'home'), { recursive: true });
  setEnv({
    POSTFIX_LAB_HOME: join(work, 'home'),
    VAGRANT_HOME: join(work, 'vagrant.d'),
    // The box is kept between runs in the machine's cache, keyed by everything that goes into it (packer/, the
    // debootstrap base image): a run builds it only when an input changed, or with POSTFIX_LAB_VM_REBUILD=1 (a cache
    // of the run's own, as on a fresh machine). The build has a test and a timeout of its own.
    POSTFIX_LAB_CACHE_DIR: process.env.POSTFIX_LAB_VM_REBUILD === '1' ? join(work, 'cache') : (process.env.POSTFIX_LAB_VM_CACHE ?? VM_CACHE),
    POSTFIX_LAB_ACCEL: 'tcg',
    POSTFIX_LAB_LIBVIRT_OPTIONS: JSON.stringify(env.vagrantOptions),
  });
  labFile = join(work, 'lab.yaml');
  writeFileSync(
    labFile,
    [
      'name: vmtest',
      'driver: vagrant',
      'platform: debian12',
      'ports:',
      '  - { guest: 25, host: 16525 }',
      '  - { guest: 587, host: 16587 }',
      '  - { guest: 465, host: 16465 }',
      '  - { guest: 10025, host: 26025 }',
      `sections: [${sections.join(', ')}]`,
      'vagrant: { provider: libvirt, memory: 1536, cpus: 2 }',
      `params: { artifacts: ${join(repo, 'artifacts')} }`,
      '',
    ].join('\n'),
  );
  log(`fixture ${work}, roles ${rolesDir}`);
});

afterAll(async () => {
  if (!env) return;
  const left = await timed('teardown', () => env.stop());
  if (left.length) log(`teardown had to remove: ${left.join('; ')}`);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  log(
    `timings (s): ${Object.entries(timings)
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ')}`,
  );
  const slow = [...stepMs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)}`);
  log(`steps: ${stepMs.length}, ${(stepMs.reduce((a, [, ms]) => a + ms, 0) / 1000).toFixed(0)} s in all; slowest (s): ${slow.join(', ')}`);
  expect(processesUsing(work)).toEqual([]);
  expect(existsSync(`/run/netns/${env.netns}`)).toBe(false);
});

describe('vagrant driver on libvirt (TCG), end to end', () => {
  // Cold under TCG: ~150 s quiet, ~300 s with other suites running for the base image alone; the whole box a few
  // minutes more. 25 minutes keeps 2x over a busy cold build; a cached box takes seconds.
  it(
    'builds the debian12 box, or takes it from the cache when none of its inputs changed',
    async () => {
      const box = await timed('box (build or cache)', () => buildBox({ platform: 'debian12', provider: 'libvirt', accelerator: 'tcg', progress: log }));
      log(`box ${box.built ? 'built' : 'from the cache'} in ${box.seconds.toFixed(0)} s: ${box.file}`);
      expect(box.sha256).toMatch(/^[0-9a-f]{64}$/);
    },
    25 * MIN,
  );

  it(
    'lab:up adds the box, boots it and provisions it',
    async () => {
      const recap = await timed('lab:up (box build + vagrant up + provisioning)', () =>
        labUp({ labFile, rolesDir, events: events(), connect: (t, s) => connectWithProxy(t, s.knownHostsFile) }),
      );
      expect(recap.error?.message ?? '').toBe('');
      expect(recap).toMatchObject({ failed: 0 });
      expect(recap.changed).toBeGreaterThan(0);
      expect(env.refused).toEqual([]);
      // Vagrant replaced the box's insecure key with a key of its own for this lab.
      const [st] = await labStatus({ name: 'vmtest', events: new Emitter() });
      expect(st).toMatchObject({ state: 'running', driver: 'vagrant', ssh: { user: 'vagrant', port: 22 } });
      expect(st?.ssh?.identityFile).toContain(join(work, 'home', 'vmtest', 'driver'));
      expect(st?.ssh?.host).toMatch(/^198\.19\.253\.\d+$/);
      // lab:up checkpointed the VM at the start of the section it built (`vagrant snapshot`), for `course start`.
      expect(await (await getDriver('vagrant')).snapshot!(ctx(), 'list')).toEqual(['start-1']);
      upDone = true;
    },
    (6 + 4 * sections.length) * MIN,
  );

  it(
    'lab:halt stops the VM; lab:up boots the same VM again and changes nothing',
    async () => {
      expect(upDone).toBe(true);
      await timed('lab:halt', () => labLifecycle('halt', { labFile, events: events() }));
      expect((await labStatus({ name: 'vmtest', events: new Emitter() }))[0]).toMatchObject({ state: 'stopped', detail: 'vagrant: shutoff' });
      const recap = await timed('lab:up of the halted VM', () =>
        labUp({ labFile, rolesDir, events: events(), connect: (t, s) => connectWithProxy(t, s.knownHostsFile) }),
      );
      expect(recap).toMatchObject({ failed: 0, changed: 0 });
    },
    6 * MIN,
  );

  it.skipIf(fixtureRoles)(
    'verify passes against the VM',
    async () => {
      expect(upDone).toBe(true);
      const report = await timed('verify', () => verifyLab({ labFile, section: sections.length === 1 ? String(sections[0]) : undefined }));
      const failed = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status} ${r.message}`);
      expect(failed).toEqual([]);
      expect(report.summary.pass).toBeGreaterThan(0);
    },
    4 * MIN,
  );

  it(
    'saves a snapshot and restores it; SSH answers again after the restore',
    async () => {
      expect(upDone).toBe(true);
      const d = await getDriver('vagrant');
      const c = ctx();
      // The driver sorts the names: libvirt lists snapshots in no fixed order.
      expect(await timed('snapshot save', () => d.snapshot!(c, 'save', 'provisioned'))).toEqual(['provisioned', 'start-1']);
      const target = (await d.status(c)).ssh!;
      const mark = '/home/vagrant/after-snapshot';
      const h1 = await connectSsh(target, { knownHostsFile: c.state.knownHostsFile });
      await h1.exec(`touch ${mark} && sync`);
      await h1.close();
      expect(await timed('snapshot restore', () => d.snapshot!(c, 'restore', 'provisioned'))).toEqual(['provisioned', 'start-1']);
      const h2 = await connectSsh(target, { knownHostsFile: c.state.knownHostsFile });
      try {
        expect((await h2.exec(`test -e ${mark}; echo $?`)).stdout.trim()).toBe('1');
      } finally {
        await h2.close();
      }
    },
    3 * MIN,
  );

  it(
    'lab:down destroys the VM and its disk',
    async () => {
      await timed('lab:down', () => labLifecycle('down', { labFile, events: events() }));
      expect(env.virsh('list', '--all', '--name').trim()).toBe('');
      // Only the box's base volume stays in the pool (shared by labs of the same box); the suite removes it.
      expect(
        env
          .virsh('vol-list', 'plab-vmtest')
          .split('\n')
          .filter((l) => l.includes('postfix-lab-vmtest')),
      ).toEqual([]);
      expect(await labStatus({ events: new Emitter() })).toEqual([]);
      rmSync(join(work, 'home', 'vmtest'), { recursive: true, force: true });
    },
    3 * MIN,
  );
});
