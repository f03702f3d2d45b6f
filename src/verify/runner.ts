/** Runs checks: independent probes concurrently, each retried until it passes when it says "wait until". */
import { performance } from 'node:perf_hooks';
import { LabError } from '../errors.js';
import { pollUntil, stop } from '../probes/poll.js';
import type { Check } from './load.js';
import { checkKinds } from './kinds/index.js';
import { type CheckStatus, checkSeconds, type Outcome, type VerifyContext } from './types.js';
import { type Evidence, explainSilentPort } from './evidence.js';

export interface CheckResult {
  id: string;
  section: string;
  title: string;
  status: CheckStatus;
  durationMs: number;
  message: string;
  hint: string;
}

/** Failures that mean the port gave no banner (a probe's connect, timeout and hang-up errors). */
const SILENT = /banner|greeting|within|timed out|no answer|closed|hung up|cannot connect|refused|reset/i;

/** No check may hang verify: one that has not answered within this bound fails, saying so. */
const CHECK_BOUND_MS = 150_000;

async function once(c: Check, ctx: VerifyContext): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'fail', message: `no answer within ${CHECK_BOUND_MS / 1000} s` }), CHECK_BOUND_MS);
  });
  try {
    return await Promise.race([checkKinds[c.kind]!.run(c.target, c.spec, ctx), bound]);
  } catch (e) {
    return { status: 'fail', message: e instanceof LabError ? e.message : (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

export async function runCheck(c: Check, ctx: VerifyContext): Promise<CheckResult> {
  const t0 = performance.now();
  let out: Outcome = { status: 'fail', message: 'not run' };
  const spec = (c.spec as { port?: unknown }).port;
  const port = typeof spec === 'number' ? spec : undefined;
  const silent = () => out.status === 'fail' && port !== undefined && SILENT.test(out.message);
  let ev: Evidence | undefined;
  await pollUntil(
    async () => {
      out = await once(c, ctx);
      ev = undefined;
      if (out.status === 'pass') return true;
      // "Wait until it answers" is for a service on its way up: when nothing listens and nothing is starting, stop.
      if (c.retry?.timeout && silent() && port !== undefined) {
        ev = await explainSilentPort(ctx, port);
        if (ev && !ev.listens && !ev.starting) return stop('nothing listens and nothing is starting');
      }
      return false;
    },
    {
      timeoutMs: (c.retry?.timeout ?? 0) * 1000,
      intervalMs: (c.retry?.interval ?? 0.5) * 1000,
    },
  );
  let hint = out.status === 'pass' ? '' : c.hint;
  // A port that gave no banner (or no connection): the lab's own evidence, not the check's guess.
  if (silent() && port !== undefined) {
    ev ??= await explainSilentPort(ctx, port);
    if (ev) {
      out = { ...out, message: `${out.message}\n${ev.message}` };
      if (ev.throttled)
        hint =
          'Postfix is throttling the service behind this port after its processes kept failing (often a dependency such as Dovecot that was away): `npm run lab:up` restarts it (its readiness check), or `systemctl restart postfix` on the lab host.';
    }
  }
  return { id: c.id, section: c.section, title: c.title, status: out.status, durationMs: Math.round(performance.now() - t0), message: out.message, hint };
}

/** All checks, at most `limit` at a time; results in the checks' order. */
export async function runChecks(checks: Check[], ctx: VerifyContext, limit = 8, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = new Array(checks.length);
  // Long probes (postscreen's greeting pause, a wrong password) start first, so they overlap with everything else.
  const cost = checks.map((c) => checkSeconds(c, checkKinds[c.kind]));
  const queue = checks.map((_c, i) => i).sort((a, b) => cost[b]! - cost[a]! || a - b);
  // A wrong password is sent only after every right login has finished: Dovecot's penalty for the failure would
  // hold the right ones for seconds (src/verify/types.ts, logsIn). A check with a wrong one waits in its worker;
  // while right ones are still queued, at least one worker is kept for them, so none waits forever.
  const logsIn = checks.map((c) => checkKinds[c.kind]?.logsIn?.(c.spec as never));
  let rightLeft = logsIn.filter((l) => l === 'right').length;
  let rightDone = () => {};
  const rightFinished = rightLeft ? new Promise<void>((resolve) => (rightDone = resolve)) : Promise.resolve();
  const gated: VerifyContext = { ...ctx, rightLoginsDone: () => rightFinished };
  const workers = Math.min(limit, checks.length);
  let wrongRunning = 0;
  const take = async (): Promise<number | undefined> => {
    const at = queue.findIndex((i) => logsIn[i] !== 'wrong' || rightLeft === 0 || wrongRunning + 1 < workers);
    const i = at >= 0 ? queue.splice(at, 1)[0] : queue.length ? await rightFinished.then(() => queue.shift()) : undefined;
    if (i !== undefined && logsIn[i] === 'wrong') wrongRunning += 1; // counted as it is taken: workers start together
    return i;
  };
  const worker = async () => {
    for (let i = await take(); i !== undefined; i = await take()) {
      const r = await runCheck(checks[i]!, gated).finally(() => {
        if (logsIn[i] === 'wrong') wrongRunning -= 1;
        if (logsIn[i] === 'right' && --rightLeft === 0) rightDone();
      });
      results[i] = r;
      onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
