/** npm run class:up / class:status / class:down / class:reset / class:break: a classroom of labs (src/class/). */
import { InputError } from '../errors.js';
import { withCtrlC } from './interrupt.js';
import type { Opts } from './table.js';

interface ClassOpts {
  class?: string;
  learners?: string;
  lab?: string;
  section?: string;
  listen?: string;
  basePort?: string;
  learnerLogin?: string;
  json?: boolean;
}

export async function up(opts: Opts): Promise<number> {
  const o = opts as ClassOpts;
  const { classUp } = await import('../class/up.js');
  const { checkPort } = await import('../class/plan.js');
  const basePort = o.basePort === undefined ? undefined : checkPort(o.basePort, '--base-port');
  const r = await withCtrlC((signal) =>
    classUp({
      cls: o.class,
      learners: o.learners,
      labFile: o.lab,
      section: o.section,
      listen: o.listen,
      basePort,
      learnerLogin: o.learnerLogin,
      out: process.stderr,
      signal,
    }),
  );
  const { rosterFile } = await import('../class/roster.js');
  if (o.json) process.stdout.write(`${JSON.stringify({ ...r.roster, failed: r.failed, durationMs: r.durationMs })}\n`);
  else {
    process.stdout.write(
      `class ${r.roster.class}: ${r.roster.learners.length} of ${r.roster.learners.length + r.failed.length} labs ready at ${r.roster.section === 'done' ? 'the end of the course' : `the start of section ${r.roster.section}`} in ${(r.durationMs / 1000).toFixed(1)}s; roster ${rosterFile(r.roster.class)}\n`,
    );
    for (const f of r.failed) process.stdout.write(`learner ${f.learner} (${f.lab}) failed twice: ${f.error}\n`);
  }
  return r.failed.length ? 1 : 0;
}

export async function status(opts: Opts): Promise<number> {
  const o = opts as ClassOpts;
  const { classStatus, formatStatus } = await import('../class/ops.js');
  const cls = o.class ?? 'class';
  const rows = await classStatus(cls);
  process.stdout.write(o.json ? `${JSON.stringify({ class: cls, learners: rows })}\n` : formatStatus(cls, rows));
  return 0;
}

export async function down(opts: Opts): Promise<number> {
  const o = opts as ClassOpts;
  const { classDown } = await import('../class/ops.js');
  const failed = await classDown(o.class ?? 'class', process.stdout);
  return failed.length ? 1 : 0;
}

export async function reset(opts: Opts): Promise<number> {
  const o = opts as ClassOpts;
  if (!o.section) throw new InputError('class:reset: which section?', 'Example: npm run class:reset -- --section 3');
  const { classReset } = await import('../class/ops.js');
  return classReset(o.class ?? 'class', o.section, process.stdout);
}

export async function brk(opts: Opts, args: string[]): Promise<number> {
  const o = opts as ClassOpts;
  const [name] = args;
  if (!name) throw new InputError('class:break: which challenge?', '`npm run course -- break --list` lists them. Example: npm run class:break -- NAME');
  const { classBreak } = await import('../class/ops.js');
  return classBreak(o.class ?? 'class', name, process.stdout);
}
