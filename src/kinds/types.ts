/** What a kind of step is: a schema for its parameters, a check, an apply, and the commands it would run. */
import type { ExecOptions, ExecResult, Host } from '../host.js';
import type { Platform } from '../lab-file.js';
import { StepError } from '../errors.js';

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
}

export interface CheckResult {
  /** True when the host is already in the state the step describes. */
  ok: boolean;
  /** What differs, in words (e.g. "postfix is not installed"). */
  detail?: string;
  /** A unified diff of a file the step would change. */
  diff?: string;
}

export interface StepKind<P = Record<string, unknown>> {
  name: string;
  /** JSON Schema of the step's parameters (after per-platform values are resolved). */
  schema: object;
  /** The commands this step runs, for --dry-run: check first, then apply. */
  describe(p: P, platform: Platform): { check: string[]; apply: string[] };
  check(p: P, ctx: KindContext): Promise<CheckResult>;
  apply(p: P, ctx: KindContext, before: CheckResult): Promise<void>;
  /** Read-only kinds never report a change. */
  readOnly?: boolean;
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
  });
  if (res.code !== 0 && !opts.allowFail) {
    const tail = (res.stderr || res.stdout).trim().split('\n').slice(-5).join('\n');
    throw new StepError(ctx.stepId, `command failed (exit ${res.code}${exitWords(res.code)}): ${command}${tail ? `\n${tail}` : ''}`,
      'The step log under .lab/<name>/logs/ has the full output.');
  }
  return res;
}

function exitWords(code: number): string {
  const words: Record<number, string> = { 126: ', not executable', 127: ', command not found', 124: ', timed out', 137: ', killed' };
  return words[code] ? words[code] : '';
}

export function defineKind<P>(k: StepKind<P>): StepKind<P> {
  return k;
}
