/** Kinds of check: a schema for the check's fields and a probe that answers pass, fail or inconclusive. */
import type { Host } from '../host.js';
import type { Platform } from '../lab/lab-file.js';
import type { Asker } from '../probes/probe.js';

export type CheckStatus = 'pass' | 'fail' | 'inconclusive';

export interface Outcome {
  status: CheckStatus;
  message: string;
}

export interface Endpoint {
  host: string;
  port: number;
}

export interface VerifyContext {
  platform: Platform;
  /** The lab's SSH connection (opened on first use, shared by all checks). */
  ssh(): Promise<Host>;
  /** Run a command on the lab host through sudo; limited concurrency. */
  exec(command: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Read a file on the lab host through sudo, null when it does not exist (default: the SSH connection's get). */
  read?(path: string): Promise<Buffer | null>;
  /** Where a guest port answers from outside: a forwarded port on 127.0.0.1, or the host's own address. */
  endpoint(guestPort: number): Endpoint;
  /** The lab mail user's credentials (never printed). */
  credentials: { user: string; password: string };
  /** A fresh token for log checks. */
  token(): string;
  /**
   * Resolves once every check that logs in with the right password has finished (the runner's; see
   * CheckKind.logsIn). A probe awaits it just before it sends a wrong password, having connected long before.
   */
  rightLoginsDone?(): Promise<void>;
}

export interface CheckKind<S = Record<string, unknown>> {
  name: string;
  /** JSON Schema of the kind's own fields (the common fields are added by the loader). */
  fields: Record<string, object>;
  required?: string[];
  run(target: string, spec: S, ctx: VerifyContext): Promise<Outcome>;
  /**
   * About how long the probe takes on a lab where it passes, by design (a server's pause or delay), in seconds;
   * default 0.1. The runner starts the longest first; a regression check leaves out those of SLOW_S and more.
   */
  seconds?(spec: S): number;
  /**
   * Whether the probe logs in (SMTP AUTH, which Postfix hands to Dovecot) with the lab user's password or a wrong
   * one. After a failed login Dovecot holds every login from the same address for its penalty time (2-15 s, before
   * it even looks the user up), so a wrong password is sent only once the right ones have logged in
   * (VerifyContext.rightLoginsDone); the wrong one's connection (and postscreen's pause) overlaps with them.
   */
  logsIn?(spec: S): 'right' | 'wrong' | undefined;
}

/** A probe this long or longer is left out of a quick regression check (course check's earlier sections). */
export const SLOW_S = 2;

/** The check's own figure, else its kind's. */
export const checkSeconds = (c: { seconds?: number; spec: unknown }, kind: CheckKind<never> | undefined): number =>
  c.seconds ?? kind?.seconds?.(c.spec as never) ?? 0.1;

export const pass = (message: string): Outcome => ({ status: 'pass', message });
export const fail = (message: string): Outcome => ({ status: 'fail', message });
export const inconclusive = (message: string): Outcome => ({ status: 'inconclusive', message });

/** The lab host as the probes (src/probes/) see it: every command through sudo, with verify's concurrency limit. */
export function asker(ctx: VerifyContext): Asker & Pick<Host, 'get'> {
  return {
    exec: (command, o) => ctx.exec(command, typeof o?.stdin === 'string' ? o.stdin : undefined),
    get: async (path) => (ctx.read ? ctx.read(path) : (await ctx.ssh()).get(path, { sudo: true })),
  };
}
