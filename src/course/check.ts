/**
 * The learner's check: the section's checks from verify/, the earlier sections' checks (has anything regressed?),
 * and check mode on the section's steps: for every failing check, what the solution would still change on this lab
 * right now (the exact diff or delta), with the memo's wording and why the lab does it differently.
 */
import { checkSession } from '../lab/check.js';
import { withSession } from '../lab/session.js';
import { Emitter } from '../output/events.js';
import type { Difference } from '../runbook/check-mode.js';
import type { CheckResult } from '../verify/runner.js';
import { type VerifyReport, verifyLab } from '../verify/index.js';
import { progressSummary, readProgress, recordProgress } from './progress.js';
import { findSection, inCourseSection, sectionsBefore } from './sections.js';
import type { CourseOptions } from './ops.js';

export interface SectionTally {
  section: string;
  pass: number;
  fail: number;
  inconclusive: number;
}

export interface CourseCheckReport {
  section: string;
  title: string;
  results: CheckResult[];
  /** Earlier sections with a failing check. */
  regressed: SectionTally[];
  earlier: SectionTally[];
  /** The earlier sections' slow probes, left out of the regression check unless `full`. */
  notRun: VerifyReport['notRun'];
  /** What the runbook would still change in this section. */
  differences: Difference[];
  durationMs: number;
}

const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

/** The steps that differ and belong to the failing check's memo section (or, when none does, every one that differs). */
export function stepsFor(check: CheckResult, differences: Difference[]): Difference[] {
  return differences.filter((d) => related(d.step.section, check.section));
}

export async function courseCheck(o: CourseOptions & { section?: string; full?: boolean }): Promise<CourseCheckReport> {
  const t0 = Date.now();
  return withSession(o, async (s) => {
    const id = findSection(o.section ?? progressSummary(readProgress(s.state)).current ?? '1').id;
    const before = sectionsBefore(id).map((x) => x.id);
    // verify's probes and check mode on the one connection, at the same time.
    const [report, diff] = await Promise.all([
      // the earlier sections: has anything regressed? Their quick checks, unless asked for all (--full)
      verifyLab({ labFile: s.lab.file, name: s.lab.name, sections: [...before, id], quick: o.full ? [] : before, host: s.host }),
      checkSession({ ...s, events: new Emitter() }, { section: id }, o.signal),
    ]);
    const tally = (sec: string): SectionTally => {
      const rs = report.results.filter((r) => inCourseSection(r.section, sec));
      return {
        section: sec,
        pass: rs.filter((r) => r.status === 'pass').length,
        fail: rs.filter((r) => r.status === 'fail').length,
        inconclusive: rs.filter((r) => r.status === 'inconclusive').length,
      };
    };
    const earlier = before.map(tally);
    const results = report.results.filter((r) => inCourseSection(r.section, id));
    const out: CourseCheckReport = {
      section: id,
      title: findSection(id).title,
      results,
      earlier,
      notRun: report.notRun,
      regressed: earlier.filter((t) => t.fail > 0),
      differences: diff.differences.filter((d) => d.section === id || inCourseSection(d.step.section, id)),
      durationMs: Date.now() - t0,
    };
    const mine = tally(id);
    recordProgress(s.state, {
      type: 'check',
      section: id,
      at: new Date().toISOString(),
      pass: mine.pass,
      fail: mine.fail,
      regressed: out.regressed.map((r) => r.section),
    });
    return out;
  });
}

/** Passed: every check of the section passes and no earlier section regressed. */
export const checkPassed = (r: CourseCheckReport) => r.results.every((x) => x.status === 'pass') && !r.regressed.length;
