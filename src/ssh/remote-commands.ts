/** The shell text the SSH executor sends: sudo/timeout wrapping, the atomic file install, the privileged read. */
import { sh } from '../host.js';

/**
 * The command line for one exec.
 * - sudo: `sudo -n -- bash -c '<command>'` (never prompts; fails fast when sudo would need a password).
 * - timeout: coreutils `timeout -k 2 <secs>` on the remote side, so a hung command dies on the host too even when
 *   the client is gone. `exec` makes timeout the session leader, so the KILL signal the client sends on expiry
 *   (sshd delivers it to the session's process group) takes the whole command down at once.
 */
export function wrapCommand(command: string, opts: { sudo?: boolean; timeoutMs?: number; job?: string }): string {
  if (opts.job) return opts.sudo ? `exec sudo -n -- bash -c ${sh(jobScript(command, opts.job, opts.timeoutMs))}` : jobScript(command, opts.job, opts.timeoutMs);
  const timeout = opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? `timeout -k 2 ${secs(opts.timeoutMs)} ` : '';
  if (opts.sudo) return `exec sudo -n -- ${timeout}bash -c ${sh(command)}`;
  if (timeout) return `exec ${timeout}bash -c ${sh(command)}`;
  return command;
}

/** Where job records live on the host: root's under /run (gone at reboot), other users' under /tmp. */
export const JOB_DIR_SHELL = 'd=/run/postfix-lab; [ "$EUID" = 0 ] || d=/tmp/.postfix-lab-$EUID; [ -d "$d" ] || mkdir -p -m 0700 "$d"';

/**
 * A findable job (for commands that change the host): the command runs under `timeout` (which makes itself the
 * leader of a new process group), that group's id goes to `<dir>/<job>.pid`, and its output goes through two
 * FIFOs (`<job>.o`, `<job>.e`) into `tee`, which writes it to `<dir>/<job>.out` as well as to the channel. When
 * the connection drops, sshd's pipes close: tee runs with SIGPIPE ignored, so its writes to the channel fail
 * (EPIPE) while it goes on writing the file and keeps the FIFOs drained (the same as `tee -p`, which EL7's
 * coreutils 8.22 does not have: it came in 8.24), so the command
 * neither dies of SIGPIPE half-way (a dpkg run cut short) nor notices; the engine finds the record after
 * reconnecting and waits for or stops the group (src/runbook/jobs.ts). The wrapper waits for both tees as well as
 * for the command, so all of the job's output is written before it ends, which lets a job share the long-lived
 * shell (src/ssh/shell.ts) with the commands after it. The job's name is also the inner shell's $0, so a recycled PID is never
 * mistaken for it. A normal end leaves only `<job>.rc` (the exit code, read after a drop; the engine removes the
 * run's records at its end). Costs five extra short-lived processes (mkfifo, 2x tee, bash, rm), so only apply phases use it.
 */
export function jobScript(command: string, job: string, timeoutMs?: number): string {
  const t = timeoutMs !== undefined && timeoutMs > 0 ? secs(timeoutMs) : '0';
  const j = '"$d"/' + sh(job);
  return [
    JOB_DIR_SHELL,
    `rm -f ${j}.o ${j}.e; mkfifo -m 0600 ${j}.o ${j}.e || exit 97`,
    `{ trap '' PIPE; exec tee -a ${j}.out; } < ${j}.o & o=$!`,
    `{ trap '' PIPE; exec tee -a ${j}.out >&2; } < ${j}.e & e=$!`,
    `timeout -k 2 ${t} bash -c ${sh(command)} ${sh(job)} <&0 > ${j}.o 2> ${j}.e &`,
    `echo $! > ${j}.pid; wait $!; rc=$?; wait $o $e; echo $rc > ${j}.rc; rm -f ${j}.pid ${j}.out ${j}.o ${j}.e; exit $rc`,
  ].join('\n');
}

export function secs(ms: number): string {
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
  const lines = ['set -e', 'umask 077', `trap ${sh(`rm -f -- ${tmp}`)} EXIT`, `rm -f -- ${next}`, `cp -- ${tmp} ${next}`];
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
