/** Is something listening on a TCP port, seen from inside the host (`ss`, iproute2: on el7 and debian12 alike). */
import { defineProbe } from './probe.js';

export const portListening = defineProbe<number, boolean | undefined>({
  sudo: false,
  // No -H: el7's ss (iproute 4.11) has no --no-header; the header line is dropped by tail. Without ss: exit 1.
  command: (port) => `command -v ss >/dev/null && ss -ltn 'sport = :${Math.trunc(port)}' | tail -n +2`,
  /** undefined: ss is missing or failed, so it cannot be told. */
  parse: (r) => (r.code !== 0 ? undefined : r.stdout.trim().length > 0),
});
