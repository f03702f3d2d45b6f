/**
 * Commands on this machine (the control host), for every driver: through zx (arguments quoted by zx, arrays expand
 * to separate arguments), quiet, the sbin folders on PATH. `probe` answers with the exit code; `run` turns
 * a failure into a LabError that names the command, keeps the lines that say why, and carries the caller's hint.
 */
import { $, type ProcessOutput } from 'zx';
import { LabError } from '../../errors.js';

/** PATH with the sbin folders, so `ip`, `nft`, `debootstrap` are found even from a user shell under sudo. */
export const sbinPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LocalOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Text for the command's stdin. */
  input?: string;
  /** Each line of output (stdout and stderr), as it comes. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** What the user should do when the command fails. */
  hint?: string;
  /** LC_ALL=C, for output that is parsed (not for Vagrant: Ruby wants a UTF-8 locale). */
  cLocale?: boolean;
}

export interface LocalResult {
  code: number;
  stdout: string;
  stderr: string;
}

type Template = TemplateStringsArray;
/** The template of `$\`${argv}\``: an argument list, each element quoted by zx. */
const ARGV = Object.assign(['', ''], { raw: ['', ''] }) as unknown as Template;

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

async function exec(o: LocalOptions, pieces: Template, args: unknown[]): Promise<LocalResult> {
  const env = o.env ?? process.env;
  const p = $({
    quiet: true,
    nothrow: true,
    cwd: o.cwd,
    signal: o.signal,
    input: o.input,
    // SHLVL 1 or more: Debian's bash reads ~/.bashrc when its stdin is a socket (node's pipes are) and SHLVL is
    // below 2 (SSH_SOURCE_BASHRC); a user's heavy .bashrc (pyenv init: 0.8 s) then ran before every command
    env: { ...env, PATH: `${sbinPath}:${env.PATH ?? ''}`, SHLVL: String(Math.max(1, Number(env.SHLVL) || 0)), ...(o.cLocale ? { LC_ALL: 'C' } : {}) },
  })(pieces, ...args);
  const split = o.onLine ? [lineSplitter(o.onLine), lineSplitter(o.onLine)] : [];
  p.stdout.on('data', (c: Buffer) => split[0]?.push(c));
  p.stderr.on('data', (c: Buffer) => split[1]?.push(c));
  const r: ProcessOutput = await p;
  for (const s of split) s.end();
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The last lines of a failed command's output (stdout, then stderr): where tools say why they stopped. */
export function why(r: LocalResult, lines = 12): string {
  const all = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  return all.slice(-lines).join('\n');
}

function failure(command: string, r: LocalResult, hint = ''): LabError {
  return new LabError(`\`${command}\` failed (exit ${r.code}):\n${why(r)}`, hint, 1);
}

const text = (pieces: Template, args: unknown[]) => String.raw({ raw: pieces }, ...args.map((a) => (Array.isArray(a) ? a.join(' ') : String(a))));

/** Run an argument list; never throws on a non-zero exit (a probe), only when it cannot start. */
export const probe = (cmd: string[], o: LocalOptions = {}): Promise<LocalResult> => exec(o, ARGV, [cmd]);

/** Run an argument list; a non-zero exit becomes a LabError naming the command, its last lines and the hint. */
export async function run(cmd: string[], o: LocalOptions = {}): Promise<string> {
  const r = await probe(cmd, o);
  if (r.code !== 0) throw failure(cmd.join(' '), r, o.hint);
  return r.stdout;
}

/** The same as tagged templates, for drivers that write commands inline: `const { run } = commands({ hint }); await run\`ip netns add ${ns}\``. */
export function commands(o: LocalOptions = {}) {
  return {
    probe: (pieces: Template, ...args: unknown[]): Promise<LocalResult> => exec(o, pieces, args),
    run: async (pieces: Template, ...args: unknown[]): Promise<string> => {
      const r = await exec(o, pieces, args);
      if (r.code !== 0) throw failure(text(pieces, args), r, o.hint);
      return r.stdout;
    },
  };
}
