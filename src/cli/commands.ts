/** Flag parsing for the lab:* commands (commander), kept apart from what the commands do (src/lab-ops.ts). */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { InputError } from '../errors.js';
import { Emitter } from '../events.js';
import { resolveDriver } from '../lab-file.js';
import { labLifecycle, labSnapshot, labStatus, labUp, openLab, planLab, statusJson } from '../lab-ops.js';
import { jsonReporter } from '../reporters/json.js';
import { junitReporter } from '../reporters/junit.js';
import { formatPlan } from '../reporters/plan.js';
import { selectSteps } from '../plan.js';
import { terminalReporter } from '../reporters/terminal.js';
import { withCtrlC } from './interrupt.js';
import { sshArgs } from './ssh-args.js';

function base(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--lab <file>', 'lab file', undefined)
    .option('--name <name>', 'address one of several labs (default: the lab file\'s name)')
    .addOption(new Option('--platform <platform>', 'override the lab file\'s platform').choices(['debian12', 'el7']))
    .option('--debug', 'show stack traces')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`${s.trimEnd()}\nhint: \`npm run ${name} -- --help\` lists the flags.\n`) });
}

const argv = (a: string[]) => a.slice(2);

/** --section N: one of the memo's four sections. */
export function sectionFlag(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1 && n <= 4)) throw new InputError(`--section ${v}: not a memo section`, 'Sections are 1, 2, 3 and 4.');
  return n;
}

export async function labUpCli(args: string[]): Promise<number> {
  const cmd = base('lab:up', 'Create or boot the lab host and run every step of the runbook on it.')
    .option('--dry-run', 'print the plan with every command that would run; touch no host')
    .option('--from <step>', 'start at this step')
    .option('--until <step>', 'stop after this step')
    .option('--only <steps...>', 'run only these steps')
    .option('--section <n>', 'run one memo section (1-4), as a lesson does')
    .option('--json', 'print JSON lines; the last one is the recap')
    .option('--junit <file>', 'write JUnit XML');
  cmd.parse(argv(args), { from: 'user' });
  const o = cmd.opts<{ lab?: string; name?: string; platform?: 'el7' | 'debian12'; dryRun?: boolean; from?: string; until?: string; only?: string[]; section?: string; json?: boolean; junit?: string }>();
  if ([o.only, o.from || o.until, o.section].filter(Boolean).length > 1) {
    throw new InputError('--section, --only and --from/--until choose steps in different ways: use one', 'Use --section N, or --only STEP..., or a --from/--until range.');
  }
  const selection = { from: o.from, until: o.until, only: o.only, section: sectionFlag(o.section) };
  if (o.dryRun) {
    const lab = openLab({ labFile: o.lab, name: o.name, platform: o.platform });
    const { driver, why } = resolveDriver(lab);
    const plan = planLab(lab);
    process.stdout.write(formatPlan(plan, { driver, why, selected: selectSteps(plan, selection) }));
    return 0;
  }
  const events = new Emitter();
  events.on(o.json ? jsonReporter() : terminalReporter());
  if (o.junit) events.on(junitReporter(o.junit, 'lab:up'));
  // Ctrl-C once: stop the running step's remote commands, record it, end the run (resumable). Twice: quit now.
  const recap = await withCtrlC((signal) => labUp({ labFile: o.lab, name: o.name, platform: o.platform, events, selection, signal }));
  if (recap.interrupted) {
    if (!o.json) process.stderr.write(`\nlab:up interrupted at ${recap.failedStep ?? 'a step'}; \`npm run lab:up\` resumes there.\n`);
    return 130;
  }
  if (recap.failed && recap.error && !o.json) process.stderr.write(`\nlab:up stopped at ${recap.failedStep ?? 'a step'}; fix the cause and run \`npm run lab:up\` again: it resumes there.\n`);
  return recap.failed ? 1 : 0;
}

