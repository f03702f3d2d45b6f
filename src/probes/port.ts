/**
 * Is something listening on a TCP port, seen from inside the host: `ss` (iproute2, on el7 and debian12 alike), or
 * where a minimal host has no iproute2, the kernel's own table (/proc/net/tcp and tcp6, state 0A is LISTEN).
 */
import { defineProbe } from './probe.js';

/** A shell command that prints a line per listening socket on `port` (nothing when none), and exits 0. */
export function listenersCommand(port: number): string {
  const p = Math.trunc(port);
  const hex = p.toString(16).toUpperCase().padStart(4, '0');
  // No -H: el7's ss (iproute 4.11) has no --no-header; the header line is dropped by tail.
  return `if command -v ss >/dev/null; then ss -ltn 'sport = :${p}' | tail -n +2; else awk '$4 == "0A" && $2 ~ /:${hex}$/' /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi`;
}

export const portListening = defineProbe<number, boolean | undefined>({
  sudo: false,
  command: listenersCommand,
  /** undefined: the command failed, so it cannot be told. */
  parse: (r) => (r.code !== 0 ? undefined : r.stdout.trim().length > 0),
});
