/**
 * Remote jobs: the commands a step runs to change a host are named `plab-<run>-<step>-<n>` and recorded on the host
 * (src/ssh/remote-commands.ts, jobScript). After a dropped connection, or when the user presses Ctrl-C, the engine
 * settles the step's jobs before it checks again: it waits for one that is still running (bounded by the step's
 * timeout; the job's own remote timeout ends it by then anyway) or stops it (TERM, then KILL, to its whole process
 * group), and removes what a dropped upload left in /tmp. So a retry never races a first copy still holding
 * dpkg's lock.
 */
import type { Host } from './host.js';
import { sh } from './host.js';

/** The job-name prefix of one step in one run (step ids are [a-z0-9-]; run ids are hex). */
export function jobPrefix(runId: string, stepId: string): string {
  return `plab-${runId.replace(/[^a-z0-9]/gi, '').slice(0, 8)}-${stepId.replace(/[^a-z0-9-]/g, '_')}-`;
}

/** A fresh job name per command of a step: prefix + counter. */
export function jobNamer(prefix: string): () => string {
  let n = 0;
  return () => `${prefix}${++n}`;
}

export interface SettledJob {
  job: string;
  pid: number;
  /** finished: it ended while we waited (or before); stopped: we ended it. */
  outcome: 'finished' | 'stopped';
  waitedMs: number;
  /** The last output the job wrote on the host (what the dropped channel never delivered). */
  outputTail: string;
}

/**
 * The shell that settles every job whose name starts with `prefix`: waits up to `waitSecs` for each running one
 * (0: stop at once), stops it if it is still running, prints one line per job, removes the records and uploads.
 */
export function settleScript(prefix: string, waitSecs: number): string {
  const p = sh(prefix);
  return [
    'shopt -s nullglob',
    `end=$(( SECONDS + ${Math.max(0, Math.ceil(waitSecs))} ))`,
    `for f in /run/postfix-lab/${p}*.pid /tmp/.postfix-lab-*/${p}*.pid; do`,
    '  job=${f##*/}; job=${job%.pid}; pid=$(cat "$f" 2>/dev/null); t0=$(date +%s%N); outcome=finished',
    // Ours when the group exists and its leader is gone or still carries the job name (a recycled PID does not).
    '  if [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null && { [ ! -e /proc/$pid ] || grep -qaF "$job" /proc/$pid/cmdline 2>/dev/null; }; then',
    '    while kill -0 -- "-$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done',
    '    if kill -0 -- "-$pid" 2>/dev/null; then',
    '      outcome=stopped; kill -TERM -- "-$pid" 2>/dev/null',
    '      for i in $(seq 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.05; done',
    '      kill -KILL -- "-$pid" 2>/dev/null',
    '    fi',
    '  fi',
    '  out=${f%.pid}.out; tail=""; [ -f "$out" ] && tail=$(tail -c 2000 "$out" | base64 -w 0)',
    '  echo "plab-job $outcome $job ${pid:-0} $(( ($(date +%s%N) - t0) / 1000000 )) $tail"',
    '  rm -f -- "$f" "$out"',
    'done',
    `rm -f -- /tmp/.plab-upload-${p}*`,
  ].join('\n');
}

export function parseSettled(stdout: string): SettledJob[] {
  return stdout.split('\n').flatMap((l) => {
    const m = /^plab-job (finished|stopped) (\S+) (\d+) (\d+) ?(\S*)$/.exec(l.trim());
    if (!m) return [];
    return [{ outcome: m[1] as SettledJob['outcome'], job: m[2]!, pid: Number(m[3]), waitedMs: Number(m[4]), outputTail: Buffer.from(m[5] ?? '', 'base64').toString('utf8') }];
  });
}

/** Settle a step's jobs on the host (see settleScript). */
export async function settleJobs(host: Host, prefix: string, o: { waitMs: number; sudo: boolean }): Promise<SettledJob[]> {
  const r = await host.exec(settleScript(prefix, o.waitMs / 1000), { sudo: o.sudo, timeoutMs: o.waitMs + 15_000 });
  return parseSettled(r.stdout);
}

/** One line per settled job, for the step log and the run's output. */
export function describeSettled(j: SettledJob): string {
  const secs = (j.waitedMs / 1000).toFixed(1);
  return j.outcome === 'stopped'
    ? `the step's command from before (${j.job}, pid ${j.pid}) was still running on the host after ${secs} s: stopped it (TERM, then KILL to its process group)`
    : j.waitedMs > 0
      ? `the step's command from before (${j.job}, pid ${j.pid}) was still running on the host: waited ${secs} s until it finished`
      : `the step's command from before (${j.job}) had finished on the host`;
}
