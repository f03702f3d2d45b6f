/**
 * npm run bench -- course: on a finished debian12 container lab of its own (built first, with its checkpoints),
 * the time to the start of each course section from its checkpoint, `course check` per section, and check mode on
 * the whole runbook. Side by side: the floor of a reset (halt + boot of the same lab, which a restore includes)
 * and of a section's check (verify of that section alone, on the same connection). Last line JSON.
 * `course check` is timed twice per section: at its start (the learner's first check, failing) and once solved.
 * Targets on this machine: start <= 2 s, check of one section <= 3 s, whole-runbook check mode <= 5 s.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { courseCheck } from '../src/course/check.js';
import { courseSolve, courseStart } from '../src/course/ops.js';
import { courseSections } from '../src/course/sections.js';
import { labCheck } from '../src/lab/check.js';
import { labLifecycle, labUp } from '../src/lab/ops.js';
import { labOnDisk } from '../src/lab/session.js';
import { Emitter } from '../src/output/events.js';
import { verifyLab } from '../src/verify/index.js';
import { writeContainerLab } from '../test/helpers/container-lab.js';

const secs = (t0: number) => Number(((performance.now() - t0) / 1000).toFixed(2));

export async function benchCourse(): Promise<Record<string, number>> {
  const home = mkdtempSync(join(tmpdir(), 'plab-bench-course-'));
  process.env.POSTFIX_LAB_HOME = home;
  const labFile = join(home, 'lab.yaml');
  writeContainerLab(labFile, { name: 'bench-course', ports: [31725, 31787, 31765, 32225], sections: 'all' });
  const o = () => ({ labFile, events: new Emitter() });
  try {
    let t0 = performance.now();
    const recap = await labUp(o());
    if (recap.failed) throw new Error(`lab:up failed at ${recap.failedStep}: nothing to time`);
    const build = secs(t0);
    // The floor of a reset: the lab stopped and booted again (a restore does that, plus its disk work).
    t0 = performance.now();
    await labLifecycle('halt', o());
    const { driver, ctx } = await labOnDisk(o());
    await driver.up(ctx);
    const boot = secs(t0);
    const out: Record<string, number> = { lab_up_s: build, halt_boot_s: boot };
    const starts: number[] = [];
    const checks: number[] = [];
    const solvedChecks: number[] = [];
    const verifies: number[] = [];
    let slowest: { start: number; phases: string } = { start: 0, phases: '' };
    for (const { id } of courseSections()) {
      // the start's phases, from the driver's progress lines (each line marks the end of the phase before it)
      const marks: [number, string][] = [];
      const events = new Emitter().on((e) => {
        if (e.event === 'info') marks.push([performance.now(), e.message.split(/[:(]/)[0]!.replace(/ (at|of) .*/, '')]);
      });
      t0 = performance.now();
      await courseStart({ labFile, events, section: id });
      const start = secs(t0);
      marks.unshift([t0, 'until the first line']);
      marks.push([performance.now(), 'done']);
      const phases = marks.slice(0, -1).map(([t, m], k) => `${m} ${((marks[k + 1]![0] - t) / 1000).toFixed(2)} s`);
      if (start > slowest.start) slowest = { start, phases: phases.join(', ') };
      t0 = performance.now();
      await courseCheck({ ...o(), section: id });
      const check = secs(t0);
      t0 = performance.now();
      await verifyLab({ labFile, section: id });
      const alone = secs(t0);
      // and once the section is done (by solve): its own slow probes pass now (postscreen's pause, a wrong password)
      await courseSolve({ ...o(), section: id });
      t0 = performance.now();
      const solvedReport = await courseCheck({ ...o(), section: id });
      const solved = secs(t0);
      const slowProbe = solvedReport.results.reduce((a, r) => (r.durationMs > a.durationMs ? r : a));
      starts.push(start);
      checks.push(check);
      solvedChecks.push(solved);
      verifies.push(alone);
      out[`start_${id}_s`] = start;
      out[`check_${id}_s`] = check;
      out[`check_solved_${id}_s`] = solved;
      process.stdout.write(
        `section ${id}: start ${start} s, course check ${check} s (verify of the section alone ${alone} s); ` +
          `solved, course check ${solved} s (its slowest probe ${slowProbe.id} ${(slowProbe.durationMs / 1000).toFixed(2)} s)\n`,
      );
    }
    // Check mode on the whole runbook, on the finished lab (the last section solved by lab:up).
    await labUp(o());
    t0 = performance.now();
    const whole = await labCheck(o());
    out.check_mode_s = secs(t0);
    out.check_mode_steps = whole.ok + whole.differs;
    out.start_max_s = Math.max(...starts);
    out.check_max_s = Math.max(...checks);
    out.check_solved_max_s = Math.max(...solvedChecks);
    out.start_vs_boot = Number((out.start_max_s / boot).toFixed(2));
    out.check_vs_verify_alone = Number((checks.reduce((a, b) => a + b) / verifies.reduce((a, b) => a + b)).toFixed(2));
    process.stdout.write(`the slowest start (${slowest.start} s), each progress line with the time until the next: ${slowest.phases}\n`);
    process.stdout.write(
      `start of a section: max ${out.start_max_s} s (target <= 2; halt + boot ${boot} s); course check: max ${out.check_max_s} s at a section's start, ` +
        `${out.check_solved_max_s} s once solved (target <= 3; 4.4's floor is postscreen's greeting pause); ` +
        `check mode, whole runbook: ${out.check_mode_s} s for ${out.check_mode_steps} steps (target <= 5)\n`,
    );
    return out;
  } finally {
    await labLifecycle('down', o()).catch(() => undefined);
    delete process.env.POSTFIX_LAB_HOME;
  }
}
