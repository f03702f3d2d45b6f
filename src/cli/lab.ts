/** The lab:* commands: flags (declared in src/cli/table.ts) in, library calls (src/lab-ops.ts) out. */
import { spawnSync } from 'node:child_process';
import { InputError, LabError } from '../errors.js';
import { Emitter } from '../output/events.js';
import { resolveDriver, type Platform } from '../lab/lab-file.js';
import { labLifecycle, labSnapshot, labStatus, labUp, openLab, planLab, statusJson } from '../lab/ops.js';
import { selectSteps } from '../runbook/plan.js';
import { jsonReporter } from '../output/json.js';
import { junitReporter } from '../output/junit.js';
import { formatPlan } from '../output/plan.js';
import { terminalReporter } from '../output/terminal.js';
import { withCtrlC } from './interrupt.js';
import { labCheck } from '../lab/check.js';
import { courseSections, findSection } from '../course/sections.js';
import { sshArgs } from './ssh-args.js';
import type { Opts } from './table.js';

interface LabOpts {
  lab?: string;
  name?: string;
  platform?: Platform;
}
const ref = (o: Opts) => {
  const { lab, name, platform } = o as LabOpts;
  return { labFile: lab, name, platform };
};

/** --section N: one of the memo's four sections. */
export function memoSectionFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1 && n <= 4)) throw new InputError(`--section ${v}: not a memo section`, 'Sections are 1, 2, 3 and 4.');
  return n;
}

/** --section S: a memo section (1-4, the whole of it) or a course part of one ("4.4"; "4.4.2" and "4.3" name the part they are in). */
export function sectionFlag(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (/^[1-4]$/.test(v)) return v;
  if (!/^[1-4](\.[1-9])+$/.test(v))
    throw new InputError(
      `--section ${v}: not a section`,
      `Sections are 1, 2, 3 and 4, or a part of one: ${courseSections()
        .filter((c) => c.id.includes('.'))
        .map((c) => c.id)
        .join(', ')}.`,
    );
  try {
    return findSection(v).id;
  } catch (e) {
    throw new InputError(`--section ${v}: ${(e as Error).message}`, (e as InputError).hint);
  }
}

export async function up(opts: Opts): Promise<number> {
  const o = opts as LabOpts & {
    check?: boolean;
    dryRun?: boolean;
    from?: string;
    until?: string;
    only?: string[];
    section?: string;
    json?: boolean;
    junit?: string;
  };
  if ([o.only, o.from || o.until, o.section].filter(Boolean).length > 1) {
    throw new InputError(
      '--section, --only and --from/--until choose steps in different ways: use one',
      'Use --section N, or --only STEP..., or a --from/--until range.',
    );
  }
  const selection = { from: o.from, until: o.until, only: o.only, section: sectionFlag(o.section) };
  if (o.dryRun && o.check)
    throw new InputError('--dry-run and --check: use one', '--dry-run prints the plan without a host; --check asks the lab what would change.');
  if (o.check) {
    const events = new Emitter();
    events.on(o.json ? jsonReporter() : terminalReporter());
    if (o.junit) events.on(junitReporter(o.junit, 'lab:up --check'));
    const recap = await withCtrlC((signal) => labCheck({ ...ref(opts), events, selection, signal }));
    if (recap.interrupted) throw new LabError('lab:up --check interrupted', 'Nothing was changed; run it again.', 130);
    return recap.differs ? 1 : 0;
  }
  if (o.dryRun) {
    const lab = openLab(ref(opts));
    const { driver, why } = resolveDriver(lab);
    const plan = planLab(lab);
    process.stdout.write(formatPlan(plan, { driver, why, selected: selectSteps(plan, selection) }));
    return 0;
  }
  const events = new Emitter();
  events.on(o.json ? jsonReporter() : terminalReporter());
  if (o.junit) events.on(junitReporter(o.junit, 'lab:up'));
  // Ctrl-C once: stop the running step's remote commands, record it, end the run (resumable). Twice: quit now.
  const recap = await withCtrlC((signal) => labUp({ ...ref(opts), events, selection, signal }));
  if (recap.interrupted) {
    throw new LabError(`lab:up interrupted at ${recap.failedStep ?? 'a step'}`, '`npm run lab:up` resumes there.', 130);
  }
  if (recap.failed) {
    throw new LabError(
      `lab:up stopped at ${recap.failedStep ?? 'a step'}`,
      "Fix the cause (the step's message and log are above) and run `npm run lab:up` again: it resumes there.",
      recap.error?.exitCode ?? 1,
    );
  }
  return 0;
}

async function lifecycle(action: 'halt' | 'down', opts: Opts): Promise<number> {
  await labLifecycle(action, { ...ref(opts), events: new Emitter().on(terminalReporter(process.stderr)) });
  return 0;
}
export const halt = (o: Opts) => lifecycle('halt', o);
export const down = (o: Opts) => lifecycle('down', o);

export async function status(opts: Opts): Promise<number> {
  const entries = await labStatus({ name: (opts as LabOpts).name, events: new Emitter() });
  if (opts.json) {
    process.stdout.write(statusJson(entries) + '\n');
    return 0;
  }
  if (!entries.length) process.stdout.write('no labs; `npm run lab:up` creates one.\n');
  for (const e of entries) {
    process.stdout.write(
      `${e.name}  ${e.state}  driver=${e.driver} platform=${e.platform}` +
        `${e.ssh ? `  ssh ${e.ssh.user}@${e.ssh.host}:${e.ssh.port}` : ''}${e.ports.length ? `  ports ${e.ports.map((p) => `127.0.0.1:${p.host}->${p.guest}`).join(' ')}` : ''}` +
        `${e.detail ? `  (${e.detail})` : ''}\n`,
    );
  }
  return 0;
}

export async function ssh(opts: Opts, args: string[]): Promise<number> {
  const o = opts as LabOpts;
  const entries = await labStatus({ name: o.name ?? openLab({ labFile: o.lab }).name, events: new Emitter() });
  const e = entries[0];
  if (!e?.ssh) throw new InputError(`lab ${o.name ?? ''} has no SSH target yet`, 'Run `npm run lab:up` first.');
  const res = spawnSync('ssh', sshArgs(e.ssh, e.name, args), { stdio: 'inherit' });
  return res.status ?? 1;
}

export async function snapshot(opts: Opts, args: string[]): Promise<number> {
  const [action, snap] = args as [string, string | undefined];
  if (!['save', 'restore', 'list', 'delete'].includes(action))
    throw new InputError(`lab:snapshot: unknown action "${action}"`, 'Use save NAME, restore NAME, delete NAME or list.');
  const events = new Emitter().on(terminalReporter(process.stderr));
  const out = await labSnapshot(action as 'save', snap, { ...ref(opts), events });
  if (action === 'list') process.stdout.write(out.length ? out.join('\n') + '\n' : 'no snapshots\n');
  return 0;
}
