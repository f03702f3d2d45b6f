/** The course's output: the learner's check with its feedback, and progress per section. */
import { type CourseCheckReport, checkPassed, stepsFor } from '../course/check.js';
import type { SectionProgress } from '../course/progress.js';

const indent = (text: string, n: number) =>
  text
    .split('\n')
    .map((l) => `${' '.repeat(n)}${l}`)
    .join('\n');

export function formatCourseCheck(r: CourseCheckReport, color = false): string {
  const paint = (s: string, c: string) => (color ? `\x1b[${c}m${s}\x1b[0m` : s);
  const out: string[] = [];
  if (r.earlier.length) {
    const line = r.earlier.map((t) => `${t.section} ${t.fail ? paint(`${t.fail} failing`, '31') : paint('ok', '32')}`).join(', ');
    const left = r.notRun.length ? ` (${r.notRun.length} slow probe${r.notRun.length > 1 ? 's' : ''} not rerun: --full runs them)` : '';
    out.push(`earlier sections: ${line}${left}`);
    for (const t of r.regressed) out.push(`  section ${t.section} regressed: \`npm run course -- check ${t.section}\` says what changed there.`);
  }
  const fails = r.results.filter((x) => x.status !== 'pass');
  out.push('', `== ${r.section}. ${r.title}: ${r.results.length - fails.length} of ${r.results.length} checks pass`);
  for (const x of r.results) {
    const mark = x.status === 'pass' ? paint('pass', '32') : x.status === 'fail' ? paint('FAIL', '31') : paint('????', '33');
    out.push(`  ${mark} ${x.section.padEnd(6)} ${x.title}`);
    if (x.status === 'pass') continue;
    out.push(indent(x.message, 9));
    if (x.hint) out.push(`         hint: ${x.hint}`);
    const steps = stepsFor(x, r.differences);
    if (steps.length) out.push(`         the solution still changes: ${steps.map((d) => d.step.id).join(', ')} (below)`);
  }
  if (r.differences.length) {
    out.push('', `What the solution would still change on this lab (${r.differences.length} step${r.differences.length > 1 ? 's' : ''}):`);
    for (const d of r.differences) {
      out.push('', `  ${paint(d.step.id, '35')} (memo ${d.step.section}): ${d.step.title}`);
      if (d.step.memo) out.push(`    the memo: ${d.step.memo.replace(/\n/g, ' ')}`);
      out.push(indent(d.detail, 4));
      if (d.diff) out.push(indent(d.diff, 4));
      if (d.step.why) out.push(`    why the lab differs from the memo: ${d.step.why}`);
    }
  } else if (fails.length) {
    out.push('', 'Check mode finds nothing left to change in this section: a service may need a restart, or an earlier section differs.');
  }
  out.push(
    '',
    checkPassed(r)
      ? paint(`section ${r.section} passes.`, '32')
      : `section ${r.section}: ${fails.length} check${fails.length === 1 ? '' : 's'} to go${r.regressed.length ? `, and ${r.regressed.length} earlier section(s) regressed` : ''}. \`npm run course -- solve ${r.section}\` shows the solution.`,
  );
  return `${out.join('\n')}\n`;
}

export function formatProgress(p: { current?: string; challenge?: string; sections: SectionProgress[] }, lab: string): string {
  const out = [`lab ${lab}: ${p.current ? `working on section ${p.current}` : 'no section started yet (npm run course -- start 1)'}`];
  if (p.challenge) out.push(`challenge in progress: ${p.challenge}`);
  out.push('');
  for (const s of p.sections) {
    const result = s.pass !== undefined ? ` ${s.pass} pass, ${s.fail} fail` : '';
    const how = s.solvedBy ? ` (solved ${s.solvedBy === 'hand' ? 'by hand' : 'with solve'})` : '';
    out.push(`  ${s.section.padEnd(4)} ${s.state.padEnd(11)}${result}${how}${s.lastChange ? `  last ${s.lastChange}` : ''}  ${s.title}`);
  }
  return `${out.join('\n')}\n`;
}
