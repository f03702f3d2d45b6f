/** Check kinds read the host through the probe layer: the same commands the step kinds run, each answer interpreted once. */
import { describe, expect, it } from 'vitest';
import { checkKinds } from '../../src/verify/kinds/index.js';
import type { VerifyContext } from '../../src/verify/types.js';
import { packages } from '../../src/probes/package.js';
import { serviceState } from '../../src/probes/service.js';

function ctx(replies: [RegExp, { code?: number; stdout?: string }][], platform: 'el7' | 'debian12' = 'debian12', files: Record<string, string> = {}) {
  const seen: string[] = [];
  const c: VerifyContext = {
    platform,
    ssh: async () => {
      throw new Error('no ssh in unit tests');
    },
    exec: async (command) => {
      seen.push(command);
      const r = replies.find(([re]) => re.test(command))?.[1] ?? {};
      return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: '' };
    },
    read: async (path) => (path in files ? Buffer.from(files[path]!) : null),
    endpoint: () => ({ host: '127.0.0.1', port: 1 }),
    credentials: { user: 'u', password: 'p' },
    token: () => 't',
  };
  return { c, seen };
}

describe('check kinds on the probes', () => {
  it('service: the step kind\'s own systemctl command, "enabled" meaning enabled', async () => {
    const { c, seen } = ctx([[/is-enabled/, { stdout: 'enabled=static\nactive=active\n' }]]);
    expect(await checkKinds.service!.run('postfix', { active: true, enabled: true }, c)).toEqual({ status: 'fail', message: 'postfix is static at boot' });
    expect(seen).toEqual([serviceState.command('postfix')]);
  });

  it('package: the installed version from rpm on el7, matched against the expectation', async () => {
    const { c, seen } = ctx([[/rpm -q/, { stdout: 'postfix installed 2.10.1-9.el7.vda\n' }]], 'el7');
    expect(await checkKinds.package!.run('postfix', { version: 'vda' }, c)).toEqual({ status: 'pass', message: 'postfix 2.10.1-9.el7.vda' });
    expect(seen).toEqual([packages.command({ names: ['postfix'], platform: 'el7' })]);
  });

  it("file: mode from stat, content through the host's file transfer", async () => {
    const { c } = ctx([[/^stat/, { stdout: '600 root root\n' }]], 'debian12', { '/etc/x': 'a = 1\n' });
    expect(await checkKinds.file!.run('/etc/x', { mode: '0600', contains: ['^a = 1$'] }, c)).toEqual({ status: 'pass', message: '/etc/x is as expected' });
    expect(await checkKinds.file!.run('/etc/x', { mode: '0644' }, c)).toEqual({ status: 'fail', message: '/etc/x has mode 600, expected 0644' });
  });

  it('tcp: closed from outside but listening inside names the way in as what fails', async () => {
    const { c, seen } = ctx([[/ss -ltn/, { stdout: 'LISTEN 0 100 0.0.0.0:25 0.0.0.0:*\n' }]]);
    const r = await checkKinds.tcp!.run('25', { open: true }, c);
    expect(r).toMatchObject({ status: 'fail', message: expect.stringMatching(/is closed, expected open; inside the lab host something listens on 25/) });
    expect(seen).toEqual([expect.stringContaining("ss -ltn 'sport = :25'")]);
  });
});
