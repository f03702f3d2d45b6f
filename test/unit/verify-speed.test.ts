/**
 * How verify spends its seconds: a regression check leaves the slow probes out (and says which), and a check gives up
 * waiting when nothing is on its way up.
 */
import { describe, expect, it } from 'vitest';
import { loadChecks } from '../../src/verify/load.js';
import { runCheck } from '../../src/verify/runner.js';
import { FakeHost } from '../helpers/fake-host.js';
import { checkFile, checksDir, ctx, vars, verifyFake } from '../helpers/verify-fake.js';

describe('a quick regression check', () => {
  it("leaves out the earlier sections' slow probes, names them, and runs its own section's all", async () => {
    const dir = checksDir(
      checkFile(1, [
        ['command', 'fast', 'run: probe-fast'],
        ['postscreen', 'greeting', 'port: 25; log: /var/log/maillog'],
        ['command', 'marked-slow', 'run: probe-marked; seconds: 7'],
      ]),
      checkFile(2, [
        ['command', 'own', 'run: probe-own'],
        ['command', 'own-slow', 'run: probe-own-slow; seconds: 7'],
      ]),
    );
    const host = new FakeHost();
    const r = await verifyFake(host, dir, undefined, { sections: ['1', '2'], quick: ['1'] });
    expect(r.results.map((x) => x.id)).toEqual(['1/command/fast', '2/command/own', '2/command/own-slow']);
    expect(r.notRun.map((x) => x.id)).toEqual(['1/command/marked-slow', '1/postscreen/greeting']);
    expect(host.execs().filter((c) => /probe-/.test(c))).not.toContain('probe-marked');
  });
});

describe('waiting until a port answers', () => {
  it('stops at once when nothing listens inside the lab and no mail unit is starting', async () => {
    const dir = checksDir(checkFile(4, [['smtp', 'sub', 'port: 587; dialogue: [{ ehlo: x }]; retry: { timeout: 10, interval: 0.2 }']]));
    const [file] = loadChecks('debian12', vars, dir);
    const evidence = async (cmd: string) => ({
      code: 0,
      stdout: /listen/.test(cmd) ? 'listen no\nunit postfix@- active\nunit dovecot active\n' : '',
      stderr: '',
    });
    const t0 = Date.now();
    const r = await runCheck(file!.checks[0]!, ctx(evidence, { 587: 1 }));
    expect(r.status).toBe('fail');
    expect(r.message).toMatch(/nothing listens on 587 inside the lab/);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('keeps waiting while a mail unit is on its way up', async () => {
    const dir = checksDir(checkFile(4, [['smtp', 'sub', 'port: 587; dialogue: [{ ehlo: x }]; retry: { timeout: 1.5, interval: 0.2 }']]));
    const [file] = loadChecks('debian12', vars, dir);
    let asked = 0;
    const starting = async (cmd: string) => {
      if (!/listen/.test(cmd)) return { code: 0, stdout: '', stderr: '' };
      asked++;
      return { code: 0, stdout: 'listen no\nunit postfix@- activating\n', stderr: '' };
    };
    const r = await runCheck(file!.checks[0]!, ctx(starting, { 587: 1 }));
    expect(r.status).toBe('fail');
    expect(r.durationMs).toBeGreaterThanOrEqual(1400);
    expect(asked).toBeGreaterThan(2);
  });
});

describe('a log check', () => {
  it('fails at once, saying so, when no syslog daemon runs on the lab', async () => {
    const dir = checksDir(checkFile(2, [['log', 'mail', 'file: /var/log/maillog; trigger: logger -p mail.info {{token}}']]));
    const [file] = loadChecks('debian12', vars, dir);
    const r = await runCheck(
      file!.checks[0]!,
      ctx(async (cmd) => ({ code: 0, stdout: /pidof/.test(cmd) ? 'none\n' : '', stderr: '' })),
    );
    expect(r).toMatchObject({ status: 'fail', message: 'no syslog daemon runs on the lab (no rsyslogd), so nothing writes /var/log/maillog' });
    expect(r.durationMs).toBeLessThan(1000);
  });

  it('fails at once when the port it connects to gives no greeting', async () => {
    const dir = checksDir(checkFile(4, [['log', 'deux', 'file: /var/log/maillog_deux; connect: 10025']]));
    const [file] = loadChecks('debian12', vars, dir);
    const r = await runCheck(file!.checks[0]!, ctx(undefined, { 10025: 1 }));
    expect(r).toMatchObject({ status: 'fail', message: 'port 10025 gave no greeting, so there was no connection to log' });
    expect(r.durationMs).toBeLessThan(1000);
  });
});
