/**
 * Local commands for the vagrant driver (through zx): streamed line by line to the user's progress, failures turned
 * into LabErrors that keep the lines that matter.
 */
import { $, type ProcessOutput } from 'zx';
import { LabError } from '../../errors.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each line of output (stdout and stderr), as it comes. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** What the user should do when the command fails. */
  hint?: string;
}

export interface RunResult { code: number; stdout: string; stderr: string }

function lineSplitter(onLine: (l: string) => void): { push(chunk: Buffer | string): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk.toString()).split(/\r?\n/);
      rest = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) onLine(p);
    },
    end() {
      if (rest.trim()) onLine(rest);
      rest = '';
    },
  };
}

/** Run a command; never throws on a non-zero exit (a probe), only when it cannot start. */
export async function probe(cmd: string[], o: RunOptions = {}): Promise<RunResult> {
  const sh = $({ quiet: true, env: o.env ?? process.env, cwd: o.cwd, signal: o.signal, nothrow: true });
  const p = sh`${cmd}`;
  if (o.onLine) {
    const out = lineSplitter(o.onLine);
    const err = lineSplitter(o.onLine);
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    const r = await p;
    out.end();
    err.end();
    return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
  }
  const r: ProcessOutput = await p;
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The last lines of a failed command's output (stdout, then stderr): where tools say why they stopped. */
export function why(r: RunResult, lines = 12): string {
  const all = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  return all.slice(-lines).join('\n');
}

/** Run a command; a non-zero exit becomes a LabError naming the command, its last lines and the hint. */
export async function run(cmd: string[], o: RunOptions = {}): Promise<string> {
  const r = await probe(cmd, o);
  if (r.code !== 0) {
    throw new LabError(`\`${cmd.join(' ')}\` failed (exit ${r.code}):\n${why(r)}`, o.hint ?? '', 1);
  }
  return r.stdout;
}
