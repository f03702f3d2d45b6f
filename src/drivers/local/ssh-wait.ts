/** sshd on a lab host, seen from this machine: its banner, and the one wait until it answers (every driver's boot). */
import { knock } from '../../probes/tcp.js';
import { pollUntil, stop, type PollResult } from '../../probes/poll.js';

/** The SSH banner line ("SSH-2.0-...") when sshd answers on host:port within the timeout; undefined otherwise. */
export async function sshBanner(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  const line = (t: string) => t.split('\r\n').find((l) => l.startsWith('SSH-'));
  const first = await knock(host, port, timeoutMs, (t) => line(t) !== undefined || t.length > 4096);
  return first ? line(first.text) : undefined;
}

export interface SshWait {
  timeoutMs: number;
  /** Pause between attempts; doubled up to maxIntervalMs when that is given. */
  intervalMs: number;
  maxIntervalMs?: number;
  /** How long one attempt waits for the banner. */
  bannerTimeoutMs: number;
  /** False once the process that would serve sshd has gone: the wait ends at once, with `gone` as the reason. */
  alive?: () => boolean;
  gone?: string;
  signal?: AbortSignal;
}

/** Polls sshd until it gives its banner; the banner, or why not ('timeout', 'aborted', or `gone`). */
export function waitForSsh(host: string, port: number, o: SshWait): Promise<PollResult<string>> {
  return pollUntil(
    async () => (await sshBanner(host, port, o.bannerTimeoutMs)) ?? (o.alive && !o.alive() ? stop(o.gone ?? 'the lab host is gone') : undefined),
    { timeoutMs: o.timeoutMs, intervalMs: o.intervalMs, maxIntervalMs: o.maxIntervalMs, signal: o.signal },
  );
}
