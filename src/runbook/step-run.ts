/**
 * One step's run: check -> apply only if needed -> check again ("did not converge" when it still differs), with
 * its log, its events, and the retries after a dropped connection (the step's jobs on the host are waited for or
 * stopped first, src/runbook/jobs.ts). The engine (engine.ts) runs these in the plan's order.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConnectionLost, LabError, StepError } from '../errors.js';
import type { StepInfo, StepStatus } from '../output/events.js';
import { describeSettled, jobNamer, jobPrefix, lastJob, type SettledJob, settleJobs } from './jobs.js';
import { kinds, type CheckResult, type KindContext } from './kinds/index.js';
import { stepContext } from './kinds/types.js';
import type { PlanStep } from './plan.js';
import { fillSecrets, type Redactor } from '../redact.js';
import type { RunOptions } from './engine.js';

/** What the steps of one run share. */
export interface StepRun {
  o: RunOptions;
  /** The options with the prefetching host, for the kinds' contexts. */
  ctx: RunOptions;
  redact: Redactor;
  runId: string;
  /** Log names follow the plan's order (stable across runs); each run of a step starts its log afresh. */
  order: Map<string, number>;
  /** How many changes the run has made so far. */
  changes: number;
  /** Read-only questions already answered in this run, and how many changes the run had made then. */
  answered: Map<string, { stepId: string; changes: number }>;
}

export const info = (s: PlanStep, handler = false): StepInfo => ({
  id: s.id,
  role: s.role,
  section: s.section,
  title: s.title,
  kind: s.kind,
  ...(handler ? { handler } : {}),
});

