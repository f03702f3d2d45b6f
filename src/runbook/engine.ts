/**
 * The engine: runs a plan on a host. Each step: check -> apply only if needed -> check again ("did not converge"
 * when it still differs). Changed steps notify handlers that run once at the end of their role. Finished steps go
 * to the journal, so a failed or interrupted run resumes where it stopped. Output goes to a log per step.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ConnectionLost, LabError, StepError } from '../errors.js';
import type { Emitter, StepInfo, StepStatus } from '../output/events.js';
import type { Host } from '../host.js';
import { describeSettled, forgetScript, jobNamer, jobPrefix, lastJob, runJobPrefix, type SettledJob, settleJobs } from './jobs.js';
import type { Journal } from './journal.js';
import { kinds, type CheckResult, type KindContext } from './kinds/index.js';
import { stepContext } from './kinds/types.js';
import type { Platform } from '../lab/lab-file.js';
import type { Plan, PlanStep, Selection } from './plan.js';
import { courseParts, earlierSectionsNotRun, selectSteps } from './plan.js';
import { fillSecrets, Redactor } from '../redact.js';
import { prefetchingHost, questionsOf } from './prefetch.js';

export interface RunOptions {
  host: Host;
  platform: Platform;
  sudo: boolean;
  journal: Journal;
  logsDir: string;
  artifactsDir: string;
  secrets: Record<string, string>;
  events: Emitter;
  selection?: Selection;
  fetchUrl?: KindContext['fetchUrl'];
  /** Attempts per step when the connection drops (default 3). */
  connectionRetries?: number;
  /** Aborted on Ctrl-C: the running step's remote commands are stopped and the run ends there, resumable. */
  signal?: AbortSignal;
  /**
   * Called before the first step of each course section the run reaches (course/sections.yaml: 1, 2, 3, 4.1, ...),
   * after the previous one's handlers ran: where lab:up takes its checkpoints. 'stop' ends the run there (a
   * partial run: `course start` builds a lab up to the start of a section).
   */
  onSection?(id: string): Promise<void | 'stop'>;
}

export interface Recap {
  ok: number;
  changed: number;
  skipped: number;
  failed: number;
  durationMs: number;
  failedStep?: string;
  error?: LabError;
  interrupted?: boolean;
}

const info = (s: PlanStep, handler = false): StepInfo => ({
  id: s.id,
  role: s.role,
  section: s.section,
  title: s.title,
  kind: s.kind,
  ...(handler ? { handler } : {}),
});

