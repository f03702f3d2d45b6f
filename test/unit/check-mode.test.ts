import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPlan } from '../../src/runbook/check-mode.js';
import { runPlan } from '../../src/runbook/engine.js';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import { Journal } from '../../src/runbook/journal.js';
import { FakeHost } from '../helpers/fake-host.js';
import { plan, step } from '../helpers/plan.js';

function flag(host: FakeHost, id: string, done = false, extra = {}) {
  const state = { done };
  host.on(new RegExp(`check-${id}$`), () => ({ code: state.done ? 0 : 1 }));
  host.on(new RegExp(`do-${id}$`), () => {
    state.done = true;
    return {};
  });
  return step(id, 'command', { run: `do-${id}`, unless: `check-${id}` }, extra);
}

function events() {
  const list: EngineEvent[] = [];
  return { list, emitter: new Emitter().on((e) => list.push(e)), statuses: () => list.flatMap((e) => (e.event === 'step' ? [`${e.id}:${e.status}`] : [])) };
}

describe('check mode', () => {
  it('runs every check and no apply, and reports what differs with the handlers it would notify', async () => {
    const host = new FakeHost();
    const p = plan([flag(host, 'a', true), flag(host, 'b', false, { notify: ['h'] })], [step('h', 'command', { run: 'do-h', always: true })]);
    const ev = events();
    const recap = await checkPlan(p, { host, platform: 'debian12', sudo: true, artifactsDir: '/x', secrets: {}, events: ev.emitter });
    expect(ev.statuses()).toEqual(['a:ok', 'b:differs']);
    expect(recap).toMatchObject({ ok: 1, differs: 1 });
    expect(recap.differences.map((d) => [d.step.id, d.section, d.notify])).toEqual([['b', '1', ['h']]]);
    expect(host.execs().some((c) => /do-/.test(c))).toBe(false);
    const stepEvent = ev.list.find((e) => e.event === 'step' && e.id === 'b');
    expect(stepEvent).toMatchObject({ detail: expect.stringContaining('would notify h') });
  });

  it('reports a read-only check that fails as a difference and goes on to the next step', async () => {
    const host = new FakeHost();
    host.on(/postfix check/, () => ({ code: 1, stderr: 'postfix: fatal: bad main.cf' }));
    const p = plan([step('pc', 'command', { run: 'postfix check', readonly: true }), flag(host, 'c', true)]);
    const ev = events();
    const recap = await checkPlan(p, { host, platform: 'debian12', sudo: true, artifactsDir: '/x', secrets: {}, events: ev.emitter });
    expect(ev.statuses()).toEqual(['pc:differs', 'c:ok']);
    expect(recap.differences[0]!.detail).toMatch(/bad main.cf/);
  });

  it('never shows a secret in what it reports', async () => {
    const host = new FakeHost();
    host.on(/check-s/, () => ({ code: 1 }));
    const p = plan([step('s', 'command', { run: 'do-s', unless: 'check-s {{ secret.mail_password }}' })]);
    const ev = events();
    await checkPlan(p, { host, platform: 'debian12', sudo: true, artifactsDir: '/x', secrets: { mail_password: 'Hunter2Hunter2' }, events: ev.emitter });
    expect(JSON.stringify(ev.list)).not.toContain('Hunter2Hunter2');
  });
});

describe('course parts in a run', () => {
  it("runs a role's handlers at the end of each course part, and calls the section hook before each part", async () => {
    const host = new FakeHost();
    const four = (id: string, section: string, notify: string[] = []) => flag(host, id, false, { role: 'r4', section, notify });
    const p = plan([flag(host, 'one', false)]);
    p.roles.push({
      role: 'r4',
      section: 4,
      title: 'TIPS',
      steps: [four('sub', '4.1', ['reload']), four('rate', '4.2', ['reload']), four('stress', '4.3'), four('final', '4')],
      handlers: [step('reload', 'command', { run: 'do-reload', always: true }, { role: 'r4', section: '4' })],
    });
    const dir = mkdtempSync(join(tmpdir(), 'plab-parts-'));
    const ev = events();
    const sections: string[] = [];
    await runPlan(p, {
      host,
      platform: 'debian12',
      sudo: true,
      journal: new Journal(join(dir, 'j.jsonl')),
      logsDir: join(dir, 'logs'),
      artifactsDir: dir,
      secrets: {},
      events: ev.emitter,
      onSection: async (id) => {
        sections.push(id);
      },
    });
    // 'final' (the role's bare number, its closing check) belongs to the last part, 4.6.
    expect(sections).toEqual(['1', '4.1', '4.2', '4.6']);
    expect(ev.statuses()).toEqual(['one:changed', 'sub:changed', 'reload:changed', 'rate:changed', 'stress:changed', 'reload:changed', 'final:changed']);
  });
});
