/** The one small interface through which the engine touches a machine. Only drivers implement it. */
export interface ExecOptions {
  /** Run through sudo (non-interactive). */
  sudo?: boolean;
  timeoutMs?: number;
  stdin?: string | Buffer;
  /** Output as it arrives, for the per-step log. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /**
   * Run as a findable job named this (`plab-<run>-<step>-<n>`): after a dropped connection the engine can wait
   * for it or stop it (src/jobs.ts) instead of starting a second copy. Used for commands that change the host.
   */
  job?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PutOptions {
  mode?: number;
  owner?: string;
  group?: string;
  sudo?: boolean;
  /** The job the upload belongs to (see ExecOptions.job). */
  job?: string;
}

export interface Host {
  readonly name: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Write a file (atomically: a temporary file renamed into place). */
  put(path: string, content: string | Buffer, opts?: PutOptions): Promise<void>;
  /** Read a file; null when it does not exist. */
  get(path: string, opts?: { sudo?: boolean }): Promise<Buffer | null>;
  /** Re-establish a dropped connection (with backoff). */
  reconnect?(): Promise<void>;
  close(): Promise<void>;
}

/** Quote a string for a POSIX shell. */
export function sh(s: string | number): string {
  const v = String(s);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}
