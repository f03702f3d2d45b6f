/** Re-keying a clone on the host: the layer view, the layer it writes per checkpoint, and the keys (no lab booted). */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SSHD_DROP_IN, sshdDropIn } from '../../src/class/login.js';
import { hashPasswords, hasTls, makeKeys, type RekeyInput, rekeyEdit, withPassword } from '../../src/class/rekey.js';
import { layerOnSnapshots, snapshotView } from '../../src/drivers/container/clone.js';
import { layout } from '../../src/drivers/container/disk.js';
import { LayerView, writeLayer } from '../../src/drivers/container/layer-edit.js';
import { readSnapshot, readStack } from '../../src/drivers/container/layers.js';
import { labState } from '../../src/lab/state.js';

const isRoot = process.getuid?.() === 0;
const tmp = () => mkdtempSync(join(tmpdir(), 'plab-rekey-'));
const whiteout = (p: string) => spawnSync('mknod', [p, 'c', '0', '0']).status === 0;

/** A folder tree from { 'etc/x': 'content', 'etc/d/': null (a folder) }. */
function tree(files: Record<string, string | null>): string {
  const d = tmp();
  for (const [p, c] of Object.entries(files)) {
    if (c === null) mkdirSync(join(d, p), { recursive: true });
    else {
      mkdirSync(join(d, p, '..'), { recursive: true });
      writeFileSync(join(d, p), c);
    }
  }
  return d;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nvagrant:x:1000:1000::/home/vagrant:/bin/bash\n';
const SHADOW = 'root:*:19000:0:99999:7:::\nvagrant:!:19000:0:99999:7:::\n';

describe('a checkpoint read through its layers on the host', () => {
  it('takes the top-most file, and sees the names of a folder across the layers', () => {
    const v = new LayerView([tree({ 'etc/a': 'top', 'etc/c': 'c' }), tree({ 'etc/a': 'low', 'etc/b': 'b' })]);
    expect(v.read('etc/a')).toBe('top');
    expect(v.read('etc/b')).toBe('b');
    expect(v.read('etc/none')).toBeUndefined();
    expect(v.list('etc').sort()).toEqual(['a', 'b', 'c']);
  });

  it.skipIf(!isRoot)('hides what a whiteout above it removed: a file, or a whole folder', () => {
    const top = tree({ etc: null });
    expect(whiteout(join(top, 'etc/b')) && whiteout(join(top, 'ssl'))).toBe(true);
    const v = new LayerView([top, tree({ 'etc/b': 'b', 'etc/c': 'c', 'ssl/private/k': 'key' })]);
    expect(v.exists('etc/b')).toBe(false);
    expect(v.exists('ssl/private/k')).toBe(false);
    expect(v.list('etc')).toEqual(['c']);
  });
});

describe('a layer written on the host', () => {
  it.skipIf(!isRoot)("gives its folders the lower layers' mode and owner, its files theirs, and hides what it removes", async () => {
    const low = tree({ 'home/vagrant/.ssh/authorized_keys2': 'old', 'etc/ssh/ssh_host_rsa_key': 'rsa' });
    chownSync(join(low, 'home/vagrant'), 1000, 1000);
    spawnSync('chmod', ['0750', join(low, 'home/vagrant')]);
    const view = new LayerView([low]);
    const to = join(tmp(), 'layer');
    await writeLayer(
      view,
      {
        files: [{ path: 'home/vagrant/.ssh/x', content: 'x', mode: 0o600, uid: 1000, gid: 1000 }],
        remove: ['etc/ssh/ssh_host_rsa_key', 'etc/ssh/not-there'],
      },
      to,
    );
    const home = statSync(join(to, 'home/vagrant'));
    expect([home.mode & 0o7777, home.uid]).toEqual([0o750, 1000]);
    const x = statSync(join(to, 'home/vagrant/.ssh/x'));
    expect([x.mode & 0o7777, x.uid, readFileSync(join(to, 'home/vagrant/.ssh/x'), 'utf8')]).toEqual([0o600, 1000, 'x']);
    const w = statSync(join(to, 'etc/ssh/ssh_host_rsa_key'));
    expect(w.isCharacterDevice() && w.rdev === 0).toBe(true);
    expect(new LayerView([to, low]).exists('etc/ssh/ssh_host_rsa_key')).toBe(false);
    expect(new LayerView([to, low]).exists('etc/ssh/not-there')).toBe(false);
  });
});

describe("a lab's keys", () => {
  const input = (dir: string, login: RekeyInput['login'] = 'key'): RekeyInput => ({
    lab: 'wtcu-01',
    mailHost: 'mail.lab.example',
    mailUser: 'learner',
    password: 'Secret123',
    learnerDir: dir,
    login,
  });

  it('hashes a password with crypt(3) SHA-512 that openssl gives again with the same salt', async () => {
    const [h] = await hashPasswords(['Secret123']);
    const salt = h!.split('$')[2]!;
    const again = spawnSync('openssl', ['passwd', '-6', '-salt', salt, '-stdin'], { input: 'Secret123\n', encoding: 'utf8' }).stdout.trim();
    expect(h).toBe(again);
    expect(h).not.toContain('Secret123');
  });

  it("sets one user's hash and last change in /etc/shadow and leaves the other lines", () => {
    expect(withPassword(SHADOW, 'vagrant', '$6$s$h', 20000)).toBe('root:*:19000:0:99999:7:::\nvagrant:$6$s$h:20000:0:99999:7:::\n');
    expect(withPassword(SHADOW, 'nobody', '$6$s$h', 20000)).toBeUndefined();
  });

  it('makes ed25519 and ecdsa host keys, no TLS key unless asked, and never the same twice', async () => {
    const [a, b] = [await makeKeys(input(tmp()), { tls: false }), await makeKeys(input(tmp(), 'both'), { tls: true })];
    expect(Object.keys(a.hostKeyFiles).sort()).toEqual(['ssh_host_ecdsa_key', 'ssh_host_ecdsa_key.pub', 'ssh_host_ed25519_key', 'ssh_host_ed25519_key.pub']);
    expect(a.hostKeys.map((k) => k.split(' ')[0]).sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(a.tls).toBeUndefined();
    expect(b.tls?.key).toMatch(/BEGIN PRIVATE KEY/);
    expect(b.hostKeys.some((k) => a.hostKeys.includes(k))).toBe(false);
    expect(a.hashes.mail).not.toBe(b.hashes.mail); // the same password, its own salt
    expect(b.learnerPassword).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(a.learnerPassword).toBeUndefined();
    expect(a.machineId).not.toBe(b.machineId);
  });
});

describe.skipIf(!isRoot)("a clone's checkpoints re-keyed, one new layer each", () => {
  /** A stopped lab with start-1 (no mail user, no TLS files) and start-4.1 (both, and a stale RSA host key) on a base. */
  function lab() {
    const h = tmp();
    const base = tree({
      'etc/passwd': PASSWD,
      'etc/shadow': SHADOW,
      'etc/hosts': '127.0.0.1\tlocalhost\n',
      'etc/machine-id': '',
      'etc/ssh/sshd_config.d/': null,
    });
    for (const d of ['home/vagrant', 'home/vagrant/.ssh']) {
      mkdirSync(join(base, d), { recursive: true, mode: 0o700 });
      chownSync(join(base, d), 1000, 1000);
    }
    const s = labState('wtcu-01', h);
    const d = layout(s.driverDir, h);
    const l1 = join(d.layers, 'layer0001');
    mkdirSync(join(l1, 'etc/ssh'), { recursive: true });
    writeFileSync(join(l1, 'etc/ssh/ssh_host_ed25519_key'), 'base key');
    writeFileSync(join(l1, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\twtcu-base\n');
    const l2 = join(d.layers, 'layer0002');
    for (const p of ['etc/ssh', 'etc/ssl/private', 'etc/ssl/certs']) mkdirSync(join(l2, p), { recursive: true });
    writeFileSync(join(l2, 'etc/passwd'), `${PASSWD}learner:x:1001:1001::/home/learner:/bin/bash\n`);
    writeFileSync(join(l2, 'etc/shadow'), `${SHADOW}learner:$y$base:19000:0:99999:7:::\n`, { mode: 0o640 });
    chownSync(join(l2, 'etc/shadow'), 0, 42);
    writeFileSync(join(l2, 'etc/ssh/ssh_host_rsa_key'), 'base rsa');
    writeFileSync(join(l2, 'etc/ssl/private/ssl-cert-snakeoil.key'), 'base tls key', { mode: 0o640 });
    chownSync(join(l2, 'etc/ssl/private/ssl-cert-snakeoil.key'), 0, 42);
    writeFileSync(join(l2, 'etc/ssl/certs/ssl-cert-snakeoil.pem'), 'base cert');
    mkdirSync(d.upper, { recursive: true });
    const snaps = { 'start-1': ['layer0001'], 'start-4.1': ['layer0002', 'layer0001'] };
    for (const [name, layers] of Object.entries(snaps)) {
      mkdirSync(join(d.snapshots, name), { recursive: true });
      writeFileSync(join(d.snapshots, name, 'snapshot.json'), JSON.stringify({ name, taken: 'x', layers }));
    }
    writeFileSync(d.stack, JSON.stringify({ layers: snaps['start-4.1'] }));
    return { s, d, base };
  }

  it("writes the lab's own keys into each checkpoint, hides the base's, keeps modes and owners, and moves the stack", async () => {
    const { s, d, base } = lab();
    const who = { lab: 'wtcu-01', mailHost: 'mail.lab.example', mailUser: 'learner', password: 'Secret123', learnerDir: tmp(), login: 'both' as const };
    const names = ['start-1', 'start-4.1'];
    expect(names.map((n) => hasTls(snapshotView(s, n, { base })))).toEqual([false, true]);
    const keys = await makeKeys(who, { tls: true });
    await layerOnSnapshots(s, names, (_n, view) => rekeyEdit(view, who, keys, 20000), { base });
    const [one, four] = names.map((n) => snapshotView(s, n, { base }));
    expect(readStack(d).layers).toEqual(readSnapshot(d, 'start-4.1')!.layers);
    expect(readSnapshot(d, 'start-4.1')!.layers!.slice(1)).toEqual(['layer0002', 'layer0001']);
    for (const v of [one!, four!]) {
      expect(v.read('etc/hostname')).toBe('wtcu-01\n');
      expect(v.read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\twtcu-01\n');
      expect(v.read('etc/machine-id')).toBe(`${keys.machineId}\n`);
      expect(
        v
          .list('etc/ssh')
          .filter((f) => f.startsWith('ssh_host_'))
          .sort(),
      ).toEqual(Object.keys(keys.hostKeyFiles).sort());
      expect(v.read('etc/ssh/ssh_host_ed25519_key')).toBe(keys.hostKeyFiles.ssh_host_ed25519_key);
      expect(v.owner('etc/ssh/ssh_host_ed25519_key')?.mode).toBe(0o600);
      expect(v.read(SSHD_DROP_IN)).toBe(sshdDropIn('both'));
      expect(v.read('home/vagrant/.ssh/authorized_keys2')).toBe(`${keys.learnerPublicKey}\n`);
      expect(v.read('etc/shadow')).toContain(`vagrant:${keys.hashes.learner}:20000:`);
    }
    // start-1 has no mail user and no TLS files: none made there
    expect(one!.read('etc/shadow')).not.toContain('learner:');
    expect(one!.exists('etc/ssl/private/ssl-cert-snakeoil.key')).toBe(false);
    expect(four!.read('etc/shadow')).toContain(`learner:${keys.hashes.mail}:20000:`);
    expect(four!.read('etc/ssl/private/ssl-cert-snakeoil.key')).toBe(keys.tls!.key);
    expect(four!.read('etc/ssl/certs/ssl-cert-snakeoil.pem')).toBe(keys.tls!.cert);
    expect(four!.owner('etc/ssl/private/ssl-cert-snakeoil.key')).toEqual({ mode: 0o640, uid: 0, gid: 42 });
    expect(four!.owner('etc/shadow')).toEqual({ mode: 0o640, uid: 0, gid: 42 });
    // what no lab may share: nothing of the base is left, and no secret in the clear
    const all = [one!, four!].flatMap((v) =>
      ['etc/shadow', 'etc/ssh/ssh_host_ed25519_key', 'etc/ssl/private/ssl-cert-snakeoil.key'].map((f) => v.read(f) ?? ''),
    );
    for (const t of all) expect(t).not.toMatch(/base key|base rsa|base tls key|\$y\$base|Secret123/);
  });

  it('hides an earlier learner key where the class logs in with a password only', async () => {
    const { s, base } = lab();
    const top = join(layout(s.driverDir, s.root).layers, 'layer0002', 'home/vagrant/.ssh');
    mkdirSync(top, { recursive: true });
    writeFileSync(join(top, 'authorized_keys2'), 'someone else');
    const who = { lab: 'wtcu-01', mailHost: 'mail.lab.example', mailUser: 'learner', password: 'Secret123', learnerDir: tmp(), login: 'password' as const };
    const keys = await makeKeys(who, { tls: true });
    await layerOnSnapshots(s, ['start-4.1'], (_n, view) => rekeyEdit(view, who, keys), { base });
    const v = snapshotView(s, 'start-4.1', { base });
    expect(v.exists('home/vagrant/.ssh/authorized_keys2')).toBe(false);
    expect(v.read(SSHD_DROP_IN)).toBe(sshdDropIn('password'));
  });
});
