/**
 * Typed errors. Every error the lab raises on purpose is a LabError: a message saying what went wrong,
 * a hint saying how to fix it, and the exit code the CLI should use. One place prints them (src/cli/main.ts).
 */
export type ExitCode = 0 | 1 | 2 | 130;

export class LabError extends Error {
  readonly hint: string;
  readonly exitCode: ExitCode;
  constructor(message: string, hint = '', exitCode: ExitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** Bad input: a lab file, role, check file or flag that is wrong. Exit code 2. */
export class InputError extends LabError {
  constructor(message: string, hint = '', options?: { cause?: unknown }) {
    super(message, hint, 2, options);
  }
}

/** A step failed on a host (exit code 1). */
export class StepError extends LabError {
  readonly stepId: string;
  constructor(stepId: string, message: string, hint = '', options?: { cause?: unknown }) {
    super(message, hint, 1, options);
    this.stepId = stepId;
  }
}

/** The SSH connection dropped; the engine reconnects and retries the interrupted step. */
export class ConnectionLost extends LabError {
  constructor(host: string, detail: string) {
    super(
      `connection to ${host} lost: ${detail}`,
      'The engine reconnects with backoff; if this persists, check that the lab host is running (npm run lab:status).',
    );
  }
}

/** The host presented a key other than the one pinned for this lab. */
export class HostKeyChanged extends LabError {
  constructor(host: string, pinned: string, seen: string, pinFile: string) {
    super(
      `host key of ${host} changed: pinned ${pinned}, the host now presents ${seen}; refusing to connect`,
      `This lab pinned the host's key on first connect (${pinFile}). If you rebuilt the lab host on purpose, ` +
        `run \`npm run lab:down\` and \`npm run lab:up\`, or delete the "${host}" entry from ${pinFile}. ` +
        'If you did not, someone else may be answering on that address.',
    );
  }
}

/** A command took longer than its step allows. */
export class TimeoutError extends LabError {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${(ms / 1000).toFixed(1)} s`, "Raise the step's `timeout` in its role file, or look at the step log for where it hung.");
  }
}

export function isLabError(e: unknown): e is LabError {
  return e instanceof LabError;
}
