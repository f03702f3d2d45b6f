/**
 * One round trip for a run that is expected to change nothing: the read-only check commands of the steps the lab
 * has finished before are asked in one exec (side by side on the host, each under its own `timeout`), and their
 * answers hold while the run has changed nothing: a later step asking the same question (two roles both running
 * `postfix check`, say) gets the same answer without a second run on the host. The first change (an exec that is
 * a job, i.e. an apply or a handler, or a file written) drops every answer; a command not asked ahead, one with
 * stdin, or a batch that failed goes to the host as usual. A step asking the same question twice (a poll) gets a
 * fresh answer the second time.
 */
import type { ExecOptions, ExecResult, Host, PutOptions } from '../host.js';
import { sh } from '../host.js';
import type { Platform } from '../lab/lab-file.js';
import { fillSecrets } from '../redact.js';
import { MISSING_MARKER, readScript } from '../ssh/remote-commands.js';
import { kinds } from './kinds/index.js';
import type { PlanStep } from './plan.js';

/** A question a step's check will ask: a command (with sudo or not) or a file read. */
export type Question = { run: string; sudo: boolean } | { read: string };

export interface PrefetchingHost extends Host {
  /** Ask these now, in one exec per sudo setting; returns how many answers are waiting. */
  prefetch(questions: Question[], timeoutMs: number): Promise<number>;
  /** Forget every waiting answer (the host may have changed). */
  drop(): void;
  /** The next step begins: it may take answers an earlier step took, but only once each. */
  nextStep(): void;
  /** Answers used so far (for tests and the run log). */
  readonly hits: number;
}

const runKey = (command: string, sudo: boolean) => `${sudo ? 'sudo' : 'user'}\0${command}`;
const readKey = (path: string) => `read\0${path}`;

/** The batch: every command in the background with its own files, then each one's exit code and output in base64. */
export function batchScript(commands: string[], timeoutMs: number): string {
  const t = Math.max(1, Math.ceil(timeoutMs / 1000));
  const lines = ['d=$(mktemp -d) || exit 97', 'trap \'rm -rf "$d"\' EXIT'];
  commands.forEach((c, i) => {
    lines.push(`{ timeout -k 2 ${t} bash -c ${sh(c)} </dev/null >"$d/${i}.o" 2>"$d/${i}.e"; echo $? >"$d/${i}.c"; } &`);
  });
  lines.push('wait');
  lines.push(
    `for i in $(seq 0 ${commands.length - 1}); do echo "PLAB-ANSWER $i $(cat "$d/$i.c")"; base64 -w 0 "$d/$i.o"; echo; base64 -w 0 "$d/$i.e"; echo; done`,
  );
  return lines.join('\n');
}

/** The batch's output back into one result per command; undefined for any command whose answer is not whole. */
export function parseBatch(stdout: string, n: number): (ExecResult | undefined)[] {
  const out: (ExecResult | undefined)[] = Array.from({ length: n });
  const lines = stdout.split('\n');
  for (let k = 0; k + 2 < lines.length; k++) {
    const m = /^PLAB-ANSWER (\d+) (\d+)$/.exec(lines[k]!);
    if (!m) continue;
    const i = Number(m[1]);
    if (i >= n) continue;
    out[i] = {
      code: Number(m[2]),
      stdout: Buffer.from(lines[k + 1]!, 'base64').toString('utf8'),
      stderr: Buffer.from(lines[k + 2]!, 'base64').toString('utf8'),
    };
    k += 2;
  }
  return out;
}

export function prefetchingHost(host: Host): PrefetchingHost {
  const answers = new Map<string, { result: ExecResult; takenIn?: number }>();
  let hits = 0;
  let stepNo = 0;
  const take = (key: string) => {
    const a = answers.get(key);
    // The same step asking again is a poll waiting for a change: that goes to the host.
    if (!a || a.takenIn === stepNo) return undefined;
    a.takenIn = stepNo;
    hits += 1;
    return a.result;
  };
  const ask = async (questions: { key: string; command: string }[], sudo: boolean, timeoutMs: number) => {
    if (!questions.length) return;
    const r = await host
      .exec(
        batchScript(
          questions.map((q) => q.command),
          timeoutMs,
        ),
        { sudo, timeoutMs: timeoutMs + 5000 },
      )
      .catch(() => undefined);
    if (!r || r.code !== 0) return;
    parseBatch(r.stdout, questions.length).forEach((a, i) => {
      // 124 and 137: `timeout` ended it; that is no answer (the step asks the host itself).
      if (a && a.code !== 124 && a.code !== 137) answers.set(questions[i]!.key, { result: a });
    });
  };
  return {
    name: host.name,
    get hits() {
      return hits;
    },
    async prefetch(questions, timeoutMs) {
      const seen = new Set<string>();
      const groups: Record<'sudo' | 'user', { key: string; command: string }[]> = { sudo: [], user: [] };
      for (const q of questions) {
        const key = 'read' in q ? readKey(q.read) : runKey(q.run, q.sudo);
        if (seen.has(key)) continue;
        seen.add(key);
        if ('read' in q) groups.sudo.push({ key, command: readScript(q.read) });
        else groups[q.sudo ? 'sudo' : 'user'].push({ key, command: q.run });
      }
      await Promise.all([ask(groups.sudo, true, timeoutMs), ask(groups.user, false, timeoutMs)]);
      return answers.size;
    },
    drop() {
      answers.clear();
    },
    nextStep() {
      stepNo += 1;
    },
    async exec(command: string, opts: ExecOptions = {}) {
      if (opts.job) answers.clear();
      else if (opts.stdin === undefined) {
        const a = take(runKey(command, !!opts.sudo));
        if (a) {
          if (a.stdout) opts.onOutput?.(a.stdout, 'stdout');
          if (a.stderr) opts.onOutput?.(a.stderr, 'stderr');
          return a;
        }
      }
      return host.exec(command, opts);
    },
    async get(path: string, opts?: { sudo?: boolean }) {
      const a = take(readKey(path));
      if (a && a.code === 0) {
        const out = a.stdout.trim();
        return out === MISSING_MARKER ? null : Buffer.from(out, 'base64');
      }
      return host.get(path, opts);
    },
    async put(path: string, content: string | Buffer, opts?: PutOptions) {
      answers.clear();
      return host.put(path, content, opts);
    },
    reconnect: host.reconnect ? () => host.reconnect!() : undefined,
    close: () => host.close(),
  };
}

/**
 * The questions of the steps worth asking ahead: those the lab has finished in an earlier run (a rerun expects
 * them to pass), from each kind's own list of check commands. Not asked ahead: commands with stdin, and any that
 * would carry a secret (the batch's text is one command line on the host).
 */
export function questionsOf(steps: PlanStep[], finished: Set<string>, o: { platform: Platform; sudo: boolean; secrets: Record<string, string> }): Question[] {
  const secrets = Object.values(o.secrets).filter(Boolean);
  const out: Question[] = [];
  for (const step of steps) {
    if (!finished.has(step.id)) continue;
    const kind = kinds[step.kind];
    if (!kind) continue;
    for (const c of kind.commands(fillSecrets(step.params, o.secrets), o.platform).check) {
      if ('read' in c) out.push({ read: c.read });
      else if ('run' in c && !c.stdinShown && !secrets.some((s) => c.run.includes(s))) out.push({ run: c.run, sudo: c.sudo ?? o.sudo });
    }
  }
  return out;
}
