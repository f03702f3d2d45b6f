/**
 * npm run bench -- lab-up [--runs N]: a whole debian12 `lab:up` on a fresh container lab (warm package cache), and
 * its floor measured in the same run on another fresh lab.
 * - lab_up_s: labUp() of a new lab, host creation included; per step and per kind: wall time, the time its remote
 *   commands took on the lab host, their transport (SSH channel, sudo, timeout, bash start) and the engine's own time.
 * - floor_s: a fresh lab booted, the runbook's packages installed with one apt-get call (after the index update a
 *   fresh lab needs), plus the remote commands' own time outside package steps in the lab_up run.
 * - non_package_s: lab_up_s minus the package steps' wall time; noop_rerun_s: a second lab:up that changes nothing.
 * - ratio: lab_up_s / floor_s. Medians over the runs; each run is printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { containerDriver as driver } from '../src/drivers/container/index.js';
import { ensureBaseImage, resolveMirror } from '../src/drivers/container/image.js';
import { ensurePrerequisites } from '../src/drivers/container/prereqs.js';
import { Emitter } from '../src/output/events.js';
import { loadLab } from '../src/lab/lab-file.js';
import { labLifecycle, labUp, planLab } from '../src/lab/ops.js';
import { connectSsh } from '../src/ssh/executor.js';
import { labState } from '../src/lab/state.js';
import { type OpRecord, rowsOf, type StepEnd, type StepRow, sum, TimingHost } from './timing-host.js';

const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold';
const s = (ms: number) => Math.round(ms / 10) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

interface RunResult {
  lab_up_s: number;
  floor_s: number;
  non_package_s: number;
  noop_rerun_s: number;
  noop_execs: number;
  apt_s: number;
  floor_boot_s: number;
  remote_non_package_s: number;
  package_s: number;
  /** The course's checkpoints lab:up takes at each section's start (a stop, the layer, a boot each). */
  checkpoints_s: number;
  checkpoints: number;
  rows: StepRow[];
}

function writeLab(root: string, name: string): string {
  const file = join(root, `${name}.lab.yml`);
  writeFileSync(
    file,
    `name: ${name}\ndriver: container\nplatform: debian12\nports: []\nsections: all\n` +
      `params:\n  hostname: mail.lab.example\n  hostname_deux: deux.lab.example\n  mail_user: learner\n  artifacts: ${resolve('artifacts')}\n`,
  );
  return file;
}

/** lab:up with every host operation timed and counted against the step that ran it. */
async function timedUp(labFile: string): Promise<{ ms: number; rows: StepRow[]; ops: OpRecord[]; checkpointMs: number; checkpoints: number }> {
  // Each step run gets its own bucket ("id#n"): a handler that runs five times would otherwise have the sum of all
  // five runs in each of its rows.
  const steps: { end: StepEnd; bucket: string }[] = [];
  let bucket = 'boot';
  let seq = 0;
  let checkpointMs = 0;
  let checkpoints = 0;
  const emitter = new Emitter().on((e) => {
    if (e.event === 'step') steps.push({ end: e, bucket });
    const cp = e.event === 'info' ? /^checkpoint \S+ taken \(([\d.]+)s\)/.exec(e.message) : null;
    if (cp) {
      checkpointMs += Number(cp[1]) * 1000;
      checkpoints++;
    }
    if (e.event === 'step-start') bucket = `${e.id}#${seq++}`;
  });
  // lab:up connects again after every checkpoint: every connection's records go to the one list
  const ops: OpRecord[] = [];
  const t0 = performance.now();
  const recap = await labUp({
    labFile,
    events: emitter,
    connect: async (t, st) => new TimingHost(await connectSsh(t, { knownHostsFile: st.knownHostsFile }), ops, () => bucket),
  });
  const ms = performance.now() - t0;
  if (recap.failed) throw new Error(`lab:up failed at ${recap.failedStep}: ${recap.error?.message}`);
  return { ms, rows: rowsOf(steps, ops), ops, checkpointMs, checkpoints };
}

