import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchScript, parseBatch, prefetchingHost, questionsOf } from '../../src/runbook/prefetch.js';
import { FakeHost } from '../helpers/fake-host.js';
import { step } from '../helpers/plan.js';

/** What bash on this machine answers (the batch is plain bash, as on a lab host). */
const bash = (script: string, stdin?: string | Buffer) => {
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', input: stdin ?? '' });
  return { code: r.status ?? 255, stdout: r.stdout, stderr: r.stderr };
};

/** A fake host whose commands really run in local bash, recording each exec. */
const localHost = () => new FakeHost().on(/.*/, (cmd, opts) => bash(cmd, opts.stdin));

describe('the batch of questions', () => {
  it('gives every command its own exit code, stdout and stderr, byte for byte, running them side by side', () => {
    const cmds = ['echo one; echo err >&2; exit 3', "printf 'no newline'", 'sleep 1; echo slept', 'sleep 1; printf "\\xe3\\x81\\x82\\n"'];
    const t0 = Date.now();
    const r = bash(batchScript(cmds, 10_000));
    expect(Date.now() - t0).toBeLessThan(1900); // the two sleeps overlap
    expect(parseBatch(r.stdout, cmds.length)).toEqual([
      { code: 3, stdout: 'one\n', stderr: 'err\n' },
      { code: 0, stdout: 'no newline', stderr: '' },
      { code: 0, stdout: 'slept\n', stderr: '' },
      { code: 0, stdout: 'あ\n', stderr: '' },
    ]);
  });

  it('answers many more commands than it has workers, each output whole and in its place, and none from a cut batch', () => {
    const cmds = Array.from({ length: 30 }, (_, i) => (i % 3 ? `printf '%0${i * 100}d' 0; echo e${i} >&2; exit ${i % 5}` : 'true'));
    const r = bash(batchScript(cmds, 10_000));
    const answers = parseBatch(r.stdout, cmds.length);
    answers.forEach((a, i) => {
      expect(a).toEqual(i % 3 ? { code: i % 5, stdout: '0'.repeat(i * 100), stderr: `e${i}\n` } : { code: 0, stdout: '', stderr: '' });
    });
    expect(parseBatch(r.stdout.slice(0, -10), cmds.length).filter(Boolean)).toEqual([]);
  });

  it('leaves a command that outlived the timeout without an answer, so the step asks the host itself', async () => {
    const host = localHost();
    const p = prefetchingHost(host);
    expect(
      await p.prefetch(
        [
          { run: 'sleep 5', sudo: false },
          { run: 'echo quick', sudo: false },
        ],
        1000,
      ),
    ).toBe(1);
  });
});

describe('a host answering from the batch', () => {
  it('answers each question once from one exec, then asks the host again (a poll sees fresh answers)', async () => {
    const host = localHost();
    const p = prefetchingHost(host);
    const dir = mkdtempSync(join(tmpdir(), 'plab-prefetch-'));
    writeFileSync(join(dir, 'main.cf'), 'myhostname = mail\n');
    const n = await p.prefetch(
      [
        { run: 'echo a', sudo: true },
        { run: 'echo b', sudo: true },
        { read: join(dir, 'main.cf') },
        { read: join(dir, 'absent') },
        { run: 'echo a', sudo: true },
      ],
      10_000,
    );
    expect(n).toBe(4);
    expect(host.execs()).toHaveLength(1);
    expect(await p.exec('echo a', { sudo: true })).toEqual({ code: 0, stdout: 'a\n', stderr: '' });
    expect((await p.get(join(dir, 'main.cf')))?.toString()).toBe('myhostname = mail\n');
    expect(await p.get(join(dir, 'absent'))).toBeNull();
    expect(host.execs()).toHaveLength(1);
    expect(p.hits).toBe(3);
    await p.exec('echo a', { sudo: true }); // asked again: to the host
    expect(host.execs()).toHaveLength(2);
    await p.exec('echo b', { sudo: false }); // asked ahead with sudo only
    expect(host.execs()).toHaveLength(3);
  });

  it('hands a later step the answer an earlier step took, from one run on the host, while nothing has changed', async () => {
    const host = localHost();
    const p = prefetchingHost(host);
    await p.prefetch([{ run: 'echo checked', sudo: true }], 10_000);
    p.nextStep();
    expect((await p.exec('echo checked', { sudo: true })).stdout).toBe('checked\n');
    p.nextStep();
    expect((await p.exec('echo checked', { sudo: true })).stdout).toBe('checked\n');
    expect(host.execs()).toHaveLength(1);
    expect(p.hits).toBe(2);
    await p.exec('echo checked', { sudo: true }); // the same step again: a poll, to the host
    expect(host.execs()).toHaveLength(2);
    await p.exec('true', { job: 'plab-change' });
    p.nextStep();
    await p.exec('echo checked', { sudo: true }); // after a change: to the host
    expect(host.execs()).toHaveLength(4);
  });

  it('forgets every answer at the first change: a job, a file written', async () => {
    for (const change of [
      (p: ReturnType<typeof prefetchingHost>) => p.exec('touch /dev/null', { job: 'plab-x' }),
      (p: ReturnType<typeof prefetchingHost>) => p.put('/tmp/x', 'y'),
    ]) {
      const host = localHost();
      const p = prefetchingHost(host);
      await p.prefetch([{ run: 'echo a', sudo: false }], 10_000);
      await change(p);
      const before = host.calls.length;
      await p.exec('echo a');
      expect(host.calls.length).toBe(before + 1);
      expect(p.hits).toBe(0);
    }
  });

  it('sends a command with stdin to the host, and streams an answer into the step log', async () => {
    const host = localHost();
    const p = prefetchingHost(host);
    await p.prefetch(
      [
        { run: 'cat', sudo: false },
        { run: 'echo logged', sudo: false },
      ],
      10_000,
    );
    expect((await p.exec('cat', { stdin: 'in' })).stdout).toBe('in');
    const chunks: string[] = [];
    await p.exec('echo logged', { onOutput: (c) => chunks.push(c) });
    expect(chunks).toEqual(['logged\n']);
  });
});

