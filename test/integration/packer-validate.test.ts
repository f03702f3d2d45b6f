/**
 * Every CI run: `packer validate` on every template with its platform's var file, and `vagrant validate -p` on the
 * Vagrantfile with a settings file as the vagrant driver writes it. Offline: checksums are inline, nothing is fetched.
 * Needs `packer` and `vagrant` (scripts/system-deps.sh test installs them).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lab/lab-file.js';
import { labState } from '../../src/lab/state.js';
import { bakeScript } from '../../src/drivers/container/image.js';
import { packerSource, recipeKey } from '../../src/drivers/vagrant/box.js';
import { pkrvars } from '../../src/drivers/vagrant/images.js';
import { checkPacker, checkVagrant } from '../../src/drivers/vagrant/prereqs.js';
import { parseSshConfig, runState } from '../../src/drivers/vagrant/vagrant.js';
import { settingsFor, vagrantEnv, vagrantPaths, writeSettings } from '../../src/drivers/vagrant/settings.js';

const repo = resolve(import.meta.dirname, '../..');
const packer = join(repo, 'packer');
const home = mkdtempSync(join(tmpdir(), 'plab-validate-'));
const fakeSum = `sha256:${'0'.repeat(64)}`;

afterAll(() => rmSync(home, { recursive: true, force: true }));

/** A list value of an OS's var file (`key = ["a", "b"]`). */
function pkrvarsList(os: string, key: string): string[] {
  const m = new RegExp(`^${key}\\s*=\\s*\\[(.*)\\]\\s*$`, 'm').exec(readFileSync(join(packer, 'os_pkrvars', `${os}.pkrvars.hcl`), 'utf8'));
  return m ? [...m[1]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!) : [];
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: repo, env: { ...env, CHECKPOINT_DISABLE: '1', VAGRANT_CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, seconds: (Date.now() - t0) / 1000 };
}