/** The floor's package part: a fresh lab, one apt-get install of every package the runbook installs. */
async function floorPackages(root: string, name: string, packages: string[], log: (m: string) => void): Promise<{ bootMs: number; aptMs: number }> {
  const lab = loadLab(writeLab(root, name));
  const ctx = { lab, state: labState(lab.name, root), progress: () => undefined };
  try {
    let t0 = performance.now();
    const up = await driver.up(ctx);
    const host = await connectSsh(up.targets[0]!, { knownHostsFile: join(root, `${name}.pins.json`) });
    await host.exec('systemctl is-system-running --wait', { timeoutMs: 300_000 });
    const bootMs = performance.now() - t0;
    try {
      t0 = performance.now();
      const r = await host.exec(`${APT} update && ${APT} install --no-install-recommends ${packages.join(' ')}`, { sudo: true, timeoutMs: 1_800_000 });
      if (r.code !== 0) throw new Error(`floor apt-get failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join('\n')}`);
      const aptMs = performance.now() - t0;
      log(`lab-up: floor: boot ${s(bootMs)} s, one apt-get for ${packages.length} packages ${s(aptMs)} s`);
      return { bootMs, aptMs };
    } finally {
      await host.close();
    }
  } finally {
    await driver.down(ctx).catch(() => undefined);
  }
}

function printRows(rows: StepRow[]): void {
  const line = (c: (string | number)[]) => c.map((x, i) => (i < 3 ? String(x).padEnd(i === 0 ? 34 : 9) : String(x).padStart(8))).join(' ');
  const fmt = (ms: number) => (ms / 1000).toFixed(2);
  console.log(line(['step', 'kind', 'status', 'wall s', 'execs', 'remote s', 'transp s', 'engine s']));
  for (const r of rows)
    console.log(line([r.id, r.kind, r.status, fmt(r.wallMs), r.execs, fmt(r.remoteMs), fmt(r.execMs - r.remoteMs), fmt(r.wallMs - r.execMs)]));
  const kinds = [...new Set(rows.map((r) => r.kind))];
  console.log('\n' + line(['kind', 'steps', '', 'wall s', 'execs', 'remote s', 'transp s', 'engine s']));
  for (const k of kinds) {
    const rs = rows.filter((r) => r.kind === k);
    const t = (f: (r: StepRow) => number) => sum(rs.map(f));
    console.log(
      line([
        k,
        rs.length,
        '',
        fmt(t((r) => r.wallMs)),
        t((r) => r.execs),
        fmt(t((r) => r.remoteMs)),
        fmt(t((r) => r.execMs - r.remoteMs)),
        fmt(t((r) => r.wallMs - r.execMs)),
      ]),
    );
  }
}