describe('which questions are asked ahead', () => {
  it("the check commands of steps finished before, from each kind's own list, never one carrying a secret", () => {
    const steps = [
      step('pkg', 'package', { names: ['postfix'] }),
      step('svc', 'service', { name: 'postfix', state: 'started' }),
      step('new', 'service', { name: 'dovecot', state: 'started' }),
      step('pw', 'command', { run: 'check-pw {{ secret.mail_password }}', readonly: true }),
    ];
    const qs = questionsOf(steps, new Set(['pkg', 'svc', 'pw']), { platform: 'debian12', sudo: true, secrets: { mail_password: 'Sekret123' } });
    expect(qs.map((q) => ('run' in q ? q.run : q.read)).join('\n')).toMatch(/dpkg-query[\s\S]*systemctl[\s\S]*postfix/);
    expect(qs.some((q) => 'run' in q && /dovecot|Sekret123/.test(q.run))).toBe(false);
    expect(qs.find((q) => 'run' in q && q.run.includes('systemctl'))).toMatchObject({ sudo: false });
  });

  it('never a probe that connects to a port (it could start a server that dies before an earlier step mends it)', () => {
    const steps = [
      step('ports', 'ready', {
        listeners: [
          { socket: '/run/a', unit: 'a' },
          { port: 465, tls: true, banner: '^220 ', unit: 'postfix' },
        ],
      }),
      step('sockets', 'ready', { listeners: [{ socket: '/var/spool/postfix/private/auth', unit: 'dovecot' }] }),
    ];
    const qs = questionsOf(steps, new Set(['ports', 'sockets']), { platform: 'debian12', sudo: true, secrets: {} });
    expect(qs).toHaveLength(1);
    expect(qs[0]).toMatchObject({ run: expect.stringContaining('/var/spool/postfix/private/auth') });
  });
});

describe('a rerun that changes nothing', () => {
  it('asks the checks of the steps it finished before in one exec, and a changed step still converges', async () => {
    const { runPlan } = await import('../../src/runbook/engine.js');
    const { Journal } = await import('../../src/runbook/journal.js');
    const { Emitter } = await import('../../src/output/events.js');
    const { plan } = await import('../helpers/plan.js');
    const dir = mkdtempSync(join(tmpdir(), 'plab-prefetch-run-'));
    const host = localHost();
    const statuses: string[] = [];
    const opts = {
      host,
      platform: 'debian12' as const,
      sudo: false,
      journal: new Journal(join(dir, 'journal.jsonl')),
      logsDir: join(dir, 'logs'),
      artifactsDir: join(dir, 'artifacts'),
      secrets: {},
      events: new Emitter().on((e) => {
        if (e.event === 'step') statuses.push(`${e.id}:${e.status}`);
      }),
    };
    const p = plan(['a', 'b', 'c'].map((id) => step(id, 'command', { run: `touch ${dir}/${id}`, unless: `test -e ${dir}/${id}` })));
    await runPlan(p, opts);
    expect(statuses.splice(0)).toEqual(['a:changed', 'b:changed', 'c:changed']);
    const asked = (from: number) =>
      host
        .execs()
        .slice(from)
        .filter((c) => c.includes('test -e'));
    let mark = host.execs().length;
    await runPlan(p, opts);
    expect(statuses.splice(0)).toEqual(['a:ok', 'b:ok', 'c:ok']);
    expect(asked(mark)).toHaveLength(1); // the batch
    // b removed behind the run's back: the batch says so, b's apply runs, c is asked again after the change.
    spawnSync('rm', [`${dir}/b`]);
    mark = host.execs().length;
    await runPlan(p, opts);
    expect(statuses.splice(0)).toEqual(['a:ok', 'b:changed', 'c:ok']);
    expect(asked(mark).map((c) => (c.includes('PLAB-ANSWER') ? 'batch' : c))).toEqual(['batch', `bash -c 'test -e ${dir}/b'`, `bash -c 'test -e ${dir}/c'`]);
  });
});