describe('packer templates', () => {
  it.each([
    ['el7', ['-var-file=packer/os_pkrvars/el7.pkrvars.hcl', 'packer/templates']],
    [
      'debian12',
      [
        '-var-file=packer/os_pkrvars/debian12.pkrvars.hcl',
        '-var',
        'iso_url=/nonexistent/debian12-base.qcow2',
        '-var',
        `iso_checksum=${fakeSum}`,
        'packer/templates',
      ],
    ],
  ])('%s validates with the shared templates and its var file', (_name, args) => {
    const r = run('packer', ['validate', ...args]);
    expect(r.out).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.seconds).toBeLessThan(10);
  });

  it.each(['el7', 'debian12'])('%s refuses an unknown accelerator', (platform) => {
    const extra = platform === 'debian12' ? ['-var', 'iso_url=/x.qcow2', '-var', `iso_checksum=${fakeSum}`] : [];
    const r = run('packer', ['validate', `-var-file=packer/os_pkrvars/${platform}.pkrvars.hcl`, ...extra, '-var', 'accelerator=kvmm', 'packer/templates']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/accelerator must be one of/);
  });

  it('keeps the el7 ISO and its sha256 inline (validate never goes online)', () => {
    const vars = pkrvars(join(packer, 'os_pkrvars', 'el7.pkrvars.hcl'));
    expect(vars.iso_url).toBe('https://vault.centos.org/7.9.2009/isos/x86_64/CentOS-7-x86_64-Minimal-2009.iso');
    expect(vars.iso_checksum).toBe('sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a');
  });

  it("points the kickstart's yum repos at the vault before anything runs yum", () => {
    const ks = readFileSync(join(packer, 'http', 'ks.cfg'), 'utf8');
    const post = ks.slice(ks.indexOf('%post'));
    expect(post.indexOf('baseurl=http://vault.centos.org/7.9.2009/os/')).toBeGreaterThan(0);
    expect(ks.slice(0, ks.indexOf('%post'))).not.toMatch(/^\s*yum\s/m);
    const firstYumCall = post.search(/^\s*yum\s/m);
    expect(firstYumCall === -1 || firstYumCall > post.indexOf('baseurl=http://vault')).toBe(true);
    expect(post).not.toMatch(/^mirrorlist=/m);
    expect(ks).toMatch(/^user --name=vagrant .*--groups=wheel/m); // Packer's login; the bake makes it a Vagrant user
  });

  it('makes the Vagrant user from one script: kickstart box, debian12 base image, both box bakes and the container image', () => {
    const common = readFileSync(join(packer, 'scripts', '_common', 'vagrant.sh'), 'utf8');
    expect(common).toMatch(/NOPASSWD: ALL/);
    expect(common).toMatch(/vagrant insecure public key/);
    for (const os of ['el7', 'debian12']) expect(pkrvarsList(os, 'scripts')).toContain('_common/vagrant.sh');
    expect(readFileSync(join(packer, 'scripts', 'debian12-base-image.sh'), 'utf8')).toMatch(/sh -eu < "\$vagrant_sh"/);
    expect(bakeScript('http://deb.debian.org/debian')).toContain(common.trimEnd());
    // nobody else writes sudoers or keys for vagrant
    for (const f of [
      'http/ks.cfg',
      'scripts/debian12-base-image.sh',
      ...readdirSync(join(packer, 'scripts'), { recursive: true, encoding: 'utf8' })
        .filter((x) => x.endsWith('.sh') && x !== '_common/vagrant.sh')
        .map((x) => `scripts/${x}`),
    ]) {
      expect(readFileSync(join(packer, f), 'utf8'), f).not.toMatch(/NOPASSWD|authorized_keys|sudoers/);
    }
  });

  it('keeps every provisioning script small, `sh -eux` and shellcheck-clean', () => {
    const scripts = readdirSync(join(packer, 'scripts'), { recursive: true, encoding: 'utf8' }).filter(
      (x) => x.endsWith('.sh') && x !== 'debian12-base-image.sh',
    );
    expect(scripts.length).toBeGreaterThan(5);
    for (const f of scripts) {
      const text = readFileSync(join(packer, 'scripts', f), 'utf8');
      expect(text.split('\n')[0], f).toBe('#!/bin/sh -eux');
      expect(text.split('\n').length, f).toBeLessThan(40);
    }
    const sc = run('shellcheck', ['-s', 'sh', ...scripts.map((f) => join(packer, 'scripts', f)), join(packer, 'scripts', 'debian12-base-image.sh')]);
    expect(sc.out).toBe('');
    expect(sc.code).toBe(0);
  });

  it('keeps required_plugins out of the templates Packer 1.6.6 loads', () => {
    for (const p of ['el7', 'debian12']) {
      expect(readFileSync(join(packer, 'os_pkrvars', `${p}.pkrvars.hcl`), 'utf8')).not.toMatch(/required_plugins/);
    }
    for (const f of readdirSync(join(packer, 'templates'))) expect(readFileSync(join(packer, 'templates', f), 'utf8'), f).not.toMatch(/required_plugins/);
    expect(readFileSync(join(packer, 'plugins', 'plugins.pkr.hcl'), 'utf8')).toMatch(/required_plugins/);
  });

  it('maps platform and provider to a Packer source, and refuses debian12 on VirtualBox', () => {
    expect(packerSource('el7', 'virtualbox')).toBe('virtualbox-iso.vm');
    expect(packerSource('el7', 'libvirt')).toBe('qemu.vm');
    expect(packerSource('debian12', 'libvirt')).toBe('qemu.vm');
    expect(() => packerSource('debian12', 'virtualbox')).toThrow(/libvirt provider only/);
    expect(recipeKey('el7', 'virtualbox', 'a')).not.toBe(recipeKey('el7', 'virtualbox', 'b'));
  });
});

