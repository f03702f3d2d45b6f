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

/**
 * The batch: a few workers (one per core, at least two, at most four) share the commands, each claiming the next one
 * not yet taken (a file made with noclobber, so no process per claim) and running it in a subshell with its own
 * files; then each one's exit code and output in base64. Side by side, not all at once: 52 checks started together
 * took 3.4 s on a 2-core lab, two or four workers 2.2 s, one after another 2.9 s. A worker runs under `timeout`: a
 * command that outlives it leaves itself, and the commands its worker had not yet run, without an answer.
 */
export function batchScript(commands: string[], timeoutMs: number): string {
  const t = Math.max(1, Math.ceil(timeoutMs / 1000));
  const worker = ['set -C'];
  commands.forEach((c, i) => {
    worker.push(
      `if { true >"$PLAB_D/${i}.k"; } 2>/dev/null; then (set +C; eval ${sh(c)}) </dev/null >"$PLAB_D/${i}.o" 2>"$PLAB_D/${i}.e"; echo $? >"$PLAB_D/${i}.c"; fi`,
    );
  });
  return [
    'd=$(mktemp -d) || exit 97',
    'trap \'rm -rf "$d"\' EXIT',
    'n=$(nproc 2>/dev/null) || n=2; [ "$n" -ge 2 ] || n=2; [ "$n" -le 4 ] || n=4',
    `w=${sh(worker.join('\n'))}`,
    `for k in $(seq "$n"); do PLAB_D=$d timeout -k 2 ${t} bash -c "$w" & done`,
    'wait',
    // The answers in four processes whatever their number (a `cat` and two `base64` per command took 1.2 s here):
    // each exit code, then every output's size in bytes, then all outputs in order as one base64 line.
    'cd "$d" || exit 97',
    `for i in $(seq 0 ${commands.length - 1}); do c=; [ ! -e $i.c ] || read -r c <$i.c; echo "PLAB-ANSWER $i $c"; [ -e $i.o ] || true >$i.o; [ -e $i.e ] || true >$i.e; done`,
    `names=$(for i in $(seq 0 ${commands.length - 1}); do echo "$i.o $i.e"; done)`,
    'echo "PLAB-SIZES $(stat -c %s $names | tr "\\n" " ")"',
    'cat $names | base64 -w 0; echo',
  ].join('\n');
}

/** The batch's output back into one result per command; undefined for any command whose answer is not whole. */
export function parseBatch(stdout: string, n: number): (ExecResult | undefined)[] {
  const out: (ExecResult | undefined)[] = Array.from({ length: n });
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('PLAB-SIZES '));
  if (at < 0) return out;
  const sizes = lines[at]!.slice('PLAB-SIZES '.length).trim().split(' ').map(Number);
  const data = Buffer.from(lines[at + 1] ?? '', 'base64');
  if (sizes.length !== 2 * n || sizes.some((x) => !Number.isInteger(x)) || sizes.reduce((a, b) => a + b, 0) !== data.length) return out;
  const codes = new Map<number, number>();
  for (const l of lines.slice(0, at)) {
    const m = /^PLAB-ANSWER (\d+) (\d+)$/.exec(l);
    if (m) codes.set(Number(m[1]), Number(m[2]));
  }
  let off = 0;
  const next = (len: number) => {
    const piece = data.subarray(off, off + len).toString('utf8');
    off += len;
    return piece;
  };
  for (let i = 0; i < n; i++) {
    const stdout = next(sizes[2 * i]!);
    const stderr = next(sizes[2 * i + 1]!);
    const code = codes.get(i);
    if (code !== undefined) out[i] = { code, stdout, stderr };
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
    if (r?.code !== 0) return;
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
 * them to pass), from each kind's own list of check commands. Not asked ahead: commands with stdin, any that
 * would carry a secret (the batch's text is one command line on the host), and those that must wait their turn.
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
      else if ('run' in c && !c.stdinShown && !c.inTurn && !secrets.some((s) => c.run.includes(s))) out.push({ run: c.run, sudo: c.sudo ?? o.sudo });
    }
  }
  return out;
}
