/** The one place that prints errors and decides the exit code. */
import { isLabError } from '../errors.js';

export async function main(fn: () => Promise<number | undefined>, argv = process.argv): Promise<void> {
  const debug = argv.includes('--debug');
  try {
    const code = await fn();
    process.exitCode = code ?? 0;
  } catch (e) {
    if (isLabError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      if (e.hint) process.stderr.write(`hint: ${e.hint.replace(/\n/g, '\n      ')}\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      process.exitCode = e.exitCode;
    } else {
      const err = e as Error & { code?: string };
      if (err?.code?.startsWith?.('commander.')) {
        process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
        return;
      }
      process.stderr.write(`error: ${err?.message ?? String(e)}\n`);
      process.stderr.write(debug ? `${err?.stack ?? ''}\n` : 'hint: this is unexpected; run again with --debug for the stack trace and report it.\n');
      process.exitCode = 1;
    }
  }
}
