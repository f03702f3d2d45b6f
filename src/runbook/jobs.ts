/**
 * Remote jobs: the commands a step runs to change a host are named `plab-<run>-<step>-<n>` and recorded on the host
 * (src/ssh/remote-commands.ts, jobScript). After a dropped connection, or when the user presses Ctrl-C, the engine
 * settles the step's jobs before it checks again: it waits for one that is still running (bounded by the step's
 * timeout; the job's own remote timeout ends it by then anyway) or stops it (TERM, then KILL, to its whole process
 * group), and removes what a dropped upload left in /tmp. So a retry never races a first copy still holding
 * dpkg's lock.
 */
import type { Host } from '../host.js';
import { sh } from '../host.js';

/** The job-name prefix of one step in one run (step ids are [a-z0-9-]; run ids are hex). */
export function jobPrefix(runId: string, stepId: string): string {
  return `${runJobPrefix(runId)}${stepId.replace(/[^a-z0-9-]/g, '_')}-`;
}

export function runJobPrefix(runId: string): string {
  return `plab-${runId.replace(/[^a-z0-9]/gi, '').slice(0, 8)}-`;
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
  /** The job's exit code, when it ended by itself. */
  exitCode?: number;
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
    `for f in /run/postfix-lab/${p}*.pid /run/postfix-lab/${p}*.rc /tmp/.postfix-lab-*/${p}*.pid /tmp/.postfix-lab-*/${p}*.rc; do`,
    '  base=${f%.*}; job=${base##*/}; [ -e "$base.pid" ] && [ "$f" = "$base.rc" ] && continue',
    '  pid=0; t0=$(date +%s%N); outcome=finished',
    '  if [ -e "$base.pid" ]; then',
    '    pid=$(cat "$base.pid" 2>/dev/null); pid=${pid:-0}',
    // Ours when the group exists and its leader is gone or still carries the job name (a recycled PID does not).
    '    if [ "$pid" != 0 ] && kill -0 -- "-$pid" 2>/dev/null && { [ ! -e /proc/$pid ] || grep -qaF "$job" /proc/$pid/cmdline 2>/dev/null; }; then',
    '      while kill -0 -- "-$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done',
    '      if kill -0 -- "-$pid" 2>/dev/null; then',
    '        outcome=stopped; kill -TERM -- "-$pid" 2>/dev/null',
    '        for i in $(seq 40); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.05; done',
    '        kill -KILL -- "-$pid" 2>/dev/null',
    '      fi',
    '    fi',
    // The wrapper writes the exit code just after the group ends: give it a moment.
    '    for i in $(seq 20); do [ -e "$base.rc" ] || [ "$outcome" = stopped ] || ! [ -e "$base.pid" ] && break; sleep 0.05; done',
    '  fi',
    '  rc=$(cat "$base.rc" 2>/dev/null); tail=""; [ -f "$base.out" ] && tail=$(tail -c 2000 "$base.out" | base64 -w 0)',
    '  echo "plab-job $outcome $job $pid ${rc:--} $(( ($(date +%s%N) - t0) / 1000000 )) $tail"',
    '  rm -f -- "$base.pid" "$base.out" "$base.rc" "$base.o" "$base.e"',
    'done',
    `rm -f -- /tmp/.plab-upload-${p}*`,
  ].join('\n');
}

export function parseSettled(stdout: string): SettledJob[] {
  return stdout.split('\n').flatMap((l) => {
    const m = /^plab-job (finished|stopped) (\S+) (\d+) (-|\d+) (\d+) ?(\S*)$/.exec(l.trim());
    if (!m) return [];
    return [
      {
        outcome: m[1] as SettledJob['outcome'],
        job: m[2]!,
        pid: Number(m[3]),
        exitCode: m[4] === '-' ? undefined : Number(m[4]),
        waitedMs: Number(m[5]),
        outputTail: Buffer.from(m[6] ?? '', 'base64').toString('utf8'),
      },
    ];
  });
}

/** Remove the job records one run left on the host (exit codes of finished jobs). */
export function forgetScript(runPrefix: string): string {
  const p = sh(runPrefix);
  return `rm -f -- /run/postfix-lab/${p}* /tmp/.postfix-lab-*/${p}* 2>/dev/null; true`;
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
      ? `the step's command from before (${j.job}, pid ${j.pid}) was still running on the host: waited ${secs} s until it finished${rc(j)}`
      : `the step's command from before (${j.job}) had finished on the host${rc(j)}`;
}

const rc = (j: SettledJob) => (j.exitCode === undefined ? '' : ` (exit ${j.exitCode})`);

/** The job that was running when the connection dropped: the last one started, by its counter. */
export function lastJob(jobs: SettledJob[]): SettledJob | undefined {
  const n = (j: SettledJob) =>
    Number(
      /(\d+)-(\d+)$/
        .exec(j.job)
        ?.slice(1)
        .map((x) => x.padStart(6, '0'))
        .join('') ?? 0,
    );
  return [...jobs].sort((a, b) => n(a) - n(b)).at(-1);
}
