import { describe, expect, it } from 'vitest';
import type { CourseCheckReport } from '../../src/course/check.js';
import { formatCourseCheck } from '../../src/output/course-report.js';
import type { PlanStep } from '../../src/runbook/plan.js';
import type { CheckResult } from '../../src/verify/runner.js';

const result = (id: string, section: string, status: CheckResult['status'], message = '', hint = ''): CheckResult => ({
  id,
  section,
  title: `title of ${id}`,
  status,
  durationMs: 10,
  message,
  hint,
});

const step: PlanStep = {
  id: 'submission-services',
  role: '04-tips',
  section: '4.1',
  title: 'Ensure master.cf serves submission',
  memo: '/etc/postfix/master.cf',
  why: 'The memo keeps ": explanation" after each -o.',
  kind: 'master',
  params: {},
  notify: [],
  timeoutMs: 1000,
  at: 'roles/04-tips/role.yaml:1:1',
};

function report(over: Partial<CourseCheckReport> = {}): CourseCheckReport {
  return {
    section: '4.1',
    title: 'Submission (587) and smtps (465)',
    results: [result('4/tcp/587', '4.1', 'fail', 'port 587 is closed, expected open', 'Add the submission service.'), result('4/tcp/465', '4.1', 'pass')],
    earlier: [
      { section: '1', pass: 7, fail: 0, inconclusive: 0 },
      { section: '3', pass: 10, fail: 2, inconclusive: 0 },
    ],
    regressed: [{ section: '3', pass: 10, fail: 2, inconclusive: 0 }],
    notRun: [
      { id: '3/smtp/smtp-auth', section: '3.2', title: 'AUTH on 25' },
      { id: '3/smtp/smtp-wrong-password', section: '3.2', title: 'a wrong password' },
    ],
    differences: [{ step, section: '4.1', detail: 'master.cf: 2 entries to add', diff: '+submission inet n - y - - smtpd', notify: [] }],
    durationMs: 1200,
    ...over,
  };
}

describe("the learner's check, as text", () => {
  it('says which earlier sections regressed and how many slow probes it did not rerun', () => {
    const text = formatCourseCheck(report());
    expect(text).toMatch(/^earlier sections: 1 ok, 3 2 failing \(2 slow probes not rerun: --full runs them\)$/m);
    expect(text).toMatch(/^ {2}section 3 regressed: `npm run course -- check 3` says what changed there\.$/m);
  });

  it('shows each failing check with its message, hint and the step that would change, then the step with the memo and why', () => {
    const text = formatCourseCheck(report());
    expect(text).toMatch(/== 4\.1\. Submission \(587\) and smtps \(465\): 1 of 2 checks pass/);
    expect(text).toMatch(
      /FAIL 4\.1 {4}title of 4\/tcp\/587\n {9}port 587 is closed, expected open\n {9}hint: Add the submission service\.\n {9}the solution still changes: submission-services \(below\)/,
    );
    expect(text).toMatch(
      /submission-services \(memo 4\.1\): Ensure master\.cf serves submission\n {4}the memo: \/etc\/postfix\/master\.cf\n {4}master\.cf: 2 entries to add\n {4}\+submission inet/,
    );
    expect(text).toMatch(/why the lab differs from the memo: The memo keeps/);
    expect(text).toMatch(/section 4\.1: 1 check to go, and 1 earlier section\(s\) regressed\. `npm run course -- solve 4\.1` shows the solution\.\n$/);
  });

  it('says the section passes, and says nothing of slow probes when every one ran', () => {
    const text = formatCourseCheck(
      report({
        results: [result('4/tcp/465', '4.1', 'pass')],
        regressed: [],
        earlier: [{ section: '1', pass: 7, fail: 0, inconclusive: 0 }],
        notRun: [],
        differences: [],
      }),
    );
    expect(text).toMatch(/^earlier sections: 1 ok$/m);
    expect(text).toMatch(/section 4\.1 passes\.\n$/);
  });
});