describe('Vagrantfile', () => {
  it.each(['el7-virtualbox.yaml', 'debian12-container.yaml'])('vagrant validate -p passes with the settings from labs/%s', (file) => {
    process.env.POSTFIX_LAB_HOME = home;
    try {
      const lab = loadLab(join(repo, 'labs', file));
      lab.vagrant.provider = file.startsWith('el7') ? 'virtualbox' : 'libvirt';
      const state = labState(lab.name, home);
      const s = settingsFor(lab, { POSTFIX_LAB_ACCEL: 'tcg' });
      expect(s.ports.length).toBeGreaterThan(0);
      rmSync(state.driverDir, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', state.driverDir]);
      writeSettings(state, s);
      const r = run('vagrant', ['validate', '-p'], { ...vagrantEnv(vagrantPaths(state)), VAGRANT_HOME: join(home, 'vagrant.d') });
      expect(r.out).toMatch(/Vagrantfile validated successfully/);
      expect(r.code).toBe(0);
    } finally {
      delete process.env.POSTFIX_LAB_HOME;
    }
  });

  it('says what is missing when the settings file is not set', () => {
    const r = run('vagrant', ['validate', '-p'], {
      ...process.env,
      VAGRANT_CWD: join(repo, 'vagrant'),
      POSTFIX_LAB_VAGRANT: '',
      VAGRANT_HOME: join(home, 'vagrant.d'),
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/set POSTFIX_LAB_VAGRANT/);
  });
});

describe('vagrant driver prerequisites and parsing', () => {
  it('names what to install when Vagrant, VirtualBox or Packer is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = mkdtempSync(join(tmpdir(), 'plab-nopath-'));
    try {
      const err = await checkVagrant('virtualbox').catch((e: unknown) => e as Error & { hint: string });
      expect(err?.message).toBe('the vagrant driver needs Vagrant and VirtualBox (VBoxManage), which are not installed');
      expect(err?.hint).toMatch(/apt-get install vagrant/);
      expect(err?.hint).toMatch(/VirtualBox 6\.1 or 7/);
      expect(err?.hint).toMatch(/driver: container/);
      const lv = await checkVagrant('libvirt').catch((e: unknown) => e as Error & { hint: string });
      expect(lv?.message).toMatch(/needs Vagrant and the vagrant-libvirt plugin/);
      expect(() => checkPacker()).toThrow(/building the box needs Packer/);
    } finally {
      rmSync(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = path;
    }
  });

  it('reads vagrant ssh-config and maps Vagrant states', () => {
    const out = [
      'Host default',
      '  HostName 198.19.253.17',
      '  User vagrant',
      '  Port 22',
      '  UserKnownHostsFile /dev/null',
      '  IdentityFile "/x/.lab/a b/driver/vagrant/machines/default/libvirt/private_key"',
      '  IdentitiesOnly yes',
      '',
    ].join('\n');
    expect(parseSshConfig(out)).toEqual({
      host: '198.19.253.17',
      port: 22,
      user: 'vagrant',
      identityFile: '/x/.lab/a b/driver/vagrant/machines/default/libvirt/private_key',
    });
    expect(parseSshConfig('Host default\n')).toBeUndefined();
    expect(runState('running')).toBe('running');
    expect(runState('shutoff')).toBe('stopped');
    expect(runState('poweroff')).toBe('stopped');
    expect(runState('not_created')).toBe('absent');
    expect(runState('inaccessible')).toBe('unknown');
  });

  it('binds every forwarded port to 127.0.0.1 and takes everything else from the lab file', () => {
    const lab = loadLab(join(repo, 'labs', 'el7-virtualbox.yaml'));
    const s = settingsFor(lab, {});
    expect(s).toMatchObject({
      name: 'postfix-lab-el7',
      box: 'postfix-lab/centos-7.9',
      provider: 'virtualbox',
      hostname: 'mail.lab.example',
      memory: 1536,
      cpus: 2,
      libvirt: {},
    });
    expect(readFileSync(join(repo, 'vagrant', 'Vagrantfile'), 'utf8')).toMatch(/host_ip: '127\.0\.0\.1'/);
    lab.vagrant.provider = 'libvirt';
    expect(settingsFor(lab, {}).libvirt).toEqual({ driver: 'qemu', cpu_mode: 'custom', cpu_model: 'qemu64' });
    expect(settingsFor(lab, { POSTFIX_LAB_ACCEL: 'kvm', POSTFIX_LAB_LIBVIRT_OPTIONS: '{"storage_pool_name":"p"}' }).libvirt).toEqual({
      driver: 'kvm',
      storage_pool_name: 'p',
    });
    expect(() => settingsFor(lab, { POSTFIX_LAB_LIBVIRT_OPTIONS: '[1]' })).toThrow(/not a JSON object/);
    expect(() => settingsFor(lab, { POSTFIX_LAB_ACCEL: 'kvmm' })).toThrow(/not an accelerator/);
  });
});