async function oneRun(root: string, i: number, tag: string, log: (m: string) => void): Promise<RunResult> {
  const name = `bench${tag}-up${i}`;
  const labFile = writeLab(root, name);
  const plan = planLab(loadLab(labFile));
  const packages = [
    ...new Set(
      plan.roles
        .flatMap((r) => r.steps)
        .filter((st) => st.kind === 'package' && (st.params.state ?? 'present') === 'present')
        .flatMap((st) => st.params.names as string[]),
    ),
  ];
  const floor = await floorPackages(root, `bench${tag}-floor${i}`, packages, log);
  try {
    const up = await timedUp(labFile);
    const rerun = await timedUp(labFile);
    if (rerun.rows.some((r) => r.status === 'changed'))
      log(
        `lab-up: the second run changed: ${rerun.rows
          .filter((r) => r.status === 'changed')
          .map((r) => r.id)
          .join(', ')}`,
      );
    printRows(up.rows);
    const slow = [...rerun.rows].sort((a, b) => b.wallMs - a.wallMs).slice(0, 8);
    console.log(`\nno-op rerun, slowest steps (s): ${slow.map((r) => `${r.id} ${(r.wallMs / 1000).toFixed(2)}`).join(', ')}`);
    const pkgRows = up.rows.filter((r) => r.kind === 'package');
    const pkgBuckets = new Set(pkgRows.map((r) => r.bucket));
    const remoteNonPkg = sum(up.ops.filter((o) => !pkgBuckets.has(o.bucket)).map((o) => o.remoteMs ?? 0));
    const floorMs = floor.bootMs + floor.aptMs + remoteNonPkg;
    const packageMs = sum(pkgRows.map((r) => r.wallMs));
    const r: RunResult = {
      lab_up_s: s(up.ms),
      floor_s: s(floorMs),
      non_package_s: s(up.ms - packageMs),
      noop_rerun_s: s(rerun.ms),
      noop_execs: rerun.ops.length,
      apt_s: s(floor.aptMs),
      floor_boot_s: s(floor.bootMs),
      remote_non_package_s: s(remoteNonPkg),
      package_s: s(packageMs),
      checkpoints_s: s(up.checkpointMs),
      checkpoints: up.checkpoints,
      rows: up.rows,
    };
    log(
      `lab-up: run ${i + 1}: lab_up ${r.lab_up_s} s (packages ${r.package_s} s, the rest ${r.non_package_s} s), floor ${r.floor_s} s ` +
        `(boot ${r.floor_boot_s} + apt ${r.apt_s} + remote ${r.remote_non_package_s}), ratio ${(r.lab_up_s / r.floor_s).toFixed(2)}; ` +
        `of it ${r.checkpoints} checkpoints ${r.checkpoints_s} s (without them: ratio ${((r.lab_up_s - r.checkpoints_s) / r.floor_s).toFixed(2)}), ` +
        `no-op rerun ${r.noop_rerun_s} s in ${r.noop_execs} host operations; load average ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}`,
    );
    return r;
  } finally {
    await labLifecycle('down', { labFile, events: new Emitter() }).catch(() => undefined);
  }
}

export async function benchLabUp(opts: { runs?: number; log?: (m: string) => void } = {}): Promise<Record<string, number>> {
  const runs = opts.runs ?? 1;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const root = mkdtempSync(join(tmpdir(), 'postfix-lab-bench-up-'));
  const home = process.env.POSTFIX_LAB_HOME;
  process.env.POSTFIX_LAB_HOME = root;
  const tag = process.pid.toString(36);
  try {
    await ensurePrerequisites(log);
    await ensureBaseImage({ mirror: resolveMirror(loadLab(writeLab(root, 'probe'))), progress: log });
    const results: RunResult[] = [];
    for (let i = 0; i < runs; i++) results.push(await oneRun(root, i, tag, log));
    const m = (k: keyof RunResult) => median(results.map((r) => r[k] as number));
    const ratio = median(results.map((r) => r.lab_up_s / r.floor_s));
    return {
      lab_up_s: m('lab_up_s'),
      floor_s: m('floor_s'),
      non_package_s: m('non_package_s'),
      noop_rerun_s: m('noop_rerun_s'),
      ratio: Math.round(ratio * 100) / 100,
      package_s: m('package_s'),
      apt_s: m('apt_s'),
      remote_non_package_s: m('remote_non_package_s'),
      noop_execs: m('noop_execs'),
      checkpoints_s: m('checkpoints_s'),
      ratio_without_checkpoints: Math.round(median(results.map((r) => (r.lab_up_s - r.checkpoints_s) / r.floor_s)) * 100) / 100,
      runs,
      load1: Math.round(loadavg()[0]! * 10) / 10,
    };
  } finally {
    if (home === undefined) delete process.env.POSTFIX_LAB_HOME;
    else process.env.POSTFIX_LAB_HOME = home;
    rmSync(root, { recursive: true, force: true });
  }
}
