/**
 * A Host that times what goes through it, for benchmarks only: for each exec the wall time seen by the engine
 * (client side) and the time the command itself took on the lab host (measured there with bash's EPOCHREALTIME,
 * around a subshell that runs the command unchanged). The difference is the exec's transport cost: the SSH
 * channel, sudo, timeout and bash start. put/get are timed as a whole (SFTP plus the install script).
 */
import type { ExecOptions, ExecResult, Host, PutOptions } from '../src/host.js';
import type { EngineEvent } from '../src/output/events.js';

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export interface OpRecord {
  bucket: string;
  op: 'exec' | 'put' | 'get';
  label: string;
  sudo: boolean;
  wallMs: number;
  /** Time inside the command on the lab host; undefined for put/get. */
  remoteMs?: number;
}

const MARK = /(?:^|\n)PLAB-T (\d+(?:[.,]\d+)?) (\d+(?:[.,]\d+)?)\n?$/;

/** The command, run unchanged in a subshell, with the lab host's clock read before and after (no extra fork). */
export function timed(command: string): string {
  return `__plab_t0=$EPOCHREALTIME; (\n${command}\n); __plab_rc=$?; printf 'PLAB-T %s %s\\n' "$__plab_t0" "$EPOCHREALTIME" >&2; exit $__plab_rc`;
}

/** Split the timing line off a command's stderr. */
export function untime(stderr: string): { stderr: string; remoteMs?: number } {
  const m = MARK.exec(stderr);
  if (!m) return { stderr };
  const t = (s: string) => Number(s.replace(',', '.'));
  return { stderr: stderr.slice(0, m.index) + (m[0].startsWith('\n') ? '\n' : ''), remoteMs: (t(m[2]!) - t(m[1]!)) * 1000 };
}

export class TimingHost implements Host {
  readonly name: string;

  /**
   * `ops`: where the records go; a run that reconnects (after a checkpoint) passes the same list to each host.
   * `bucketOf`: where an operation is counted (the step run under way).
   */
  constructor(
    private readonly inner: Host,
    readonly ops: OpRecord[] = [],
    private readonly bucketOf: () => string = () => 'boot',
  ) {
    this.name = inner.name;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const onOutput = opts.onOutput;
    const t0 = performance.now();
    const r = await this.inner.exec(timed(command), {
      ...opts,
      onOutput:
        onOutput &&
        ((chunk, stream) => {
          const text = stream === 'stderr' ? chunk.replace(/(^|\n)PLAB-T \S+ \S+\n?$/, '$1') : chunk;
          if (text) onOutput(text, stream);
        }),
    });
    const wallMs = performance.now() - t0;
    const { stderr, remoteMs } = untime(r.stderr);
    this.ops.push({ bucket: this.bucketOf(), op: 'exec', label: command, sudo: !!opts.sudo, wallMs, remoteMs });
    return { ...r, stderr };
  }

  async put(path: string, content: string | Buffer, opts?: PutOptions): Promise<void> {
    const t0 = performance.now();
    try {
      await this.inner.put(path, content, opts);
    } finally {
      this.ops.push({ bucket: this.bucketOf(), op: 'put', label: path, sudo: !!opts?.sudo, wallMs: performance.now() - t0 });
    }
  }

  async get(path: string, opts?: { sudo?: boolean }): Promise<Buffer | null> {
    const t0 = performance.now();
    try {
      return await this.inner.get(path, opts);
    } finally {
      this.ops.push({ bucket: this.bucketOf(), op: 'get', label: path, sudo: !!opts?.sudo, wallMs: performance.now() - t0 });
    }
  }

  reconnect(): Promise<void> {
    return this.inner.reconnect ? this.inner.reconnect() : Promise.resolve();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** One step run of a timed lab:up, with the host operations it made. */
export interface StepRow {
  id: string;
  /** This run of the step: a handler runs once per course part, and each run is its own row. */
  bucket: string;
  kind: string;
  status: string;
  wallMs: number;
  execs: number;
  execMs: number;
  remoteMs: number;
}

export type StepEnd = Extract<EngineEvent, { event: 'step' }>;

/** One row per step run; the host operations counted against the bucket that run had (bench/lab-up.ts gives each run its own). */
export function rowsOf(steps: { end: StepEnd; bucket: string }[], ops: OpRecord[]): StepRow[] {
  return steps
    .filter(({ end }) => end.status !== 'skipped')
    .map(({ end, bucket }) => {
      const mine = ops.filter((o) => o.bucket === bucket);
      return {
        id: end.id,
        bucket,
        kind: end.kind,
        status: end.status,
        wallMs: end.durationMs,
        execs: mine.length,
        execMs: sum(mine.map((o) => o.wallMs)),
        remoteMs: sum(mine.map((o) => o.remoteMs ?? 0)),
      };
    });
}
