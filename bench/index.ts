/** Benchmarks, reported as ratios against what users would pick instead; never timed tests. */
import { InputError } from '../src/errors.js';

const benches: Record<string, { about: string; run: (args: string[]) => Promise<Record<string, number>> }> = {
  'ssh-steps': {
    about: 'N trivial steps over SSH: the engine vs OpenSSH, ControlMaster, Ansible (pipelining) and one batched script',
    run: async () => (await import('./ssh-steps.js')).benchSshSteps({ counts: [20, 100] }),
  },
  'lab-hosts': {
    about: 'container lab hosts: base image build, boot to SSH-ready for 1 and 5 labs, down',
    run: async () => (await import('./lab-hosts.js')).benchLabHosts() as unknown as Promise<Record<string, number>>,
  },
  'lab-up': {
    about:
      'a whole debian12 lab:up on a fresh container lab: per step and kind wall, remote and engine time; its floor in the same run; a no-op rerun (--runs N)',
    run: async (args) => (await import('./lab-up.js')).benchLabUp({ runs: runsFlag(args) }),
  },
  course: {
    about: 'the course on its own debian12 lab: start of each section from its checkpoint, course check per section, whole-runbook check mode',
    run: async () => (await import('./course.js')).benchCourse(),
  },
  class: {
    about:
      'classes of N debian12 container labs (--counts 1,5,10) at the start of section 1 and finished, beside one lab:up: time, CPU-s, memory and disk per lab',
    run: async (args) => (await import('./class.js')).benchClass({ counts: countsFlag(args), prefix: stringFlag(args, '--prefix'), basePort: portFlag(args) }),
  },
  snapshot: {
    about:
      'layered container snapshots on a finished debian12 lab: save and restore split into stop/disk/boot, du per snapshot, vs the old full copy (--lab FILE)',
    run: async (args) => (await import('./snapshot.js')).benchSnapshot(labFlag(args)),
  },
  verify: {
    about: 'the whole verify suite on a finished debian12 container lab (brought up first if needed)',
    run: async () => (await import('./verify.js')).benchVerify(),
  },
};

function countsFlag(args: string[]): number[] | undefined {
  const i = args.indexOf('--counts');
  if (i < 0) return undefined;
  const n = (args[i + 1] ?? '').split(',').map(Number);
  if (!n.length || n.some((x) => !Number.isInteger(x) || x < 1 || x > 20))
    throw new InputError(`--counts ${args[i + 1] ?? ''}: not a list of class sizes`, 'Example: npm run bench -- class --counts 1,5,10');
  return n;
}

function stringFlag(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

function portFlag(args: string[]): number | undefined {
  const v = stringFlag(args, '--base-port');
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1024 || n > 64535)
    throw new InputError(`--base-port ${v}: not a port from 1024 to 64535`, 'Example: npm run bench -- class --base-port 26000');
  return n;
}

function labFlag(args: string[]): string | undefined {
  const i = args.indexOf('--lab');
  return i < 0 ? undefined : args[i + 1];
}

function runsFlag(args: string[]): number | undefined {
  const i = args.indexOf('--runs');
  if (i < 0) return undefined;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1)
    throw new InputError(`--runs ${args[i + 1] ?? ''}: not a positive whole number`, 'Example: npm run bench -- lab-up --runs 3');
  return n;
}

export async function runBench(args: string[]): Promise<number> {
  const name = args.find((a) => !a.startsWith('-'));
  const bench = name ? benches[name] : undefined;
  if (!bench) {
    throw new InputError(
      name ? `no benchmark named ${name}` : 'name a benchmark',
      `Benchmarks: ${Object.entries(benches)
        .map(([k, v]) => `${k} (${v.about})`)
        .join('; ')}. Example: npm run bench -- ssh-steps`,
    );
  }
  const result = await bench.run(args);
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}
