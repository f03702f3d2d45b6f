/**
 * The engine: runs a plan on a host. Each step: check -> apply only if needed -> check again ("did not converge"
 * when it still differs). Changed steps notify handlers that run once at the end of their role. Finished steps go
 * to the journal, so a failed or interrupted run resumes where it stopped. Output goes to a log per step.
 */
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { LabError, StepError } from '../errors.js';
import type { Emitter } from '../output/events.js';
import type { Host } from '../host.js';
import { describeSettled, forgetScript, runJobPrefix, settleJobs } from './jobs.js';
import type { Journal } from './journal.js';
import { kinds, type KindContext } from './kinds/index.js';
import type { Platform } from '../lab/lab-file.js';
import type { Plan, PlanStep, Selection } from './plan.js';
import { courseParts, earlierSectionsNotRun, selectSteps } from './plan.js';
import { Redactor } from '../redact.js';
import { prefetchingHost, questionsOf } from './prefetch.js';
import { info, interrupted, runStep, type StepRun } from './step-run.js';

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
  const run: StepRun = {
    o,
    ctx: { ...o, host },
    redact,
    runId,
    order: new Map(plan.roles.flatMap((r) => [...r.steps, ...r.handlers]).map((s, i) => [s.id, i + 1])),
    changes: 0,
    answered: new Map(),
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
          host.nextStep();
          const status = await runStep(run, step, false);
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
          host.nextStep();
          const status = await runStep(run, h, true);
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
