import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPlan, type RunOptions } from '../../src/runbook/engine.js';
import { ConnectionLost } from '../../src/errors.js';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import { Journal } from '../../src/runbook/journal.js';
import { FakeHost } from '../helpers/fake-host.js';
import { plan, step } from '../helpers/plan.js';

function setup(host = new FakeHost(), secrets: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'plab-engine-'));
  const events: EngineEvent[] = [];
  const opts: RunOptions = {
    host,
    platform: 'debian12',
    sudo: true,
    journal: new Journal(join(dir, 'journal.jsonl')),
    logsDir: join(dir, 'logs'),
    artifactsDir: join(dir, 'artifacts'),
    secrets,
    events: new Emitter().on((e) => events.push(e)),
  };
  const statuses = () => events.flatMap((e) => (e.event === 'step' ? [`${e.id}:${e.status}`] : []));
  return { host, dir, events, opts, statuses };
}

/** A command whose check passes once it has run: a flag in the fake host's state. */
function flagStep(host: FakeHost, id: string, extra = {}) {
  let done = false;
  host.on(new RegExp(`check-${id}`), () => ({ code: done ? 0 : 1 }));
  host.on(new RegExp(`do-${id}`), () => {
    done = true;
    return {};
  });
  return step(id, 'command', { run: `do-${id}`, unless: `check-${id}` }, extra);
}

