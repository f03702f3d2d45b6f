/** The shell text the SSH executor sends: sudo/timeout wrapping, the atomic file install, the privileged read. */
import { sh } from '../host.js';

/**
 * The command line for one exec.
 * - sudo: `sudo -n -- bash -c '<command>'` (never prompts; fails fast when sudo would need a password).
 * - timeout: coreutils `timeout -k 2 <secs>` on the remote side, so a hung command dies on the host too even when
 *   the client is gone. `exec` makes timeout the session leader, so the KILL signal the client sends on expiry
 *   (sshd delivers it to the session's process group) takes the whole command down at once.
 */
export function wrapCommand(command: string, opts: { sudo?: boolean; timeoutMs?: number }): string {
  const timeout = opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? `timeout -k 2 ${secs(opts.timeoutMs)} ` : '';
  if (opts.sudo) return `exec sudo -n -- ${timeout}bash -c ${sh(command)}`;
  if (timeout) return `exec ${timeout}bash -c ${sh(command)}`;
  return command;
}

function secs(ms: number): string {
  return (Math.ceil(ms) / 1000).toFixed(3).replace(/\.?0+$/, '');
}

export interface InstallSpec {
  /** The uploaded temporary file (removed in any case). */
  tmp: string;
  dest: string;
  mode?: number;
  owner?: string;
  group?: string;
}

/**
 * One shell script that installs an uploaded temporary file atomically: copy next to the destination
 * (`<dest>.plab-new`, created 0600 thanks to the umask), set mode and ownership (copied from the existing file
 * when no mode is given, else the given mode or 0644), then `mv -f` into place.
 */
export function installScript(s: InstallSpec): string {
  const tmp = sh(s.tmp);
  const dest = sh(s.dest);
  const next = sh(`${s.dest}.plab-new`);
  const lines = [
    'set -e',
    'umask 077',
    `trap ${sh(`rm -f -- ${tmp}`)} EXIT`,
    `rm -f -- ${next}`,
    `cp -- ${tmp} ${next}`,
  ];
  if (s.mode !== undefined) {
    lines.push(`chmod ${modeString(s.mode)} ${next}`);
  } else {
    lines.push(
      `if [ -e ${dest} ]; then chmod --reference=${dest} ${next}; ` +
        `if [ "$(id -u)" = 0 ]; then chown --reference=${dest} ${next}; fi; else chmod 0644 ${next}; fi`,
    );
  }
  if (s.owner !== undefined && s.group !== undefined) lines.push(`chown -- ${sh(`${s.owner}:${s.group}`)} ${next}`);
  else if (s.owner !== undefined) lines.push(`chown -- ${sh(s.owner)} ${next}`);
  else if (s.group !== undefined) lines.push(`chgrp -- ${sh(s.group)} ${next}`);
  lines.push(`mv -f -- ${next} ${dest}`);
  return lines.join('\n');
}

export function modeString(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new RangeError(`bad file mode: ${mode}`);
  return '0' + mode.toString(8).padStart(3, '0');
}

/** Printed instead of data when the file is absent (not in the base64 alphabet, so it cannot be mistaken). */
export const MISSING_MARKER = 'PLAB-NO-SUCH-FILE';

/** Read a file as base64 (binary-safe over a text channel); prints MISSING_MARKER when it does not exist. */
export function readScript(path: string): string {
  const p = sh(path);
  return `if [ ! -e ${p} ]; then echo ${MISSING_MARKER}; exit 0; fi; base64 -w 0 < ${p}`;
}
