import { describe, expect, it } from 'vitest';
import { loadBreaks } from '../../src/course/breaks.js';
import { learnerCommands, learnerScript } from '../../src/course/learner.js';
import { progressSummary, type ProgressEvent } from '../../src/course/progress.js';
import { courseSectionOf, courseSections, findSection, inCourseSection, sectionsBefore } from '../../src/course/sections.js';
import { loadLab } from '../../src/lab/lab-file.js';
import { makePlan, selectSteps } from '../../src/runbook/plan.js';
import { loadRoles } from '../../src/runbook/load.js';
import { repoRoot } from '../../src/schemas.js';
import { join } from 'node:path';

describe('course sections', () => {
  it('are memo sections 1-3 and the parts of section 4, in memo order', () => {
    expect(courseSections().map((s) => s.id)).toEqual(['1', '2', '3', '4.1', '4.2', '4.4', '4.5', '4.6']);
  });

  it('put a step in the part its memo section falls in; a role’s bare number in its last part', () => {
    expect(courseSectionOf('4.3')?.id).toBe('4.2');
    expect(courseSectionOf('4.4.2')?.id).toBe('4.4');
    expect(courseSectionOf('2.5')?.id).toBe('2');
    expect(courseSectionOf('4')?.id).toBe('4.6');
    expect(inCourseSection('3', '3')).toBe(true);
    expect(inCourseSection('4.5.7', '4.4')).toBe(false);
  });

  it('name a part by itself or by a memo section inside it, and refuse others with the list', () => {
    expect(findSection('4.5.3').id).toBe('4.5');
    expect(findSection('4').id).toBe('4.1');
    expect(() => findSection('7')).toThrow(/no course section "7"/);
    expect(sectionsBefore('4.1').map((s) => s.id)).toEqual(['1', '2', '3']);
  });

  it('select the steps of a part for lab:up --section', () => {
    const lab = loadLab(join(repoRoot, 'labs', 'debian12-container.yaml'));
    const plan = makePlan(lab, loadRoles());
    const ids = [...selectSteps(plan, { section: '4.4' })];
    expect(ids).toContain('postscreen-master');
    expect(ids).not.toContain('submission-services');
    expect(ids).not.toContain('ready-04');
    expect([...selectSteps(plan, { section: '4.6' })]).toContain('ready-04');
  });
});

describe('learner commands', () => {
  it('are the apply lines of the section, then the handlers it notifies, with nothing a person cannot type', () => {
    const lab = loadLab(join(repoRoot, 'labs', 'debian12-container.yaml'));
    const plan = makePlan(lab, loadRoles());
    for (const { id } of courseSections()) {
      const script = learnerScript(learnerCommands(plan, id, 'debian12'));
      expect(script.startsWith('set -e\n')).toBe(true);
      expect(script, `section ${id}`).not.toMatch(/sudoedit|^read |^write /m);
    }
    const blocks = learnerCommands(plan, '4.4', 'debian12');
    expect(blocks.at(-1)).toMatchObject({ step: 'reload-postfix-04', handler: true });
    expect(blocks.flatMap((b) => b.lines)).toContain("sudo postconf -M 'smtp/inet=smtp inet n - y - 1 postscreen'");
  });
});

describe('progress', () => {
  it('says per section whether it was started, is failing or passed, and how it was passed', () => {
    const at = '2026-12-01T10:00:00Z';
    const events: ProgressEvent[] = [
      { type: 'start', section: '3', at, from: 'checkpoint' },
      { type: 'check', section: '3', at, pass: 10, fail: 3, regressed: [] },
      { type: 'check', section: '3', at, pass: 13, fail: 0, regressed: [] },
      { type: 'start', section: '4.1', at, from: 'checkpoint' },
      { type: 'solve', section: '4.1', at, changed: 3 },
      { type: 'check', section: '4.1', at, pass: 8, fail: 0, regressed: [] },
      { type: 'break', section: '2', at, name: 'no-cron' },
    ];
    const p = progressSummary(events);
    expect(p.current).toBe('2');
    expect(p.challenge).toBe('no-cron');
    const by = Object.fromEntries(p.sections.map((s) => [s.section, [s.state, s.solvedBy, s.checks]]));
    expect(by['3']).toEqual(['passed', 'hand', 2]);
    expect(by['4.1']).toEqual(['passed', 'solve', 1]);
    expect(by['4.4']).toEqual(['not started', undefined, 0]);
  });
});

describe('challenges', () => {
  it('each name a course section, a story without the answer, a break, a repair and the checks that fail', () => {
    const { breaks } = loadBreaks();
    expect(breaks.length).toBeGreaterThanOrEqual(10);
    for (const b of breaks) {
      expect(courseSections().map((s) => s.id)).toContain(b.section);
      expect(b.story.toLowerCase()).not.toContain(b.break.split(' ')[0]!.toLowerCase());
    }
    expect(new Set(breaks.map((b) => b.name)).size).toBe(breaks.length);
  });
});
