/**
 * The commands a learner types for a course section, in order: each step's apply lines (its learner rendering),
 * then the handlers the section's steps notify. Pasted into a shell on the lab host, they must do what the section
 * does: the track test runs them by hand on a fresh checkpoint and then expects check mode to find nothing.
 */
import type { Platform } from '../lab/lab-file.js';
import { kinds } from '../runbook/kinds/index.js';
import type { Plan } from '../runbook/plan.js';
import { inCourseSection } from './sections.js';

export interface LearnerBlock {
  step: string;
  title: string;
  section: string;
  lines: string[];
  handler?: boolean;
}

export function learnerCommands(plan: Plan, section: string, platform: Platform): LearnerBlock[] {
  const out: LearnerBlock[] = [];
  for (const role of plan.roles) {
    const steps = role.steps.filter((s) => inCourseSection(s.section, section));
    if (!steps.length) continue;
    const notified = new Set(steps.flatMap((s) => s.notify));
    for (const s of steps) {
      const lines = kinds[s.kind]!.learner(s.params as never, platform).apply.flatMap((l) => l.split('\n'));
      if (lines.length) out.push({ step: s.id, title: s.title, section: s.section, lines });
    }
    for (const h of role.handlers.filter((x) => notified.has(x.id))) {
      const lines = kinds[h.kind]!.learner(h.params as never, platform).apply;
      if (lines.length) out.push({ step: h.id, title: h.title, section: h.section, lines, handler: true });
    }
  }
  return out;
}

/** As one shell script: a comment per step, stop at the first command that fails. */
export function learnerScript(blocks: LearnerBlock[]): string {
  return ['set -e', ...blocks.flatMap((b) => [`# ${b.step}: ${b.title}`, ...b.lines])].join('\n') + '\n';
}
