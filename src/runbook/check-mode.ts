/**
 * Check mode (`lab:up --check`): every selected step's check and nothing else: no apply, no handler, no job, no
 * journal entry. Each step reports ok or "differs" with what its apply would change (the same file diffs,
 * postconf deltas, master.cf entries, packages and service states lab:up shows). A check that fails outright (a
 * read-only `postfix check` that exits 1) differs too: that is what the learner has to fix. The course's feedback
 * is built on this.
 */
import { ConnectionLost, LabError } from '../errors.js';
import type { Emitter, StepInfo } from '../output/events.js';
import type { Host } from '../host.js';
import { kinds, type CheckResult } from './kinds/index.js';
import { stepContext } from './kinds/types.js';
import type { Platform } from '../lab/lab-file.js';
import type { Plan, PlanStep, Selection } from './plan.js';
import { sectionOfStep, selectSteps } from './plan.js';
import { fillSecrets, Redactor } from '../redact.js';

export interface CheckModeOptions {
  host: Host;
  platform: Platform;
  sudo: boolean;
  artifactsDir: string;
  secrets: Record<string, string>;
  events: Emitter;
  selection?: Selection;
  signal?: AbortSignal;
}

/** One step's finding: what its apply would change. */
export interface Difference {
  step: PlanStep;
  /** The course section the step belongs to ("4.4"). */
  section: string;
  detail: string;
  diff?: string;
  /** Handlers the change would notify. */
  notify: string[];
}

export interface CheckRecap {
  ok: number;
  differs: number;
  durationMs: number;
  differences: Difference[];
  interrupted?: boolean;
}

/** Checks at once over the one connection (sshd's default MaxSessions is 10; verify runs 6 execs at once). */
const CONCURRENCY = 6;

const info = (s: PlanStep): StepInfo => ({ id: s.id, role: s.role, section: s.section, title: s.title, kind: s.kind });

export async function checkPlan(plan: Plan, o: CheckModeOptions): Promise<CheckRecap> {
  const t0 = Date.now();
  const redact = new Redactor();
  redact.add(...Object.values(o.secrets));
  const selected = selectSteps(plan, o.selection ?? {});
  const steps = plan.roles.flatMap((r) => r.steps.filter((s) => selected.has(s.id)));
  const recap: CheckRecap = { ok: 0, differs: 0, durationMs: 0, differences: [] };
  o.events.emit({ event: 'run', lab: plan.lab, platform: plan.platform, steps: steps.length, resuming: false, check: true });
  // Checks only look, so several run at once over the one connection; results are reported in plan order.
  // A read-only question asked twice gets one answer (as in lab:up while nothing changes; here nothing ever does).
  const answered = new Map<string, Promise<CheckResult>>();
  const checkOne = async (step: PlanStep): Promise<{ res: CheckResult; durationMs: number }> => {
    const started = Date.now();
    const kind = kinds[step.kind]!;
    const params = fillSecrets(step.params, o.secrets);
    const ctx = stepContext(step, o, 'check', { log: () => undefined });
    const key = kind.sameAnswerKey?.(params);
    const ask = async (): Promise<CheckResult> => {
      try {
        return await kind.check(params, ctx);
      } catch (e) {
        if (e instanceof ConnectionLost) throw e;
        return { ok: false, detail: e instanceof LabError ? e.message : `internal error: ${(e as Error).message}` };
      }
    };
    let answer = key === undefined ? undefined : answered.get(key);
    if (!answer) {
      answer = ask();
      if (key !== undefined) answered.set(key, answer);
    }
    return { res: await answer, durationMs: Date.now() - started };
  };
  const done = new Map<number, { res: CheckResult; durationMs: number }>();
  let reported = 0;
  let lastRole = '';
  const report = () => {
    for (; done.has(reported); reported++) {
      const step = steps[reported]!;
      const { res, durationMs } = done.get(reported)!;
      const role = plan.roles.find((r) => r.role === step.role)!;
      if (role.role !== lastRole) {
        lastRole = role.role;
        o.events.emit({ event: 'role', role: role.role, section: role.section, title: role.title, title_ja: role.title_ja });
      }
      const detail = redact.text(res.detail ?? 'differs');
      const diff = res.diff ? redact.text(res.diff) : undefined;
      if (res.ok) recap.ok += 1;
      else {
        recap.differs += 1;
        recap.differences.push({ step, section: sectionOfStep(step), detail, diff, notify: step.notify });
      }
      o.events.emit({
        event: 'step',
        ...info(step),
        status: res.ok ? 'ok' : 'differs',
        durationMs,
        detail: res.ok ? undefined : detail + (step.notify.length ? ` (would notify ${step.notify.join(', ')})` : ''),
        diff: res.ok ? undefined : diff,
      });
    }
  };
  let next = 0;
  const worker = async () => {
    while (next < steps.length) {
      if (o.signal?.aborted) {
        recap.interrupted = true;
        return;
      }
      const i = next++;
      done.set(i, await checkOne(steps[i]!));
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, steps.length) }, worker));
  recap.durationMs = Date.now() - t0;
  o.events.emit({ event: 'recap', ok: recap.ok, changed: 0, skipped: 0, failed: 0, differs: recap.differs, durationMs: recap.durationMs });
  return recap;
}
