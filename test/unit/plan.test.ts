import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lab/lab-file.js';
import { makePlan, selectSteps } from '../../src/runbook/plan.js';
import { loadRoles } from '../../src/runbook/load.js';
import { formatPlan } from '../../src/output/plan.js';

const fixtures = join(import.meta.dirname, '../fixtures/roles');
const tmp = mkdtempSync(join(tmpdir(), 'plab-plan-'));
function labFile(extra = '') {
  const p = join(tmp, `lab-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, `name: t\ndriver: container\nplatform: debian12\n${extra}`);
  return loadLab(p);
}
/** A copy of the fixture roles with one file changed. */
function rolesWith(file: string, edit: (s: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'plab-roles-'));
  cpSync(fixtures, dir, { recursive: true });
  const p = join(dir, file);
  writeFileSync(p, edit(readFileSync(p, 'utf8')));
  return dir;
}

describe('planning', () => {
  it('is pure data: steps per platform, per-platform values resolved, templates filled', () => {
    const lab = labFile();
    const deb = makePlan(lab, loadRoles(fixtures), 'debian12');
    expect(deb.roles.map((r) => r.steps.map((s) => s.id))).toEqual([['pkgs', 'conf'], ['two-a']]);
    expect(deb.roles[0]!.steps[0]!.params).toEqual({ names: ['postfix', 'cron'] });
    expect(deb.roles[0]!.steps[1]!.params.content).toBe('myhostname = mail.lab.example\nmanager = apt\n');
    const el7 = makePlan(lab, loadRoles(fixtures), 'el7');
    expect(el7.roles[0]!.steps.map((s) => s.id)).toEqual(['pkgs', 'conf', 'el7-only']);
    expect(el7.roles[0]!.steps[2]!.params.run).toBe('echo yum');
    expect(makePlan(lab, loadRoles(fixtures), 'el7')).toEqual(el7);
  });

  it("honours when: and the lab's sections", () => {
    const plan = makePlan(labFile('sections: [1]\nparams: { remote_logging: true }\n'), loadRoles(fixtures));
    expect(plan.roles.map((r) => r.role)).toEqual(['one']);
    expect(plan.roles[0]!.steps.map((s) => s.id)).toContain('remote');
  });

  it('prints every command for a dry run, with the memo wording', () => {
    const text = formatPlan(makePlan(labFile(), loadRoles(fixtures), 'el7'));
    expect(text).toContain('[1.2] pkgs: Ensure the packages are installed  «必要パッケージのインストール»');
    expect(text).toMatch(/apply: yum -y install postfix cronie-noanacron/);
    expect(text).toMatch(/handler \[1\] restart-postfix/);
    expect(text).toMatch(/4 steps; nothing was run/);
  });

  it.each([
    [
      'an unknown variable',
      '01-one/role.yaml',
      (s: string) => s.replace('echo {{ mgr }}', 'echo {{ nope }}'),
      'el7',
      /role\.yaml:\d+:\d+: unknown variable \{\{ nope \}\}/,
    ],
    [
      'a step with two kinds',
      '02-two/role.yaml',
      (s: string) => s.replace('postconf:', 'command: { run: x, unless: y }\n    postconf:'),
      'debian12',
      /role\.yaml:5:5: step "two-a" must have exactly one kind, found command and postconf/,
    ],
    [
      'a notify without a handler',
      '02-two/role.yaml',
      (s: string) => `${s}    notify: [reload]\n`,
      'debian12',
      /role\.yaml:9:14: step "two-a" notifies "reload", which is not a handler/,
    ],
    [
      'a bad parameter of a kind',
      '02-two/role.yaml',
      (s: string) => s.replace('set:', 'sett:'),
      'debian12',
      /role\.yaml:8:17: unknown key "sett" in steps\[0\]\.postconf/,
    ],
    [
      'a command that cannot tell whether to run',
      '02-two/role.yaml',
      (s: string) => s.replace('postconf: { set: { smtpd_client_message_rate_limit: "120" } }', 'command: { run: "make" }'),
      'debian12',
      /step "two-a": a command step needs "unless"/,
    ],
    [
      'an id used twice',
      '02-two/role.yaml',
      (s: string) => s.replace('id: two-a', 'id: pkgs'),
      'debian12',
      /step id "pkgs" is used twice \(also at .*01-one\/role\.yaml:\d+:\d+\)/,
    ],
    [
      'an unknown key in a step',
      '02-two/role.yaml',
      (s: string) => s.replace('section: "2.1"', 'section: "2.1"\n    tittle: x'),
      'debian12',
      /role\.yaml:8:5: unknown key "tittle" in steps\[0\]/,
    ],
  ])('rejects %s with file, line and column', (_, file, edit, platform, msg) => {
    const dir = rolesWith(file, edit);
    expect(() => makePlan(labFile(), loadRoles(dir), platform as 'el7')).toThrow(msg);
  });

  it('selects steps with --from, --until and --only, and rejects unknown ones with the list', () => {
    const plan = makePlan(labFile(), loadRoles(fixtures), 'el7');
    expect([...selectSteps(plan, { from: 'conf' })]).toEqual(['conf', 'el7-only', 'two-a']);
    expect([...selectSteps(plan, { until: 'conf' })]).toEqual(['pkgs', 'conf']);
    expect(() => selectSteps(plan, { from: 'two-a', until: 'pkgs' })).toThrow(/comes before/);
    expect(() => selectSteps(plan, { from: 'x' })).toThrow(/--from x: no such step.*/);
  });

  it("selects one section's steps with --section, and names the sections a lab leaves out", () => {
    expect([...selectSteps(makePlan(labFile(), loadRoles(fixtures), 'el7'), { section: '1' })]).toEqual(['pkgs', 'conf', 'el7-only']);
    const one = makePlan(labFile('sections: [1]\n'), loadRoles(fixtures), 'el7');
    expect(() => selectSteps(one, { section: '2' })).toThrow(/--section 2: no such section in the plan for el7/);
  });
});