export async function runStep(run: StepRun, step: PlanStep, handler: boolean): Promise<StepStatus> {
  const { o } = run;
  const logFile = join(o.logsDir, `${String(run.order.get(step.id) ?? 0).padStart(3, '0')}-${step.id}.log`);
  writeFileSync(
    logFile,
    run.redact.text(`# ${step.id}: ${step.title} (memo ${step.section}, ${step.kind}, ${step.at})\n# run ${run.runId} at ${new Date().toISOString()}\n`),
    { mode: 0o600 },
  );
  const log = (line: string) => appendFileSync(logFile, run.redact.text(line.endsWith('\n') ? line : line + '\n'), { mode: 0o600 });
  o.events.emit({ event: 'step-start', ...info(step, handler) });
  const started = Date.now();
  const kind = kinds[step.kind]!;
  const params = fillSecrets(step.params, o.secrets);
  // Commands that change the host run as jobs named by run and step (src/jobs.ts): after a dropped connection
  // or on Ctrl-C the engine finds the ones still running and waits for or stops them before checking again.
  const prefix = jobPrefix(run.runId, step.id);
  const ctx = (phase: KindContext['phase'], apply = false): KindContext =>
    stepContext(step, run.ctx, phase, {
      log,
      onOutput: (chunk) => appendFileSync(logFile, run.redact.text(chunk), { mode: 0o600 }),
      ...(apply ? { job: jobNamer(`${prefix}${attemptNo}-`) } : {}),
    });
  const key = kind.sameAnswerKey?.(params);
  const earlier = key === undefined ? undefined : run.answered.get(key);
  if (earlier && earlier.changes === run.changes) {
    const detail = `same check as ${earlier.stepId}, which passed in this run; nothing changed since`;
    log(`check: ${detail}\n=> ok`);
    o.events.emit({ event: 'step', ...info(step, handler), status: 'ok', durationMs: Date.now() - started, detail, log: logFile });
    return 'ok';
  }
  const settle = async (waitMs: number): Promise<SettledJob[]> => {
    const jobs = await settleJobs(o.host, prefix, { waitMs, sudo: o.sudo });
    for (const j of jobs) {
      if (j.outputTail) log(`output of ${j.job} on the host after the drop (last 2000 bytes):\n${j.outputTail}`);
      log(describeSettled(j));
      o.events.emit({ event: 'info', message: run.redact.text(`${step.id}: ${describeSettled(j)}`) });
    }
    return jobs;
  };
  const stopOnAbort = () => {
    settle(0).catch(() => undefined);
  };
  o.signal?.addEventListener('abort', stopOnAbort, { once: true });
  const attempts = o.connectionRetries ?? 3;
  let attemptNo = 1;
  // The first check's finding, once an apply has started: a step whose apply finished on the host while the
  // connection was down checks ok afterwards, but it did change the host (and must notify its handlers).
  let applied: CheckResult | undefined;
  let inApply = false;
  for (let attempt = 1; ; attempt++) {
    attemptNo = attempt;
    try {
      // After a drop: wait for (or stop) what is still running. When the drop came during the apply and its
      // last command then finished on the host with exit 0, the apply is done: check as after an apply (a
      // handler that runs "always" must not run twice).
      let phase: KindContext['phase'] = 'check';
      if (attempt > 1) {
        const last = lastJob(await settle(step.timeoutMs));
        if (inApply && last?.outcome === 'finished' && last.exitCode === 0) phase = 'recheck';
      }
      inApply = false;
      const first: CheckResult = await kind.check(params, ctx(phase));
      if (phase === 'recheck' && !first.ok) log(`check: ${first.detail ?? 'differs'} (the apply from before the drop did not finish it)`);
      const before: CheckResult = phase === 'recheck' && !first.ok ? await kind.check(params, ctx('check')) : first;
      let status: StepStatus = applied ? 'changed' : 'ok';
      if (applied && before.ok) log('check: ok now (the apply from before the drop finished on the host)');
      if (!before.ok) {
        log(`check: ${before.detail ?? 'needs a change'}`);
        if (before.diff) log(before.diff);
        if (o.signal?.aborted) throw interrupted(step.id);
        applied ??= before;
        inApply = true;
        await kind.apply(params, ctx('check', true), before);
        inApply = false;
        const after = await kind.check(params, ctx('recheck'));
        if (!after.ok) {
          throw new StepError(
            step.id,
            `did not converge: after applying, the check still says: ${after.detail ?? 'differs'}`,
            `The step ran but the host is still not in the state it describes. See ${logFile}.`,
          );
        }
        status = 'changed';
      }
      const shown = applied ?? before;
      o.signal?.removeEventListener('abort', stopOnAbort);
      o.events.emit({
        event: 'step',
        ...info(step, handler),
        status,
        durationMs: Date.now() - started,
        detail: status === 'ok' ? undefined : run.redact.text(shown.detail ?? ''),
        diff: shown.diff ? run.redact.text(shown.diff) : undefined,
        log: logFile,
      });
      log(`=> ${status}`);
      if (status === 'changed') run.changes += 1;
      else if (key !== undefined) run.answered.set(key, { stepId: step.id, changes: run.changes });
      return status;
    } catch (e) {
      if (e instanceof ConnectionLost && attempt < attempts && o.host.reconnect && !o.signal?.aborted) {
        o.events.emit({ event: 'reconnect', host: o.host.name, attempt, message: run.redact.text(e.message) });
        log(`connection lost (${e.message}); reconnecting and running the step again from its check`);
        try {
          await o.host.reconnect();
        } catch {
          /* the next attempt reports it */
        }
        continue;
      }
      o.signal?.removeEventListener('abort', stopOnAbort);
      if (o.signal?.aborted) await settle(0).catch(() => undefined); // a job that started as the abort came
      const err = o.signal?.aborted
        ? interrupted(step.id)
        : e instanceof LabError
          ? e
          : new StepError(step.id, `internal error: ${(e as Error).message}`, 'This is a bug in postfix-lab; run with --debug and report it.', { cause: e });
      log(`=> failed: ${err.message}\n${err.hint}`);
      o.events.emit({
        event: 'step',
        ...info(step, handler),
        status: 'failed',
        durationMs: Date.now() - started,
        detail: run.redact.text(err.message),
        hint: run.redact.text(err.hint),
        log: logFile,
      });
      throw err;
    }
  }
}

/** Ctrl-C: the step did not finish (its remote commands were stopped); the journal says so; the next run resumes here. */
export function interrupted(stepId: string): StepError {
  return new StepError(
    stepId,
    `interrupted (Ctrl-C) at step ${stepId}: its remote commands were stopped`,
    `Nothing after ${stepId} ran. \`npm run lab:up\` resumes at this step.`,
  );
}
