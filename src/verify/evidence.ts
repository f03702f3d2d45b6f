/**
 * When a port gives no banner, say what the lab's own evidence shows instead of guessing from the check's hint:
 * whether anything listens on the port, the state of the units that serve mail, and the log lines that explain a
 * silent port (master(8) throttling a service whose processes keep dying, fatal and panic lines, SASL socket
 * errors), read over the lab's SSH connection.
 */
import { listenersCommand } from '../probes/port.js';
import type { VerifyContext } from './types.js';

/** Log lines that explain a port that accepts but does not answer, or does not accept. */
export const EVIDENCE = /throttling|fatal:|panic:|bad command startup|SASL: Connect to .* failed|warning: process .* exit status/;

export function evidenceScript(port: number, platform: VerifyContext['platform']): string {
  const units = platform === 'el7' ? 'postfix dovecot' : 'postfix@- postfix@postfix-deux dovecot';
  return [
    `if { ${listenersCommand(port)}; } | grep -q .; then echo "listen yes"; else echo "listen no"; fi`,
    `for u in ${units}; do echo "unit $u $(systemctl is-active "$u" 2>/dev/null)"; done`,
    // The mail log the lab keeps (rsyslog), else the journal: the last lines that explain a silent port.
    `{ if [ -r /var/log/maillog ]; then tail -n 3000 /var/log/maillog; else journalctl -q -o short --since -15min 2>/dev/null; fi; } | grep -E ${shq(EVIDENCE.source)} | tail -n 6 | sed 's/^/log /'`,
  ].join('\n');
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface Evidence {
  message: string;
  throttled: boolean;
  listens: boolean;
  /** A mail unit is on its way up (activating, reloading): the port may answer soon. */
  starting: boolean;
}

/** A sentence with the evidence, or undefined when the lab cannot be asked. */
export async function explainSilentPort(ctx: VerifyContext, port: number): Promise<Evidence | undefined> {
  let out: string;
  try {
    out = (await ctx.exec(evidenceScript(port, ctx.platform))).stdout;
  } catch {
    return undefined;
  }
  const listens = /^listen yes$/m.test(out);
  const units = [...out.matchAll(/^unit (\S+) (\S*)$/gm)].map((m) => `${m[1]} ${m[2] || 'unknown'}`);
  const logs = [...out.matchAll(/^log (.*)$/gm)].map((m) => m[1]!);
  const throttled = logs.some((l) => /throttling/.test(l));
  const parts = [
    listens ? `something listens on ${port} inside the lab` : `nothing listens on ${port} inside the lab`,
    units.length ? `units: ${units.join(', ')}` : '',
    throttled ? "Postfix's master(8) is throttling a service that kept dying (it waits before trying again)" : '',
  ].filter(Boolean);
  return {
    throttled,
    listens,
    starting: units.some((u) => / (activating|reloading)$/.test(u)),
    message: `the lab's own evidence: ${parts.join('; ')}${logs.length ? `; mail log:\n  ${logs.join('\n  ')}` : '; no fatal, panic or throttling lines in the mail log'}`,
  };
}
