import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadChecks } from '../../src/verify/load.js';
import { checkKinds } from '../../src/verify/kinds/index.js';
import { runCheck, runChecks } from '../../src/verify/runner.js';
import type { Check } from '../../src/verify/load.js';
import { pass, type CheckKind } from '../../src/verify/types.js';
import { formatReport, reportJson, reportJunit } from '../../src/output/verify-report.js';
import { FakeHost } from '../helpers/fake-host.js';
import { checkFile, checksDir, ctx, vars, verifyFake } from '../helpers/verify-fake.js';

describe('check files', () => {
  it.each(['el7', 'debian12'] as const)('load for %s: every check has a section, title and hint, ids are unique', (platform) => {
    const files = loadChecks(platform, vars);
    expect(files.map((f) => f.section)).toEqual([1, 2, 3, 4]);
    const checks = files.flatMap((f) => f.checks);
    expect(checks.length).toBeGreaterThan(50);
    expect(new Set(checks.map((c) => c.id)).size).toBe(checks.length);
    for (const c of checks) {
      expect(c.hint.length).toBeGreaterThan(5);
      expect(c.section).toMatch(/^[1-4]/);
    }
    // per-platform expectations are resolved
    const pc = checks.find((c) => c.id === '4/postconf/smtpd_tls_mandatory_protocols')!;
    expect(pc.spec.matches).toBe(platform === 'el7' ? '^!SSLv2, ?!SSLv3, ?!TLSv1, ?!TLSv1\\.1$' : '^>=TLSv1\\.2$');
  });

  it.each([
    [
      'an unknown field of a kind',
      'section: 1\ntitle: t\nservice:\n  postfix:\n    title: x\n    section: "1"\n    hint: h\n    activ: true\n',
      /1-x\.yaml:8:5: unknown key "activ" in service\.postfix/,
      /active, enabled, unit/,
    ],
    [
      'a check without a hint',
      'section: 1\ntitle: t\ntcp:\n  "25":\n    title: x\n    section: "1"\n    open: true\n',
      /1-x\.yaml:5:5: missing key "hint" in tcp\.25/,
      /Add "hint"/,
    ],
    ['an unknown kind', 'section: 1\ntitle: t\nport:\n  "25": {}\n', /1-x\.yaml:3:1: unknown key "port"/, /tcp, smtp, tls/],
  ])('reject %s with file, line and column', (_, yaml, msg, hint) => {
    let err: { message: string; hint: string } | undefined;
    try {
      loadChecks('debian12', vars, checksDir(yaml));
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.message).toMatch(msg);
    expect(err?.hint).toMatch(hint);
  });
});

