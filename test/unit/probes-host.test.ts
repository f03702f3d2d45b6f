/**
 * The probe layer (src/probes/): each probe's command, and what it makes of the answer. The commands run for real in
 * a local shell where this machine has the tool (dpkg, ss, stat); rpm, systemctl and postconf answers are scripted.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Asker } from '../../src/probes/probe.js';
import { fileSizes, fileStat, fileText, packages, portListening, postconfSet, postconfValue, serviceState } from '../../src/probes/index.js';
import { FakeHost } from '../helpers/fake-host.js';

/** This machine, through sh -c: the probes' commands as a lab host's shell would run them. */
const local: Asker = {
  exec: (command) =>
    new Promise((resolve) => {
      execFile('sh', ['-c', command], (e, stdout, stderr) => resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    }),
};

describe('service probe', () => {
  it('reads is-enabled and is-active in one command, and an unknown unit as empty states', async () => {
    const host = new FakeHost().on(/is-enabled/, { stdout: 'enabled=static\nactive=inactive\n' });
    expect(await serviceState(host, 'postfix')).toEqual({ enabled: 'static', active: 'inactive' });
    expect(host.execs()).toEqual([serviceState.command('postfix')]);
    expect(host.calls[0]!.opts).toMatchObject({ sudo: false });
    expect(await serviceState(new FakeHost().on(/is-enabled/, { stdout: 'enabled=\nactive=\n' }), 'nope')).toEqual({ enabled: '', active: '' });
  });
});

describe('package probe', () => {
  it('on debian12 asks dpkg for every name at once and gives the installed version', async () => {
    const r = await packages(local, { names: ['dpkg', 'no-such-package-plab'], platform: 'debian12' });
    expect(r.get('dpkg')).toEqual({ installed: true, version: expect.stringMatching(/^\d+\.\d+/) });
    expect(r.get('no-such-package-plab')).toEqual({ installed: false });
  });

  it('on el7 asks rpm by what provides the name, and reads its first version line', async () => {
    const host = new FakeHost().on(/rpm -q --whatprovides/, { stdout: 'postfix installed 2.10.1-9.el7\nmailx missing\n' });
    const r = await packages(host, { names: ['postfix', 'mailx', 'unanswered'], platform: 'el7' });
    expect([...r]).toEqual([
      ['postfix', { installed: true, version: '2.10.1-9.el7' }],
      ['mailx', { installed: false }],
      ['unanswered', { installed: false }],
    ]);
    expect(packages.command({ names: ['postfix'], platform: 'el7' })).toMatch(/rpm -q --whatprovides --qf '%\{VERSION\}-%\{RELEASE\}\\n' "\$p"/);
  });
});

describe('postconf probes', () => {
  it('-n for the names main.cf sets, through postmulti for another instance', async () => {
    const host = new FakeHost().on(/postconf -n/, { stdout: 'myhostname = mail.lab.example\nrelayhost =\n' });
    const set = await postconfSet(host, { instance: 'postfix-deux', names: ['myhostname', 'relayhost', 'mydomain'] });
    expect([...set]).toEqual([
      ['myhostname', 'mail.lab.example'],
      ['relayhost', ''],
    ]);
    expect(host.execs()).toEqual(['postmulti -i postfix-deux -x postconf -n myhostname relayhost mydomain']);
  });

  it("-h (and -x) for the value in effect; an unknown parameter is an error with postconf's words", async () => {
    const host = new FakeHost()
      .on(/-h mail_version/, { stdout: '3.7.11\n' })
      .on(/-h bogus/, { code: 1, stderr: 'postconf: warning: bogus: unknown parameter\n' });
    expect(await postconfValue(host, { param: 'mail_version', expand: true })).toEqual({ ok: true, value: '3.7.11' });
    expect(host.execs()[0]).toBe('postconf -x -h mail_version');
    expect(await postconfValue(host, { param: 'bogus' })).toEqual({ ok: false, error: 'postconf: warning: bogus: unknown parameter' });
  });
});

describe('file probes', () => {
  it('stat gives mode, owner and group, nothing for a missing path; sizes count a missing file as 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plab-probe-'));
    const f = join(dir, 'a file');
    writeFileSync(f, 'hello\n');
    chmodSync(f, 0o640);
    expect(await fileStat(local, f)).toEqual({ mode: '640', owner: expect.any(String), group: expect.any(String) });
    expect(await fileStat(local, join(dir, 'missing'))).toBeUndefined();
    expect(await fileSizes(local, [f, join(dir, 'missing')])).toEqual([6, 0]);
  });

  it("text is read through the host's file transfer, null when missing", async () => {
    const host = new FakeHost();
    host.files.set('/etc/x', { content: Buffer.from('é\n') });
    expect(await fileText(host, '/etc/x')).toBe('é\n');
    expect(await fileText(host, '/etc/none')).toBeNull();
    expect(fileText.command('/etc/a b')).toBe("cat '/etc/a b'");
  });
});

describe('port probe', () => {
  it('tells a listening port from a free one, from inside the host', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await portListening(local, port)).toBe(true);
    } finally {
      server.close();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(await portListening(local, port)).toBe(false);
    expect(await portListening(new FakeHost().on(/ss -ltn/, { code: 1 }), 25)).toBeUndefined();
  });

  it('tells them apart on a host without ss (a minimal lab has no iproute2), from /proc/net/tcp', async () => {
    // bash runs the probe's command with `command -v ss` failing, as on a host without iproute2
    const noSs: Asker = {
      exec: (cmd) =>
        new Promise((resolve) =>
          execFile('bash', ['-c', `command() { return 1; }; ${cmd}`], (e, stdout, stderr) => resolve({ code: e ? 1 : 0, stdout, stderr })),
        ),
    };
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      expect(await portListening(noSs, port)).toBe(true);
    } finally {
      server.close();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(await portListening(noSs, port)).toBe(false);
  });
});
