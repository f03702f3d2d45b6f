/**
 * npm run bench -- class [--counts 1,5,10] [--prefix NAME] [--base-port N]: classes of N debian12 container labs from a warm package cache, made
 * with class:up at the start of section 1 and finished (`--section done`), beside one plain lab:up of a single lab
 * to the same point (the floor: what a trainer would otherwise run once per learner). Per N: time until every lab
 * is ready, CPU seconds (the labs' own cgroups plus this process), memory per lab once idle (cgroup
 * memory.current, or the processes' PSS where the memory controller is off) and disk per clone (its own files; du
 * counts the base's shared hard links once). Last line JSON.
 * Targets (2 cores): 10 labs at the start of section 1 in <= 2x one lab's build; 10 finished labs within 4 GiB.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { classDown } from '../src/class/ops.js';
import { baseLab } from '../src/class/plan.js';
import { classUp } from '../src/class/up.js';
import { netnsName } from '../src/drivers/container/network.js';
import { cgroupPids, labCgroups } from '../src/drivers/container/nspawn.js';
import { labLifecycle, labUp } from '../src/lab/ops.js';
import { labState } from '../src/lab/state.js';
import { Emitter } from '../src/output/events.js';
import { writeContainerLab } from '../test/helpers/container-lab.js';

const secs = (t0: number) => Number(((performance.now() - t0) / 1000).toFixed(1));
const MiB = (b: number) => Number((b / 2 ** 20).toFixed(1));
const quiet = () =>
  new Writable({
    write(_c, _e, done) {
      done();
    },
  });

const read = (f: string) => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return undefined;
  }
};

/** A lab's memory: its cgroup's memory.current, or the sum of its processes' PSS (shared pages split). */
export function labMemory(lab: string): { bytes: number; how: 'cgroup' | 'pss' } {
  for (const cg of labCgroups(netnsName(lab))) {
    const m = read(join(cg, 'memory.current'));
    if (m) return { bytes: Number(m), how: 'cgroup' };
  }
  let kb = 0;
  for (const pid of cgroupPids(netnsName(lab))) {
    const m = /^Pss:\s+(\d+) kB/m.exec(read(`/proc/${pid}/smaps_rollup`) ?? '');
    if (m) kb += Number(m[1]);
  }
  return { bytes: kb * 1024, how: 'pss' };
}

/** CPU seconds the lab's processes used (cgroup2 cpu.stat). */
function labCpu(lab: string): number {
  for (const cg of labCgroups(netnsName(lab))) {
    const m = /^usage_usec (\d+)/m.exec(read(join(cg, 'cpu.stat')) ?? '');
    if (m) return Number(m[1]) / 1e6;
  }
  return 0;
}

/** Bytes on disk of each folder, in one du run: a file hard-linked into several counts for the first only. */
function diskOf(dirs: string[]): number[] {
  const present = dirs.filter((d) => existsSync(d));
  const out = execFileSync('du', ['-sx', '--block-size=1', ...present], { encoding: 'utf8' });
  const sizes = new Map(
    out
      .trim()
      .split('\n')
      .map((l) => [l.split('\t')[1]!, Number(l.split('\t')[0])]),
  );
  return dirs.map((d) => sizes.get(d) ?? 0);
}

const idle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Memory in use, in bytes: MemTotal - MemAvailable (what the kernel could not hand back: its own share, page tables,
 * slabs and the page cache it cannot drop, included).
 */
function memUsed(): number {
  const info = read('/proc/meminfo') ?? '';
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(info)?.[1] ?? Number.NaN);
  return (kb('MemTotal') - kb('MemAvailable')) * 1024;
}

export interface BenchClassOptions {
  counts?: number[];
  /** Names: the single lab is `<prefix>-one`, the classes `<prefix><N>s` and `<prefix><N>d` (default: bench-one, bc...). */
  prefix?: string;
  /** Host ports: learner i of a class from basePort + (i - 1) x 10, the single lab at basePort + 900 (default 37000; the lab 36025...). */
  basePort?: number;
}

