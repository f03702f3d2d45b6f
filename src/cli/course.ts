/** npm run course -- ACTION: the learner's commands (start, solve, check, status, break, handout). */
import { InputError } from '../errors.js';
import { Emitter } from '../output/events.js';
import { terminalReporter } from '../output/terminal.js';
import { jsonReporter } from '../output/json.js';
import { formatCourseCheck, formatProgress } from '../output/course-report.js';
import type { Platform } from '../lab/lab-file.js';
import { withCtrlC } from './interrupt.js';
import type { Opts } from './table.js';

interface CourseOpts {
  lab?: string;
  name?: string;
  platform?: Platform;
  json?: boolean;
  list?: boolean;
  answers?: boolean;
  full?: boolean;
  out?: string;
}

const ACTIONS = ['start', 'solve', 'check', 'status', 'break', 'commands', 'handout'];

export async function course(opts: Opts, args: string[]): Promise<number> {
  const o = opts as CourseOpts;
  const [action, arg] = args;
  if (!action || !ACTIONS.includes(action))
    throw new InputError(
      action ? `course: unknown action "${action}"` : 'course: which action?',
      'Actions: start N, solve [N], check [N], status, break NAME (or break --list), commands [N], handout. Example: npm run course -- start 3',
    );
  const ref = { labFile: o.lab, name: o.name, platform: o.platform };
  const tty = !!process.stdout.isTTY && !process.env.NO_COLOR;
  const events = new Emitter().on(o.json ? jsonReporter(process.stderr) : terminalReporter(process.stderr));
  const { courseStart, courseSolve, courseBreak } = await import('../course/ops.js');
  switch (action) {
    case 'start': {
      if (!arg) throw new InputError('course start: which section?', 'Example: npm run course -- start 4.4 (sections: 1, 2, 3, 4.1, 4.2, 4.4, 4.5, 4.6)');
      const r = await withCtrlC((signal) => courseStart({ ...ref, events, signal, section: arg }));
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(
          `your lab is at the start of section ${r.section} (${r.from === 'checkpoint' ? 'from its checkpoint' : 'built with the runbook'}, ${(r.durationMs / 1000).toFixed(1)}s).\n`,
        );
        if (r.saved) process.stdout.write(`what you had before is saved: \`npm run lab:snapshot -- restore ${r.saved}\` brings it back.\n`);
        process.stdout.write(
          `read the lesson (\`npm run lesson -- ${r.section.split('.')[0]}\`), work on the lab (\`npm run lab:ssh\`), then \`npm run course -- check\`.\n`,
        );
      }
      return 0;
    }
    case 'solve': {
      const section = arg ?? (await currentSection(ref));
      const recap = await withCtrlC((signal) => courseSolve({ ...ref, events, signal, section }));
      if (o.json) process.stdout.write(`${JSON.stringify({ section, changed: recap.changed, ok: recap.ok })}\n`);
      return 0;
    }
    case 'check': {
      const { courseCheck, checkPassed } = await import('../course/check.js');
      const r = await withCtrlC((signal) => courseCheck({ ...ref, events, signal, section: arg, full: o.full }));
      process.stdout.write(o.json ? `${JSON.stringify(checkJson(r))}\n` : formatCourseCheck(r, tty));
      return checkPassed(r) ? 0 : 1;
    }
    case 'status': {
      const { labOnDisk } = await import('../lab/session.js');
      const { progressSummary, readProgress } = await import('../course/progress.js');
      const { lab, state } = await labOnDisk({ ...ref, events });
      const p = progressSummary(readProgress(state));
      process.stdout.write(o.json ? `${JSON.stringify({ lab: lab.name, ...p })}\n` : formatProgress(p, lab.name));
      return 0;
    }
    case 'break': {
      if (o.list || !arg) return listBreaks(o);
      const r = await courseBreak({ ...ref, events, challenge: arg });
      process.stdout.write(
        o.json
          ? `${JSON.stringify(r)}\n`
          : `challenge ${arg} (section ${r.section}):\n  ${r.story}\nfind and repair it on the lab, then \`npm run course -- check ${r.section}\`.\n`,
      );
      return 0;
    }
    case 'commands': {
      // The section's commands as a learner types them (what the lesson shows), as one script.
      const { learnerCommands, learnerScript } = await import('../course/learner.js');
      const { openLab, planLab } = await import('../lab/ops.js');
      const { findSection } = await import('../course/sections.js');
      const lab = openLab(ref);
      const section = findSection(arg ?? (await currentSection(ref))).id;
      process.stdout.write(learnerScript(learnerCommands(planLab(lab), section, lab.platform)));
      return 0;
    }
    default: {
      const { handoutCommand } = await import('./course-handout.js');
      return handoutCommand({ lab: o.lab, platform: o.platform, out: o.out ?? arg });
    }
  }
}

async function currentSection(ref: { labFile?: string; name?: string }): Promise<string> {
  const { labOnDisk } = await import('../lab/session.js');
  const { progressSummary, readProgress } = await import('../course/progress.js');
  const { state } = await labOnDisk({ ...ref, events: new Emitter() });
  const current = progressSummary(readProgress(state)).current;
  if (!current)
    throw new InputError('which section? none has been started on this lab', 'Example: npm run course -- solve 3, or npm run course -- start 3 first.');
  return current;
}

async function listBreaks(o: CourseOpts): Promise<number> {
  const { loadBreaks } = await import('../course/breaks.js');
  const { breaks } = loadBreaks();
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify(breaks.map((b) => ({ name: b.name, section: b.section, story: b.story, ...(o.answers ? { what: b.what, repair: b.repair } : {}) })))}\n`,
    );
    return 0;
  }
  const width = Math.max(...breaks.map((b) => b.name.length));
  for (const b of breaks) {
    process.stdout.write(`${b.name.padEnd(width)}  section ${b.section.padEnd(4)} ${b.story}\n`);
    if (o.answers) process.stdout.write(`${' '.repeat(width)}  answer: ${b.what}; repair: ${b.repair}\n`);
  }
  process.stdout.write('\nnpm run course -- break NAME sets one up on your lab (a finished one).\n');
  return 0;
}

function checkJson(r: import('../course/check.js').CourseCheckReport) {
  return {
    section: r.section,
    passed: r.results.every((x) => x.status === 'pass') && !r.regressed.length,
    results: r.results.map((x) => ({
      id: x.id,
      section: x.section,
      title: x.title,
      status: x.status,
      durationMs: x.durationMs,
      message: x.message,
      hint: x.hint,
    })),
    earlier: r.earlier,
    notRun: r.notRun,
    regressed: r.regressed.map((t) => t.section),
    differences: r.differences.map((d) => ({ step: d.step.id, section: d.step.section, detail: d.detail, diff: d.diff, memo: d.step.memo, why: d.step.why })),
    durationMs: r.durationMs,
  };
}