describe('running checks', () => {
  it('retries a check until it passes or its wait runs out', async () => {
    const [file] = loadChecks(
      'debian12',
      vars,
      checksDir(
        'section: 1\ntitle: t\ncommand:\n  c:\n    title: x\n    section: "1"\n    hint: look\n    run: probe\n    retry: { timeout: 2, interval: 0.1 }\n',
      ),
    );
    let calls = 0;
    const r = await runCheck(
      file!.checks[0]!,
      ctx(async () => ({ code: ++calls >= 3 ? 0 : 1, stdout: '', stderr: '' })),
    );
    expect(r).toMatchObject({ status: 'pass', hint: '' });
    expect(calls).toBe(3);
    calls = -100;
    const f = await runCheck(
      file!.checks[0]!,
      ctx(async () => ({ code: 1, stdout: '', stderr: 'nope' })),
    );
    expect(f).toMatchObject({ status: 'fail', hint: 'look', message: '`probe` exited 1, expected 0: nope' });
    expect(f.durationMs).toBeGreaterThanOrEqual(1900);
  });

  it.each([1, 2, 8])('sends a wrong password only after every right login has finished (%i at a time), and runs them all', async (limit) => {
    const events: string[] = [];
    const kind: CheckKind<{ login?: 'right' | 'wrong'; ms: number }> = {
      name: 'test-login',
      fields: {},
      logsIn: (s) => s.login,
      // the wrong ones claim to be the longest, so a plain longest-first order would start them first
      seconds: (s) => (s.login === 'wrong' ? 9 : 1),
      async run(target, s, c) {
        events.push(`start ${target}`);
        if (s.login === 'wrong') await c.rightLoginsDone?.();
        events.push(`login ${target}`);
        await new Promise((r) => setTimeout(r, s.ms));
        events.push(`end ${target}`);
        return pass('ok');
      },
    };
    const check = (target: string, spec: { login?: 'right' | 'wrong'; ms: number }): Check => ({
      id: target,
      kind: 'test-login',
      target,
      section: '1',
      title: target,
      hint: 'h',
      spec,
      at: 'x',
    });
    checkKinds['test-login'] = kind;
    try {
      const checks = [
        check('wrong-a', { login: 'wrong', ms: 5 }),
        check('right-slow', { login: 'right', ms: 60 }),
        check('other', { ms: 5 }),
        check('wrong-b', { login: 'wrong', ms: 5 }),
        check('right-fast', { login: 'right', ms: 1 }),
      ];
      const results = await runChecks(checks, ctx(), limit);
      expect(results.map((r) => [r.id, r.status])).toEqual(checks.map((c) => [c.id, 'pass']));
      const at = (e: string) => events.indexOf(e);
      for (const w of ['wrong-a', 'wrong-b']) for (const r of ['right-slow', 'right-fast']) expect(at(`login ${w}`)).toBeGreaterThan(at(`end ${r}`));
      expect(events).toHaveLength(15);
      // with room to spare, the wrong ones connect at once and only their password waits
      if (limit === 8) expect(at('start wrong-a')).toBeLessThan(at('end right-slow'));
    } finally {
      delete checkKinds['test-login'];
    }
  });

  it('tcp tells an open port from a closed one through the endpoint', async () => {
    const server = createServer((s) => s.end('220 hi\r\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const [file] = loadChecks(
      'debian12',
      vars,
      checksDir(
        'section: 1\ntitle: t\ntcp:\n  "25":\n    title: open\n    section: "1"\n    hint: h\n    open: true\n  "26":\n    title: closed\n    section: "1"\n    hint: h\n    open: true\n',
      ),
    );
    const results = await runChecks(file!.checks, ctx(undefined, { 25: port, 26: 1 }));
    server.close();
    expect(results.map((r) => r.status)).toEqual(['pass', 'fail']);
    expect(results[1]!.message).toBe('port 26 (127.0.0.1:1) is closed, expected open');
  });

  it('verifyLab counts each result under its status: pass, fail and inconclusive, for the chosen section only', async () => {
    const host = new FakeHost().on(/probe-ok/, { code: 0 }).on(/probe-bad/, { code: 1, stderr: 'nope' });
    const one = checkFile(1, [
      ['command', 'ok', 'run: probe-ok'],
      ['command', 'bad1', 'run: probe-bad 1'],
      ['command', 'bad2', 'run: probe-bad 2'],
      ['tls', '465', 'port: 465; version: SSLv3; expect: refused'],
    ]); // this client cannot offer SSLv3: inconclusive
    const two = checkFile(2, [['command', 'other', 'run: probe-bad other']]);
    const dir = checksDir(one, two);
    const report = await verifyFake(host, dir, 1);
    expect(report.results.map((r) => [r.id, r.status])).toEqual([
      ['1/command/ok', 'pass'],
      ['1/command/bad1', 'fail'],
      ['1/command/bad2', 'fail'],
      ['1/tls/465', 'inconclusive'],
    ]);
    expect(report.summary).toEqual({ pass: 1, fail: 2, inconclusive: 1 });
    expect(
      host
        .execs()
        .filter((c) => /probe-/.test(c))
        .sort(),
    ).toEqual(['probe-bad 1', 'probe-bad 2', 'probe-ok']);
    const all = await verifyFake(new FakeHost(), dir); // every command exits 0 on an unscripted fake host
    expect(all.summary).toEqual({ pass: 4, fail: 0, inconclusive: 1 });
  });

  it('reports as text grouped by section, as JSON and as JUnit', async () => {
    const host = new FakeHost().on(/postconf -h .*mail_version/, { stdout: '2.10.1\n' });
    const report = await verifyFake(
      host,
      checksDir('section: 2\ntitle: Logging\npostconf:\n  mail_version:\n    title: version\n    section: "2.1"\n    hint: look here\n    matches: "^3"\n'),
    );
    expect(formatReport(report)).toMatch(
      /== 2\. Logging\n {2}FAIL 2\.1 {4}version \(\d\.\d\ds\)\n {9}mail_version "2\.10\.1" does not match \/\^3\/\n {9}hint: look here/,
    );
    expect(formatReport(report)).toMatch(/verify: 0 pass, 1 fail, 0 inconclusive in /);
    const json = JSON.parse(reportJson(report));
    expect(json).toEqual({
      results: [
        {
          id: '2/postconf/mail_version',
          section: '2.1',
          title: 'version',
          status: 'fail',
          durationMs: expect.any(Number),
          message: expect.any(String),
          hint: 'look here',
        },
      ],
      summary: { pass: 0, fail: 1, inconclusive: 0 },
    });
    expect(reportJunit(report)).toMatch(/<testcase classname="verify\.section-2 Logging" name="2\.1 version" time="[\d.]+"><failure message="mail_version/);
  });
});
