/** What a kind of step is: a schema for its parameters, a check, an apply, and the commands it would run. */
import type { ExecOptions, ExecResult, Host } from '../../host.js';
import type { Platform } from '../../lab/lab-file.js';
import { StepError } from '../../errors.js';
import type { Asker } from '../../probes/probe.js';
import { type Commands, describeCommand, learnerLines } from './commands.js';

export interface KindContext {
  stepId: string;
  /** 'check' before apply, 'recheck' after it (restart requests are satisfied by an active unit then). */
  phase: 'check' | 'recheck';
  host: Host;
  platform: Platform;
  /** Privileged commands go through sudo. */
  sudo: boolean;
  timeoutMs: number;
  /** Folder where downloads are looked up first. */
  artifactsDir: string;
  /** Writes a line to the step's log (already redacted). */
  log(line: string): void;
  onOutput?: ExecOptions['onOutput'];
  /** Secret values by name (never printed). */
  secrets: Record<string, string>;
  /** Fetches a URL from the control machine (injected so tests can serve it from loopback). */
  fetchUrl?(url: string, timeoutMs: number): Promise<Buffer>;
  /**
   * In apply phases: a fresh job name per command (src/jobs.ts), so that after a dropped connection the engine
   * finds a command still running on the host instead of starting a second copy. Absent in checks (read-only).
   */
  job?: () => string;
}

/** What a run knows that every step's context carries. */
export type RunContext = Pick<KindContext, 'host' | 'platform' | 'sudo' | 'artifactsDir' | 'secrets' | 'fetchUrl'>;

/** A step's context in a run: the run's values, the step's id and timeout, and what this phase adds. */
export function stepContext(
  step: { id: string; timeoutMs: number },
  run: RunContext,
  phase: KindContext['phase'],
  extra: Pick<KindContext, 'log'> & Partial<KindContext>,
): KindContext {
  const { host, platform, sudo, artifactsDir, secrets, fetchUrl } = run;
  return { stepId: step.id, phase, host, platform, sudo, timeoutMs: step.timeoutMs, artifactsDir, secrets, fetchUrl, ...extra };
}

export interface CheckResult {
  /** True when the host is already in the state the step describes. */
  ok: boolean;
  /** What differs, in words (e.g. "postfix is not installed"). */
  detail?: string;
  /** A unified diff of a file the step would change. */
  diff?: string;
}

/** What planning hands a kind's prepare hook: the role's templates and the lab file's pins, and where the step is. */
export interface PrepareContext {
  /** "file:line:col: step "id"" of the step's kind block, for error messages. */
  at: string;
  /** A file under the role's templates/, with {{ vars }} filled in. */
  template(name: string): string;
  /** The lab file's `pins:` (artifact file name -> sha256 and where the pin is written). */
  pins: Record<string, { sha256: string; at: string }>;
  labFile: string;
}

export interface StepKind<P = Record<string, unknown>> {
  name: string;
  /** JSON Schema of the step's parameters as a role writes them (after per-platform values are resolved). */
  schema: object;
  /** Planning: fill in what comes from outside the step (a template's content, a pin), after validation. */
  prepare?(p: P, c: PrepareContext): P;
  /** The one list of commands the step runs (check first, then apply): check and apply run entries of it. */
  commands(p: P, platform: Platform): Commands;
  /** The commands this step runs, for --dry-run (rendered from commands()). */
  describe(p: P, platform: Platform): { check: string[]; apply: string[] };
  /** The shell lines a learner would type on the lab host for the same (rendered from commands()). */
  learner(p: P, platform: Platform): { check: string[]; apply: string[] };
  check(p: P, ctx: KindContext): Promise<CheckResult>;
  apply(p: P, ctx: KindContext, before: CheckResult): Promise<void>;
  /** Runs after the role's handlers (a readiness check of what the role built, restarts included). */
  afterHandlers?: boolean;
  /**
   * For a step that only looks (changes nothing): the question it asks, as a key. A run asks it once while nothing
   * changes: a later step with the same key, reached before any step changed the host, has the same answer.
   */
  sameAnswerKey?(p: P): string | undefined;
  /** Extra validation across parameters; returns an error message or undefined. */
  lint?(p: P): string | undefined;
}

/** Run a command for a step: sudo and timeout from the context, output into the step log. */
export async function run(ctx: KindContext, command: string, opts: { allowFail?: boolean; stdin?: string; sudo?: boolean } = {}): Promise<ExecResult> {
  const res = await ctx.host.exec(command, {
    sudo: opts.sudo ?? ctx.sudo,
    timeoutMs: ctx.timeoutMs,
    stdin: opts.stdin,
    onOutput: ctx.onOutput,
    job: ctx.job?.(),
  });
  if (res.code !== 0 && !opts.allowFail) {
    const tail = (res.stderr || res.stdout).trim().split('\n').slice(-5).join('\n');
    throw new StepError(
      ctx.stepId,
      `command failed (exit ${res.code}${exitWords(res.code)}): ${command}${tail ? `\n${tail}` : ''}`,
      'The step log under .lab/<name>/logs/ has the full output.',
    );
  }
  return res;
}

function exitWords(code: number): string {
  const words: Record<number, string> = { 126: ', not executable', 127: ', command not found', 124: ', timed out', 137: ', killed' };
  return words[code] ? words[code] : '';
}

/** A kind from its schema, commands, check and apply; its description and learner lines are rendered from commands(). */
export function defineKind<P>(k: Omit<StepKind<P>, 'describe' | 'learner'>): StepKind<P> {
  return {
    ...k,
    describe: (p, platform) => {
      const c = k.commands(p, platform);
      return { check: c.check.map(describeCommand), apply: c.apply.map(describeCommand) };
    },
    learner: (p, platform) => {
      const c = k.commands(p, platform);
      return { check: c.check.flatMap(learnerLines), apply: c.apply.flatMap(learnerLines) };
    },
  };
}

/** The host as the probes (src/probes/) see it: through sudo when the probe needs root and the lab uses sudo, output into the step log. */
export function asker(ctx: KindContext): Asker {
  return { exec: (command, o = {}) => run(ctx, command, { allowFail: true, sudo: (o.sudo ?? true) && ctx.sudo }) };
}
