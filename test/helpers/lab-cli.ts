/** The lab:* commands as a user runs them (tsx src/cli/bin.ts NAME), with a scratch state home; async, so tests can run a few at once. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const repo = join(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function labCli(env: NodeJS.ProcessEnv, script: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const c = spawn(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'src/cli/bin.ts'), script, ...args], {
      cwd: repo,
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.stderr.on('data', (d) => {
      err += d;
    });
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

/** A clean failure: an error line and a hint, never a stack trace or the "unexpected" fallback. */
export function cleanError(err: string): boolean {
  return /^error: /m.test(err) && /\nhint: \S/.test(err) && !/^\s+at .*:\d+:\d+\)?$/m.test(err) && !/this is unexpected/.test(err);
}
