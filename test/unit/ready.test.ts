import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type KindContext, kinds } from '../../src/runbook/kinds/index.js';
import { parseSettled, lastJob, settleScript } from '../../src/runbook/jobs.js';
import { jobScript, wrapCommand } from '../../src/ssh/remote-commands.js';
import { FakeHost } from '../helpers/fake-host.js';
import { cert, key, listen, useFakeServers } from '../helpers/fake-mail-servers.js';

function ctx(host: FakeHost): KindContext {
  return {
    stepId: 'ready-04',
    phase: 'check',
    host,
    platform: 'debian12',
    sudo: true,
    timeoutMs: 5000,
    artifactsDir: mkdtempSync(join(tmpdir(), 'plab-art-')),
    log: () => {},
    secrets: {},
  };
}

const params = {
  within: 5,
  listeners: [
    { port: 587, banner: '^220 ', unit: 'postfix@-' },
    { port: 465, tls: true, banner: '^220 ', unit: 'postfix@-' },
    { socket: '/var/spool/postfix/private/auth', unit: 'dovecot' },
  ],
};

describe('ready kind', () => {
  it('is ok when every listener answers its banner', async () => {
    const host = new FakeHost().on(/dev\/tcp/, {
      stdout: '0 ok 220 mail ESMTP\n1 ok 220 mail ESMTP\n2 ok socket\nunit postfix@- active\nunit dovecot active\n',
    });
    expect(await kinds.ready!.check(params, ctx(host))).toEqual({ ok: true });
    expect(host.execs()[0]).toMatch(/openssl s_client -connect 127\.0\.0\.1:465/);
  });

  it('says which listener is silent while its unit is active, and restarts only that unit', async () => {
    let restarted = false;
    const host = new FakeHost()
      .on(/dev\/tcp/, () => ({
        stdout: restarted
          ? '0 ok 220 mail\n1 ok 220 mail\n2 ok socket\n'
          : '0 no no banner within 5 s\n1 ok 220 mail\n2 ok socket\nunit postfix@- active\nunit dovecot active\n',
      }))
      .on(/^systemctl restart/, () => {
        restarted = true;
        return {};
      });
    const before = await kinds.ready!.check(params, ctx(host));
    expect(before).toEqual({ ok: false, detail: 'port 587: no banner within 5 s while postfix@- is active: restarting postfix@-' });
    await kinds.ready!.apply(params, ctx(host), before);
    expect(host.execs().filter((c) => c.startsWith('systemctl restart'))).toEqual(['systemctl restart postfix@-']);
    expect(await kinds.ready!.check(params, ctx(host))).toEqual({ ok: true });
  });

  it('a wrong banner is not ready', async () => {
    const host = new FakeHost().on(/dev\/tcp/, {
      stdout: '0 ok 421 service not available\n1 ok 220 x\n2 no no such socket\nunit postfix@- active\nunit dovecot active\n',
    });
    expect((await kinds.ready!.check(params, ctx(host))).detail).toBe(
      'port 587: answered "421 service not available" while postfix@- is active; socket /var/spool/postfix/private/auth: no such socket while dovecot is active: restarting postfix@-, dovecot',
    );
  });

  describe('its probe, run by bash against a TLS listener on loopback that keeps the connection open', () => {
    useFakeServers();
    it('reads the banner after the handshake and ends openssl then, not when the bound runs out', async () => {
      const port = await listen(tls.createServer({ key, cert }, (s) => s.write('220 fake ESMTP\r\n')));
      const p = { within: 20, listeners: [{ port, tls: true, banner: '^220 ', unit: 'plab-no-such-unit' }] };
      const t0 = Date.now();
      const out = await new Promise<string>((resolve) =>
        execFile('bash', ['-c', (kinds.ready!.commands(p, 'debian12').check[0] as { run: string }).run], (_e, o) => resolve(o)),
      );
      expect({ line: out.split('\n')[0], beforeTheBound: Date.now() - t0 < 10_000 }).toEqual({ line: '0 ok 220 fake ESMTP', beforeTheBound: true });
    }, 30_000);
  });

  it("runs after the role's handlers", () => {
    expect(kinds.ready!.afterHandlers).toBe(true);
  });
});

describe('remote jobs', () => {
  it('wraps a command so that its process group and exit code are recorded under its name', () => {
    const s = jobScript('apt-get install -y postfix', 'plab-1234abcd-pkgs-1-1', 60_000);
    expect(s).toContain("timeout -k 2 60 bash -c 'apt-get install -y postfix' plab-1234abcd-pkgs-1-1 <&0");
    // SIGPIPE ignored rather than `tee -p`, which EL7's coreutils (8.22) does not have
    expect(s).toContain(`{ trap '' PIPE; exec tee -a "$d"/plab-1234abcd-pkgs-1-1.out; } < "$d"/plab-1234abcd-pkgs-1-1.o & o=$!`);
    expect(s).not.toContain('tee -p');
    expect(s).toMatch(/echo \$! > "\$d"\/plab-1234abcd-pkgs-1-1\.pid; wait \$!; rc=\$\?; wait \$o \$e; echo \$rc > "\$d"\/plab-1234abcd-pkgs-1-1\.rc/);
    expect(wrapCommand('true', { sudo: true, job: 'plab-x-y-1-1' })).toMatch(/^exec sudo -n -- bash -c /);
    expect(wrapCommand('true', { sudo: true })).toBe('exec sudo -n -- bash -c true');
  });

  it('reads what the settle script reports, and finds the job that was running when the connection dropped', () => {
    const out = [
      'plab-job finished plab-1234abcd-pkgs-1-2 4242 0 3120 ' + Buffer.from('Setting up postfix\n').toString('base64'),
      'plab-job finished plab-1234abcd-pkgs-1-1 4200 0 0 ',
      'plab-job stopped plab-1234abcd-pkgs-2-1 4300 - 5000 ',
    ].join('\n');
    const jobs = parseSettled(out);
    expect(jobs[0]).toEqual({ outcome: 'finished', job: 'plab-1234abcd-pkgs-1-2', pid: 4242, exitCode: 0, waitedMs: 3120, outputTail: 'Setting up postfix\n' });
    expect(jobs[2]).toMatchObject({ outcome: 'stopped', exitCode: undefined });
    expect(lastJob(jobs)?.job).toBe('plab-1234abcd-pkgs-2-1');
    expect(lastJob(jobs.slice(0, 2))?.job).toBe('plab-1234abcd-pkgs-1-2');
    expect(settleScript('plab-1234abcd-pkgs-', 0)).toContain('kill -TERM -- "-$pid"');
  });
});