export async function labLifecycleCli(action: 'halt' | 'down', args: string[]): Promise<number> {
  const cmd = base(`lab:${action}`, action === 'down' ? 'Stop the lab and remove everything it made.' : 'Stop the lab and keep its disk.');
  cmd.parse(argv(args), { from: 'user' });
  const o = cmd.opts<{ lab?: string; name?: string }>();
  const events = new Emitter().on(terminalReporter(process.stderr));
  await labLifecycle(action, { labFile: o.lab, name: o.name, events });
  return 0;
}

export async function labStatusCli(args: string[]): Promise<number> {
  const cmd = base('lab:status', 'Show the labs on this machine.').option('--json', 'print JSON');
  cmd.parse(argv(args), { from: 'user' });
  const o = cmd.opts<{ name?: string; json?: boolean }>();
  const entries = await labStatus({ name: o.name, events: new Emitter() });
  if (o.json) {
    process.stdout.write(statusJson(entries) + '\n');
    return 0;
  }
  if (!entries.length) process.stdout.write('no labs; `npm run lab:up` creates one.\n');
  for (const e of entries) {
    process.stdout.write(`${e.name}  ${e.state}  driver=${e.driver} platform=${e.platform}` +
      `${e.ssh ? `  ssh ${e.ssh.user}@${e.ssh.host}:${e.ssh.port}` : ''}${e.ports.length ? `  ports ${e.ports.map((p) => `127.0.0.1:${p.host}->${p.guest}`).join(' ')}` : ''}` +
      `${e.detail ? `  (${e.detail})` : ''}\n`);
  }
  return 0;
}

export async function labSshCli(args: string[]): Promise<number> {
  const cmd = base('lab:ssh', 'Open a shell on the lab host (or run a command: lab:ssh -- CMD).').argument('[command...]');
  cmd.parse(argv(args), { from: 'user' });
  const o = cmd.opts<{ lab?: string; name?: string }>();
  const entries = await labStatus({ name: o.name ?? openLab({ labFile: o.lab }).name, events: new Emitter() });
  const e = entries[0];
  if (!e?.ssh) throw new InputError(`lab ${o.name ?? ''} has no SSH target yet`, 'Run `npm run lab:up` first.');
  const res = spawnSync('ssh', sshArgs(e.ssh, e.name, cmd.args), { stdio: 'inherit' });
  return res.status ?? 1;
}

export async function verifyCli(args: string[]): Promise<number> {
  const cmd = base('verify', 'Acceptance checks against a running lab, per memo section.')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--json', 'same as --format json')
    .option('--junit <file>', 'write JUnit XML')
    .option('--section <n>', 'check one memo section only (1-4)');
  cmd.parse(argv(args), { from: 'user' });
  const o = cmd.opts<{ lab?: string; name?: string; format: string; json?: boolean; junit?: string; section?: string }>();
  const section = sectionFlag(o.section);
  const { verifyLab } = await import('../verify/index.js');
  const { formatReport, reportJson, reportJunit } = await import('../verify/report.js');
  const report = await verifyLab({ labFile: o.lab, name: o.name, section });
  if (o.junit) writeFileSync(o.junit, reportJunit(report));
  process.stdout.write(o.json || o.format === 'json' ? reportJson(report) + '\n' : formatReport(report, !!process.stdout.isTTY && !process.env.NO_COLOR));
  return report.summary.fail ? 1 : 0;
}

export async function labSnapshotCli(args: string[]): Promise<number> {
  const cmd = base('lab:snapshot', 'Save, restore or list snapshots of the lab\'s disk (the lab is stopped for save and restore).')
    .argument('<action>', 'save | restore | list')
    .argument('[snapshot]', 'snapshot name');
  cmd.parse(argv(args), { from: 'user' });
  const [action, snap] = cmd.args as [string, string | undefined];
  if (!['save', 'restore', 'list'].includes(action)) throw new InputError(`lab:snapshot: unknown action "${action}"`, 'Use save NAME, restore NAME or list.');
  const o = cmd.opts<{ lab?: string; name?: string }>();
  const events = new Emitter().on(terminalReporter(process.stderr));
  const out = await labSnapshot(action as 'save', snap, { labFile: o.lab, name: o.name, events });
  if (action === 'list') process.stdout.write(out.length ? out.join('\n') + '\n' : 'no snapshots\n');
  return 0;
}
