/**
 * Every command of postfix-lab, declared once: its flags and arguments, and where its code is (loaded only when
 * the command runs). `npm run NAME -- ...` reaches `dispatch` through scripts/run.sh and src/cli/bin.ts; the one
 * place that prints errors and sets the exit code is `main` (src/cli/main.ts).
 */
import { Command, Option } from 'commander';
import { InputError } from '../errors.js';

/** Parsed flags (commander's camelCase keys) and positional arguments. */
export type Opts = Record<string, unknown>;
export type Run = (o: Opts, args: string[]) => Promise<number>;

/** `[flags, description, choices?]`: commander syntax (`--from <step>`, `--only <steps...>`, `--no-add`). */
type Flag = readonly [flags: string, description: string, choices?: readonly string[]];

export interface CommandDef {
  summary: string;
  /** Takes --lab, --name and --platform: the lab it acts on. */
  lab?: boolean;
  /** Positional arguments, commander syntax: '<action>', '[section]', '[command...]'. */
  args?: readonly string[];
  flags?: readonly Flag[];
  /** Flags that must be given. */
  required?: readonly string[];
  /** Arguments after the flags go to the command unparsed (test runners). */
  passThrough?: boolean;
  load: () => Promise<Run>;
}

const PLATFORMS = ['debian12', 'el7'] as const;
const json: Flag = ['--json', 'print JSON (lab:up: JSON lines, the last one the recap)'];
const junit: Flag = ['--junit <file>', 'write JUnit XML'];
const cls: Flag = ['--class <name>', 'the class (default: class); its labs are <name>-01 ...'];
const section: Flag = ['--section <n>', 'one memo section (1-4) or a part of one (4.1, 4.2, 4.4, 4.5, 4.6)'];

export const commands: Record<string, CommandDef> = {
  'lab:up': {
    summary: 'Create or boot the lab host and run every step of the runbook on it.',
    lab: true,
    flags: [
      ['--dry-run', 'print the plan with every command that would run; touch no host'],
      ['--check', 'check mode: run every check and no apply; report what would change (exit 1 if anything would)'],
      ['--from <step>', 'start at this step'],
      ['--until <step>', 'stop after this step'],
      ['--only <steps...>', 'run only these steps'],
      section,
      json,
      junit,
    ],
    load: async () => (await import('./lab.js')).up,
  },
  'lab:halt': { summary: 'Stop the lab and keep its disk.', lab: true, load: async () => (await import('./lab.js')).halt },
  'lab:down': { summary: 'Stop the lab and remove everything it made.', lab: true, load: async () => (await import('./lab.js')).down },
  'lab:status': { summary: 'Show the labs on this machine.', lab: true, flags: [json], load: async () => (await import('./lab.js')).status },
  'lab:ssh': {
    summary: 'Open a shell on the lab host (or run a command: lab:ssh -- CMD).',
    lab: true,
    args: ['[command...]'],
    load: async () => (await import('./lab.js')).ssh,
  },
  'lab:snapshot': {
    summary: "Save, restore, delete or list snapshots of the lab's disk (the lab is stopped for save and restore).",
    lab: true,
    args: ['<action>', '[snapshot]'],
    load: async () => (await import('./lab.js')).snapshot,
  },
  verify: {
    summary: 'Acceptance checks against a running lab, per memo section.',
    lab: true,
    flags: [json, junit, section],
    load: async () => (await import('./verify.js')).verify,
  },
  course: {
    summary: 'The course: start N (from its checkpoint), solve [N], check [N], status, break NAME | --list, commands [N], handout.',
    lab: true,
    args: ['<action>', '[arg]'],
    flags: [
      json,
      ['--list', 'break: list the challenges'],
      ['--full', "check: the earlier sections' slow probes too (postscreen's pause, wrong passwords, a delivery)"],
      ['--answers', 'break --list: with what each one breaks and its repair (for trainers)'],
      ['--out <dir>', 'handout: where to write it (default .lab-handout/PLATFORM)'],
    ],
    load: async () => (await import('./course.js')).course,
  },
  'class:up': {
    summary: "A class: N learners' labs from one checkpoint (re-keyed copy-on-write clones), their ports and the roster.",
    flags: [
      cls,
      ['--learners <n>', 'how many learners (1-99)'],
      ['--lab <file>', "the lab file every learner's lab is made from (default: lab.yaml; debian12, container driver)"],
      ['--section <s>', 'every lab at the start of this course section (default 1), or done (finished)'],
      ['--listen <address>', "bind the class's forwarded ports, learner SSH included, to this address (default 127.0.0.1)"],
      ['--base-port <port>', "learner 01's first host port; each next learner 10 higher (default 30000)"],
      ['--learner-login <how>', 'how learners log in to their labs: key (their own SSH key pair, the default), password (their own password instead) or both'],
      json,
    ],
    required: ['learners'],
    load: async () => (await import('./class.js')).up,
  },
  'class:status': {
    summary: "The class's labs: learner, lab, state, course section, ports.",
    flags: [cls, json],
    load: async () => (await import('./class.js')).status,
  },
  'class:down': { summary: 'Remove every lab of the class (the base last) and its folder.', flags: [cls], load: async () => (await import('./class.js')).down },
  'class:reset': {
    summary: "Every learner's lab to the start of a section (each learner's own state saved first, as course start does).",
    flags: [cls, ['--section <s>', 'the course section to go back (or on) to']],
    required: ['section'],
    load: async () => (await import('./class.js')).reset,
  },
  'class:break': {
    summary: 'One challenge (course/breaks.yaml) for every learner of the class.',
    args: ['<challenge>'],
    flags: [cls],
    load: async () => (await import('./class.js')).brk,
  },
  'class:report': {
    summary: "The class report: every learner's lab checked per course section, as a table (or --csv, --json, --html).",
    flags: [
      cls,
      ['--csv <file>', 'also write the report as CSV (a line per learner and section)'],
      ['--html <file>', 'also write it as one self-contained HTML page'],
      json,
      ['--watch <seconds>', 'check again every N seconds until Ctrl-C (the HTML page reloads itself as often)'],
    ],
    load: async () => (await import('./class-report.js')).classReportCommand,
  },
  lesson: {
    summary: 'Print one memo section as a lesson (Markdown), or --write every lesson into a folder.',
    args: ['[section]'],
    flags: [
      ['--lab <file>', 'lab file (default: lab.yaml; with --platform alone, the shipped lab for it)'],
      ['--platform <platform>', 'platform of the lesson', PLATFORMS],
      ['--write <dir>', 'write every lesson of both platforms into this folder (docs/course)'],
    ],
    load: async () => (await import('./lesson.js')).lessonCommand,
  },
  'box:build': {
    summary: "Build the lab's Vagrant box with Packer (cached with its checksum) and add it to Vagrant.",
    flags: [
      ['--platform <platform>', 'what the box runs', PLATFORMS],
      ['--provider <provider>', 'Vagrant provider', ['virtualbox', 'libvirt']],
      ['--name <box>', 'add the box under this name (default postfix-lab/centos-7.9 or postfix-lab/debian-12)'],
      ['--accelerator <accel>', 'QEMU accelerator for libvirt boxes (default: POSTFIX_LAB_ACCEL or tcg)', ['tcg', 'kvm', 'hvf', 'whpx']],
      ['--iso <file>', 'el7: a local copy of CentOS-7-x86_64-Minimal-2009.iso (checked against its sha256)'],
      ['--rebuild', 'build again even when a cached box matches'],
      ['--no-add', 'only build (or find) the box file; do not add it to Vagrant'],
    ],
    required: ['platform', 'provider'],
    load: async () => (await import('./box.js')).boxBuild,
  },
  schemas: {
    summary: 'Write schemas/role.schema.json and schemas/checks.schema.json from the kinds of step and of check.',
    load: async () => (await import('./dev.js')).schemas,
  },
  bench: {
    summary: 'Run one benchmark (ssh-steps, lab-hosts, verify, ...); its last output line is a JSON object.',
    passThrough: true,
    load: async () => (await import('./dev.js')).bench,
  },
  test: {
    summary: 'Typecheck, then every test suite (installs the system packages the tests need as root).',
    passThrough: true,
    load: async () => (await import('./dev.js')).test,
  },
  'test:vm': {
    summary: 'The slow VM suite: Packer box, Vagrant on libvirt, lab:up, verify, snapshot.',
    passThrough: true,
    load: async () => (await import('./dev.js')).testVm,
  },
};