export async function runPlan(plan: Plan, o: RunOptions): Promise<Recap> {
  const t0 = Date.now();
  const redact = new Redactor();
  redact.add(...Object.values(o.secrets));
  mkdirSync(o.logsDir, { recursive: true, mode: 0o700 });
  const explicit = !!(o.selection?.from || o.selection?.until || o.selection?.only?.length || o.selection?.section !== undefined);
  const selected = selectSteps(plan, o.selection ?? {});
  if (o.selection?.section !== undefined) {
    const before = earlierSectionsNotRun(plan, selected, o.journal.finished());
    if (before.length) {
      o.events.emit({
        event: 'info',
        message:
          `section ${o.selection.section} builds on section${before.length > 1 ? 's' : ''} ${before.join(', ')}, ` +
          `which ${before.length > 1 ? 'have' : 'has'} not run on this lab yet: its steps may fail until ${before.length > 1 ? 'they have' : 'it has'} (npm run lab:up -- --section ${before[0]})`,
      });
    }
  }
  const resume = o.journal.resumeState();
  const skipDone = resume.resuming && !explicit;
  const runId = randomUUID();
  const recap: Recap = { ok: 0, changed: 0, skipped: 0, failed: 0, durationMs: 0 };
  const total = plan.roles.reduce((n, r) => n + r.steps.filter((s) => selected.has(s.id)).length, 0);
  o.journal.append({ type: 'run', runId, at: new Date().toISOString(), platform: plan.platform, steps: total });
  o.events.emit({ event: 'run', lab: plan.lab, platform: plan.platform, steps: total, resuming: skipDone, from: skipDone ? resume.failedStep : undefined });

  // The checks of steps finished before are asked in one round trip; their answers last until the first change.
  const host = prefetchingHost(o.host);
  const runCtx = { ...o, host };
  // Read-only questions already answered in this run, and how many changes the run had made then.
  let changes = 0;
  const answered = new Map<string, { stepId: string; changes: number }>();
  // Log names follow the plan's order (stable across runs); each run of a step starts its log afresh.
  const order = new Map(plan.roles.flatMap((r) => [...r.steps, ...r.handlers]).map((s, i) => [s.id, i + 1]));
  const runStep = async (step: PlanStep, handler: boolean): Promise<StepStatus> => {
    const logFile = join(o.logsDir, `${String(order.get(step.id) ?? 0).padStart(3, '0')}-${step.id}.log`);
    writeFileSync(
      logFile,
      redact.text(`# ${step.id}: ${step.title} (memo ${step.section}, ${step.kind}, ${step.at})\n# run ${runId} at ${new Date().toISOString()}\n`),
      { mode: 0o600 },
    );
    const log = (line: string) => appendFileSync(logFile, redact.text(line.endsWith('\n') ? line : line + '\n'), { mode: 0o600 });
    o.events.emit({ event: 'step-start', ...info(step, handler) });
    const started = Date.now();
    const kind = kinds[step.kind]!;
    const params = fillSecrets(step.params, o.secrets);
    // Commands that change the host run as jobs named by run and step (src/jobs.ts): after a dropped connection
    // or on Ctrl-C the engine finds the ones still running and waits for or stops them before checking again.
    const prefix = jobPrefix(runId, step.id);
    const ctx = (phase: KindContext['phase'], apply = false): KindContext =>
      stepContext(step, runCtx, phase, {
        log,
        onOutput: (chunk) => appendFileSync(logFile, redact.text(chunk), { mode: 0o600 }),
        ...(apply ? { job: jobNamer(`${prefix}${attemptNo}-`) } : {}),
      });
    const key = kind.sameAnswerKey?.(params);
    const earlier = key === undefined ? undefined : answered.get(key);
    if (earlier && earlier.changes === changes) {
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
        o.events.emit({ event: 'info', message: redact.text(`${step.id}: ${describeSettled(j)}`) });
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
          detail: status === 'ok' ? undefined : redact.text(shown.detail ?? ''),
          diff: shown.diff ? redact.text(shown.diff) : undefined,
          log: logFile,
        });
        log(`=> ${status}`);
        if (status === 'changed') changes += 1;
        else if (key !== undefined) answered.set(key, { stepId: step.id, changes });
        return status;
      } catch (e) {
        if (e instanceof ConnectionLost && attempt < attempts && o.host.reconnect && !o.signal?.aborted) {
          o.events.emit({ event: 'reconnect', host: o.host.name, attempt, message: redact.text(e.message) });
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
          detail: redact.text(err.message),
          hint: redact.text(err.hint),
          log: logFile,
        });
        throw err;
      }
    }
  };

  try {
    // Commands an earlier run left running on the host (its process was killed, or lost the host for good): wait
    // for them (their own remote timeout bounds it) or stop them, before anything else touches the host.
    const longest = Math.max(0, ...plan.roles.flatMap((r) => [...r.steps, ...r.handlers].map((s) => s.timeoutMs)));
    for (const j of await settleJobs(o.host, 'plab-', { waitMs: longest, sudo: o.sudo })) {
      o.events.emit({ event: 'info', message: redact.text(`an earlier run's ${describeSettled(j).replace(/^the step's /, '')}`) });
    }
    const planned = plan.roles.flatMap((r) => r.steps.filter((s) => selected.has(s.id) && !(skipDone && resume.done.has(s.id))));
    await host.prefetch(questionsOf(planned, o.journal.finished(), o), 60_000);
    for (const role of plan.roles) {
      const steps = role.steps.filter((s) => selected.has(s.id));
      const pending = resume.pending.get(role.role) ?? new Set<string>();
      if (!steps.length && !pending.size) continue;
      o.events.emit({ event: 'role', role: role.role, section: role.section, title: role.title, title_ja: role.title_ja });
      // A role's steps, then its handlers, then its readiness checks (kinds that run after handlers).
      const runSteps = async (list: PlanStep[]) => {
        for (const step of list) {
          if (o.signal?.aborted) throw interrupted(step.id);
          if (skipDone && resume.done.has(step.id)) {
            recap.skipped += 1;
            o.events.emit({ event: 'step', ...info(step), status: 'skipped', durationMs: 0, detail: 'done in the interrupted run (resuming)' });
            continue;
          }
          const status = await runStep(step, false);
          recap[status === 'changed' ? 'changed' : 'ok'] += 1;
          o.journal.append({ type: 'step', runId, id: step.id, status: status === 'changed' ? 'changed' : 'ok', at: new Date().toISOString() });
          if (status === 'changed') {
            for (const h of step.notify) {
              if (!pending.has(h)) o.journal.append({ type: 'notify', runId, handler: h, role: role.role });
              pending.add(h);
            }
          }
        }
      };
      const runHandlers = async () => {
        for (const h of role.handlers) {
          if (!pending.has(h.id)) continue;
          if (o.signal?.aborted) throw interrupted(h.id);
          const status = await runStep(h, true);
          recap[status === 'changed' ? 'changed' : 'ok'] += 1;
          o.journal.append({ type: 'handler', runId, id: h.id, role: role.role, at: new Date().toISOString() });
          pending.delete(h.id);
        }
      };
      // A course section ends in a working state: its handlers run before the next part of the role starts.
      const late = (s: PlanStep) => !!kinds[s.kind]?.afterHandlers;
      for (const part of courseParts(steps.filter((s) => !late(s)))) {
        // (A checkpoint's reboot needs no drop: it happens only before sections with no finished step, whose
        // checks were not asked ahead.)
        if (o.onSection && !o.signal?.aborted && (await o.onSection(part.id)) === 'stop') throw new StopHere();
        await runSteps(part.steps);
        await runHandlers();
      }
      await runSteps(steps.filter(late));
    }
    o.journal.append({ type: 'end', runId, result: explicit ? 'partial' : 'ok', at: new Date().toISOString() });
    if (recap.changed) await o.host.exec(forgetScript(runJobPrefix(runId)), { sudo: o.sudo, timeoutMs: 15_000 }).catch(() => undefined);
  } catch (e) {
    if (e instanceof StopHere) {
      o.journal.append({ type: 'end', runId, result: 'partial', at: new Date().toISOString() });
      recap.durationMs = Date.now() - t0;
      o.events.emit({ event: 'recap', ok: recap.ok, changed: recap.changed, skipped: recap.skipped, failed: 0, durationMs: recap.durationMs });
      return recap;
    }
    recap.failed += 1;
    recap.error = e instanceof LabError ? e : new LabError(String(e));
    recap.failedStep = e instanceof StepError ? e.stepId : undefined;
    recap.interrupted = o.signal?.aborted;
    o.journal.append({ type: 'end', runId, result: 'failed', failedStep: recap.failedStep, at: new Date().toISOString() });
  }
  recap.durationMs = Date.now() - t0;
  o.events.emit({ event: 'recap', ok: recap.ok, changed: recap.changed, skipped: recap.skipped, failed: recap.failed, durationMs: recap.durationMs });
  return recap;
}

/** The section hook asked the run to end at the start of a section. */
class StopHere extends Error {}

/** Ctrl-C: the step did not finish (its remote commands were stopped); the journal says so; the next run resumes here. */
function interrupted(stepId: string): StepError {
  return new StepError(
    stepId,
    `interrupted (Ctrl-C) at step ${stepId}: its remote commands were stopped`,
    `Nothing after ${stepId} ran. \`npm run lab:up\` resumes at this step.`,
  );
}
