import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { loadLab, resolveDriver } from '../../src/lab/lab-file.js';

const dir = mkdtempSync(join(tmpdir(), 'plab-labfile-'));
function lab(text: string) {
  const p = join(dir, `lab-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, text);
  return p;
}
function errorOf(text: string): InputError {
  try {
    loadLab(lab(text));
  } catch (e) {
    return e as InputError;
  }
  throw new Error('expected an error');
}

describe('lab file', () => {
  it('loads a minimal lab with defaults', () => {
    const l = loadLab(lab('name: a\ndriver: container\nplatform: debian12\n'));
    expect(l.sections).toEqual([1, 2, 3, 4]);
    expect(l.params.mail_user).toBe('learner');
    expect(l.ports).toEqual([]);
    expect(l.pins).toEqual({});
  });

  it('keeps where each pin was written, for errors that point at it', () => {
    const l = loadLab(lab(`name: a\ndriver: vagrant\nplatform: el7\npins:\n  postfix-2.9-sleep.patch: ${'e'.repeat(64)}\n`));
    expect(l.pins['postfix-2.9-sleep.patch']).toEqual({ sha256: 'e'.repeat(64), at: expect.stringMatching(/lab-.*\.yaml:5:\d+$/) });
  });

  it.each([
    [
      'an unknown key, with line, column and the allowed keys',
      'name: a\ndriver: container\nplatform: debian12\nportz: []\n',
      /:4:1: unknown key "portz"/,
      /Allowed keys here: name, description, driver/,
    ],
    [
      'a driver that does not exist',
      'name: a\ndriver: docker\nplatform: debian12\n',
      /:2:9: "docker" is not allowed for driver/,
      /"auto", "container", "vagrant", "ssh"/,
    ],
    ['a duplicate key', 'name: a\nname: b\ndriver: ssh\nplatform: el7\n', /:2:1: duplicate key/, /Each key may appear once/],
    ['a missing platform', 'name: a\ndriver: container\n', /missing key "platform" in the top level/, /Add "platform"/],
    [
      'a bad port deep inside a list',
      'name: a\ndriver: container\nplatform: debian12\nports:\n  - { guest: 25, host: 80 }\n',
      /:5:24: ports\[0\]\.host must be >= 1024/,
      /127\.0\.0\.1/,
    ],
    [
      'a host port forwarded twice',
      'name: a\ndriver: container\nplatform: debian12\nports:\n  - { guest: 25, host: 2025 }\n  - { guest: 587, host: 2025 }\n',
      /:6:.*host port 2025 is forwarded twice/,
      /own host port/,
    ],
    ['an ssh lab without hosts', 'name: a\ndriver: ssh\nplatform: debian12\n', /:2:1: driver "ssh" needs a "hosts" list/, /hosts:/],
    [
      'an unknown key inside params',
      'name: a\ndriver: container\nplatform: debian12\nparams:\n  hostnam: x\n',
      /:5:3: unknown key "hostnam" in params/,
      /hostname/,
    ],
    [
      'a pin that is not a sha256',
      'name: a\ndriver: vagrant\nplatform: el7\npins:\n  postfix-2.9-sleep.patch: 01e1b031d79b85f3cb67d98ceddd775d\n',
      /:5:28: .*not a valid value for pins\.postfix-2\.9-sleep\.patch/,
      /64 lower-case hex digits/,
    ],
    ['a YAML syntax error', 'name: [a\n', /YAML syntax error/, /Fix the YAML syntax/],
  ])('rejects %s', (_, text, msg, hint) => {
    const e = errorOf(text);
    expect(e).toBeInstanceOf(InputError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(msg);
    expect(e.message).toContain(dir);
    expect(e.hint).toMatch(hint);
  });

  it('names a missing lab file and what lab files are', () => {
    expect(() => loadLab(join(dir, 'nope.yaml'))).toThrow(/cannot read .*nope\.yaml: ENOENT/);
  });

  it('auto picks vagrant only when VirtualBox, Vagrant and Packer are all installed, and says why', () => {
    const l = loadLab(lab('name: a\ndriver: auto\nplatform: el7\n'));
    expect(resolveDriver(l, () => true)).toEqual({ driver: 'vagrant', why: expect.stringMatching(/VirtualBox, Vagrant and Packer are installed/) });
    const deb = loadLab(lab('name: a\ndriver: auto\nplatform: debian12\n'));
    const c = resolveDriver(deb, (cmd) => cmd !== 'packer');
    expect(c.driver).toBe('container');
    expect(c.why).toMatch(/packer is not installed/);
    // el7 never lands in a container: it says what is missing for the VM instead
    expect(resolveDriver(l, (cmd) => cmd === 'vagrant')).toEqual({
      driver: 'vagrant',
      why: expect.stringMatching(/el7 needs a VM .*still to install: VBoxManage, packer/),
    });
  });

  it('ships lab files that load', () => {
    for (const f of ['lab.yaml', 'labs/debian12-container.yaml', 'labs/el7-virtualbox.yaml', 'labs/ssh-hosts.yaml']) {
      expect(loadLab(f).name).toMatch(/^[a-z]/);
    }
  });
});