/** The commander command for one table entry, with the flags every command shares. */
export function commandFor(name: string, def: CommandDef): Command {
  const cmd = new Command(name).description(def.summary);
  if (def.lab) {
    cmd
      .option('--lab <file>', 'lab file (default: lab.yaml)')
      .option('--name <name>', "address one of several labs (default: the lab file's name)")
      .addOption(new Option('--platform <platform>', "override the lab file's platform").choices(PLATFORMS));
  }
  for (const [flags, description, choices] of def.flags ?? []) {
    const opt = new Option(flags, description);
    if (choices) opt.choices(choices);
    if (def.required?.includes(opt.attributeName())) opt.makeOptionMandatory();
    cmd.addOption(opt);
  }
  for (const a of def.args ?? []) cmd.argument(a);
  if (def.passThrough) cmd.allowUnknownOption().allowExcessArguments().helpOption(false);
  return cmd
    .option('--debug', 'show stack traces')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`${s.trimEnd()}\nhint: \`npm run ${name} -- --help\` lists the flags.\n`) });
}

function overview(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return (
    ['Commands (npm run NAME -- --help for the flags of one):', ...Object.entries(commands).map(([n, d]) => `  ${n.padEnd(width)}  ${d.summary}`)].join('\n') +
    '\n'
  );
}

/** Runs `NAME [flags]`; NAME as npm spells it (lab:up) or as a file would (lab-up). */
export async function dispatch(argv: string[]): Promise<number> {
  const [given, ...rest] = argv;
  if (!given || given === '--help' || given === '-h') {
    process.stdout.write(overview());
    return given ? 0 : 2;
  }
  const name = commands[given] ? given : given.replace('-', ':');
  const def = commands[name];
  if (!def) throw new InputError(`no command named ${given}`, overview().trimEnd());
  const run = await def.load();
  if (def.passThrough)
    return run(
      {},
      rest.filter((a) => a !== '--debug'),
    );
  const cmd = commandFor(name, def);
  cmd.parse(rest, { from: 'user' });
  return run(cmd.opts(), cmd.args);
}