export async function benchClass(opts: BenchClassOptions = {}): Promise<Record<string, number>> {
  const counts = opts.counts ?? [1, 5, 10];
  const home = mkdtempSync(join(tmpdir(), 'plab-bench-class-'));
  process.env.POSTFIX_LAB_HOME = home;
  const labFile = join(home, 'lab.yaml');
  const bp = opts.basePort;
  const one: [number, number, number, number] = bp ? [bp + 900, bp + 901, bp + 902, bp + 903] : [36025, 36087, 36065, 36026];
  writeContainerLab(labFile, { name: opts.prefix ? `${opts.prefix}-one` : 'bench-one', ports: one, sections: 'all' });
  const o = () => ({ labFile, events: new Emitter() });
  const out: Record<string, number> = {};
  try {
    // The floor: one lab built by lab:up, to the start of section 1 (with the checkpoint that stops it there) and
    // to the end (without checkpoints: what a trainer runs once per learner today).
    let t0 = performance.now();
    await labUp({ ...o(), stopAt: '1' });
    out.one_lab_start1_s = secs(t0);
    await labLifecycle('down', o());
    t0 = performance.now();
    const r = await labUp({ ...o(), noCheckpoints: true });
    if (r.failed) throw new Error(`lab:up failed at ${r.failedStep}: nothing to compare with`);
    out.one_lab_done_s = secs(t0);
    await labLifecycle('down', o());

    for (const n of counts) {
      for (const section of ['1', 'done'] as const) {
        const cls = `${opts.prefix ?? 'bc'}${n}${section === 'done' ? 'd' : 's'}`;
        const cpu0 = process.cpuUsage();
        const used0 = memUsed();
        t0 = performance.now();
        const made = await classUp({ cls, learners: n, labFile, section, basePort: bp ?? 37000, out: quiet() });
        const wall = secs(t0);
        const tag = `n${n}_${section === 'done' ? 'done' : 'start1'}`;
        out[`${tag}_s`] = wall;
        out[`${tag}_failed`] = made.failed.length;
        const labs = made.roster.learners.map((l) => l.lab);
        await idle(20_000); // let boot-time work finish: memory of labs at rest
        const mem = labs.map(labMemory);
        // the whole machine's view, the kernel and the page cache it cannot drop included (other work counts too)
        out[`${tag}_machine_mem_mib`] = MiB(memUsed() - used0);
        const own = process.cpuUsage(cpu0);
        out[`${tag}_cpu_s`] = Number(((own.user + own.system) / 1e6 + labs.reduce((a, l) => a + labCpu(l), 0)).toFixed(1));
        out[`${tag}_mem_per_lab_mib`] = MiB(mem.reduce((a, m) => a + m.bytes, 0) / Math.max(1, labs.length));
        out[`${tag}_mem_total_mib`] = MiB(mem.reduce((a, m) => a + m.bytes, 0));
        const [base, ...clones] = diskOf([labState(baseLab(cls)).dir, ...labs.map((l) => labState(l).dir)]);
        out[`${tag}_disk_base_mib`] = MiB(base ?? 0);
        out[`${tag}_disk_per_clone_mib`] = MiB(clones.reduce((a, b) => a + b, 0) / Math.max(1, clones.length));
        process.stdout.write(
          `${n} lab(s) at ${section === 'done' ? 'the end' : 'the start of section 1'}: ${wall} s (${made.failed.length} failed), ` +
            `${out[`${tag}_cpu_s`]} CPU-s, memory ${out[`${tag}_mem_per_lab_mib`]} MiB per lab (${mem[0]?.how ?? '-'}), ` +
            `disk ${out[`${tag}_disk_per_clone_mib`]} MiB per clone beside a base of ${out[`${tag}_disk_base_mib`]} MiB; ` +
            `the machine's memory in use grew by ${out[`${tag}_machine_mem_mib`]} MiB\n`,
        );
        await classDown(cls, quiet());
      }
    }
    const top = Math.max(...counts);
    if (out[`n${top}_start1_s`] !== undefined) {
      out[`n${top}_start1_vs_one_lab`] = Number((out[`n${top}_start1_s`]! / out.one_lab_start1_s).toFixed(2));
      out[`n${top}_start1_vs_one_full_lab`] = Number((out[`n${top}_start1_s`]! / out.one_lab_done_s).toFixed(2));
    }
    if (out[`n${top}_done_s`] !== undefined) out[`n${top}_done_vs_one_lab`] = Number((out[`n${top}_done_s`]! / out.one_lab_done_s).toFixed(2));
    process.stdout.write(
      `${top} labs at the start of section 1: ${out[`n${top}_start1_vs_one_lab`]}x one lab's build to there, ` +
        `${out[`n${top}_start1_vs_one_full_lab`]}x one whole lab:up (target <= 2); ` +
        `${top} finished labs: ${out[`n${top}_done_mem_total_mib`]} MiB in all, the machine's memory in use up by ${out[`n${top}_done_machine_mem_mib`]} MiB (target <= 4096)\n`,
    );
    return out;
  } finally {
    await labLifecycle('down', o()).catch(() => undefined);
    delete process.env.POSTFIX_LAB_HOME;
  }
}