describe('engine', () => {
  it('runs one section, and says so when the sections before it have not run on this lab yet', async () => {
    const { host, opts, statuses, events } = setup();
    const two = { role: 'r2', section: 2, title: 'Role two', steps: [flagStep(host, 'b', { role: 'r2', section: '2.1' })], handlers: [] };
    const p = plan([flagStep(host, 'a')], [], [two]);
    const infos = () => events.flatMap((e) => (e.event === 'info' ? [e.message] : []));
    await runPlan(p, { ...opts, selection: { section: '2' } });
    expect(statuses()).toEqual(['b:changed']);
    expect(infos()).toEqual([expect.stringMatching(/^section 2 builds on section 1, which has not run on this lab yet: .*--section 1\)$/)]);
    await runPlan(p, opts);
    events.length = 0;
    await runPlan(p, { ...opts, selection: { section: '2' } });
    expect(statuses()).toEqual(['b:ok']);
    expect(infos()).toEqual([]);
  });

  it('checks, applies only what is needed, checks again, and reports changed then ok', async () => {
    const { host, opts, statuses, events } = setup();
    const p = plan([flagStep(host, 'a'), step('b', 'command', { run: 'do-b', unless: 'true' })]);
    const first = await runPlan(p, opts);
    expect(statuses()).toEqual(['a:changed', 'b:ok']);
    expect(first).toMatchObject({ ok: 1, changed: 1, failed: 0 });
    expect(host.execs().filter((c) => c.includes('do-'))).toEqual(['bash -c do-a']);
    const second = await runPlan(p, opts);
    expect(second).toMatchObject({ ok: 2, changed: 0, failed: 0 });
    expect(events.at(-1)).toMatchObject({ event: 'recap', ok: 2, changed: 0 });
  });

  it('asks a read-only question once while nothing changes, and again after a step changed the host', async () => {
    const { host, opts, statuses } = setup();
    const look = (id: string, run = 'postfix check') => step(id, 'command', { run, readonly: true });
    const p = plan([look('check-1'), look('check-2'), look('other', 'rsyslogd -N1'), flagStep(host, 'a'), look('check-3'), look('check-4')]);
    await runPlan(p, opts);
    expect(statuses()).toEqual(['check-1:ok', 'check-2:ok', 'other:ok', 'a:changed', 'check-3:ok', 'check-4:ok']);
    // check-2 is answered by check-1 (nothing changed in between); check-3 runs again because step a changed the host
    expect(host.execs().filter((c) => c.includes('postfix check'))).toHaveLength(2);
    expect(readFileSync(join(opts.logsDir, '002-check-2.log'), 'utf8')).toMatch(/same check as check-1, which passed in this run; nothing changed since/);
  });

  it('fails a step that still differs after applying with "did not converge"', async () => {
    const { host, opts, statuses } = setup();
    host.on(/check-x/, { code: 1 });
    const r = await runPlan(plan([step('x', 'command', { run: 'do-x', unless: 'check-x' }), step('y', 'command', { run: 'y', unless: 'true' })]), opts);
    expect(statuses()).toEqual(['x:failed']);
    expect(r.failed).toBe(1);
    expect(r.failedStep).toBe('x');
    expect(r.error?.message).toMatch(/did not converge/);
  });

  it('runs a notified handler once, at the end of its role, only when something changed', async () => {
    const { host, opts, statuses } = setup();
    const h = step('restart', 'service', { name: 'postfix', state: 'restarted' });
    host.on(/systemctl is-enabled/, { stdout: 'enabled=enabled\nactive=active\n' });
    const p = plan([flagStep(host, 'a', { notify: ['restart'] }), flagStep(host, 'b', { notify: ['restart'] })], [h]);
    await runPlan(p, opts);
    expect(statuses()).toEqual(['a:changed', 'b:changed', 'restart:changed']);
    expect(host.execs().filter((c) => c.includes('systemctl restart'))).toHaveLength(1);
    await runPlan(p, opts);
    expect(host.execs().filter((c) => c.includes('systemctl restart'))).toHaveLength(1);
  });

  it('resumes after a failure at the failed step, without repeating finished steps, and runs pending handlers', async () => {
    const { host, opts, statuses } = setup();
    let broken = true;
    host.on(/check-c/, () => ({ code: broken ? 1 : 0 }));
    host.on(/do-c/, () => ({ code: broken ? 3 : 0, stderr: 'boom' }));
    host.on(/systemctl is-enabled/, { stdout: 'enabled=enabled\nactive=active\n' });
    const h = step('restart', 'service', { name: 'postfix', state: 'restarted' });
    const p = plan(
      [flagStep(host, 'a', { notify: ['restart'] }), flagStep(host, 'b'), step('c', 'command', { run: 'do-c', unless: 'check-c' }), flagStep(host, 'd')],
      [h],
    );
    const r1 = await runPlan(p, opts);
    expect(r1).toMatchObject({ failed: 1, failedStep: 'c' });
    expect(r1.error?.message).toMatch(/exit 3.*do-c\nboom/s);
    broken = false;
    const before = host.execs().length;
    const r2 = await runPlan(p, opts);
    expect(statuses().slice(-5)).toEqual(['a:skipped', 'b:skipped', 'c:ok', 'd:changed', 'restart:changed']);
    expect(r2).toMatchObject({ skipped: 2, failed: 0 });
    expect(
      host
        .execs()
        .slice(before)
        .some((c) => c.includes('check-a')),
    ).toBe(false);
    // the run after a completed one starts from the top again
    await runPlan(p, opts);
    expect(statuses().slice(-4)).toEqual(['a:ok', 'b:ok', 'c:ok', 'd:ok']);
  });

  it('--from/--until/--only select steps and do not trigger resume skipping', async () => {
    const { host, opts, statuses } = setup();
    const p = plan(['a', 'b', 'c', 'd'].map((id) => flagStep(host, id)));
    await runPlan(p, { ...opts, selection: { from: 'b', until: 'c' } });
    expect(statuses()).toEqual(['b:changed', 'c:changed']);
    await runPlan(p, { ...opts, selection: { only: ['d'] } });
    expect(statuses().slice(-1)).toEqual(['d:changed']);
    // a successful partial run is no reason to resume: the next full run checks every step
    await runPlan(p, opts);
    expect(statuses().slice(-4)).toEqual(['a:changed', 'b:ok', 'c:ok', 'd:ok']);
    await expect(runPlan(p, { ...opts, selection: { only: ['zz'] } })).rejects.toThrow(/--only zz: no such step/);
  });

  it('reconnects after a dropped connection and runs the interrupted step again from its check', async () => {
    const { host, opts, statuses, events } = setup();
    let drops = 1;
    host.on(/do-a/, () => {
      if (drops-- > 0) throw new ConnectionLost('fake', 'socket closed');
      return {};
    });
    host.on(/check-a/, () => ({ code: drops < 0 ? 0 : 1 }));
    await runPlan(plan([step('a', 'command', { run: 'do-a', unless: 'check-a' })]), opts);
    expect(host.reconnects).toBe(1);
    expect(events.some((e) => e.event === 'reconnect')).toBe(true);
    expect(statuses()).toEqual(['a:changed']);
  });

  it('never lets a secret reach events or step logs', async () => {
    const secret = 'S3cret-Value-xyz';
    const { host, opts, events, dir } = setup(new FakeHost(), { mail_password: secret });
    host.on(/check-s/, { code: 1 });
    host.on(/echo/, () => ({ code: 1, stdout: `leaked ${secret}`, stderr: `bad ${secret}` }));
    await runPlan(plan([step('s', 'command', { run: 'echo {{ secret.mail_password }}', unless: 'check-s' })]), opts);
    expect(JSON.stringify(events)).not.toContain(secret);
    const logs = readdirSync(join(dir, 'logs'))
      .map((f) => readFileSync(join(dir, 'logs', f), 'utf8'))
      .join('');
    expect(logs).toContain('********');
    expect(logs).not.toContain(secret);
    // but the host did receive the real value
    expect(host.execs().some((c) => c.includes(secret))).toBe(true);
  });

  it('writes a log per step with the check result, output and outcome', async () => {
    const { host, opts, dir } = setup();
    await runPlan(plan([flagStep(host, 'a')]), opts);
    const [name] = readdirSync(join(dir, 'logs'));
    expect(name).toBe('001-a.log');
    expect(readFileSync(join(dir, 'logs', name!), 'utf8')).toMatch(
      /# a: Ensure a \(memo 1\.1, command.*\)\n# run \S+ at \S+\ncheck: check failed: check-a\n.*=> changed/s,
    );
  });
});
