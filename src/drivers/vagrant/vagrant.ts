/** `vagrant` commands for one lab: its own dotfile folder and settings file, output parsed from machine-readable lines. */
import { existsSync } from 'node:fs';
import { LabError } from '../../errors.js';
import type { LabRunState } from '../types.js';
import { waitForSsh as sshd } from '../local/ssh-wait.js';
import { probe, run, why, type LocalOptions } from '../local/commands.js';
import { vagrantEnv, type VagrantPaths } from './settings.js';

export interface VagrantCtx {
  paths: VagrantPaths;
  progress(message: string): void;
  signal?: AbortSignal;
}

const HINT = "The lines above are Vagrant's. `npm run lab:status` shows the lab; `npm run lab:down` removes it so that `npm run lab:up` starts afresh.";

/** Progress lines worth showing from `vagrant up/halt/destroy/snapshot`: Vagrant's own "==> default: ..." lines. */
function progressLine(ctx: VagrantCtx): (line: string) => void {
  return (line) => {
    const m = /^==> default: (.*)$/.exec(line.trim()) ?? /^\s*default: (.*)$/.exec(line);
    const msg = m?.[1]?.trim();
    if (msg && !msg.startsWith('-- ')) ctx.progress(msg);
  };
}

export async function vagrant(ctx: VagrantCtx, args: string[], o: Pick<LocalOptions, 'hint'> & { quiet?: boolean } = {}): Promise<string> {
  return run(['vagrant', ...args], {
    env: vagrantEnv(ctx.paths),
    signal: ctx.signal,
    onLine: o.quiet ? undefined : progressLine(ctx),
    hint: o.hint ?? HINT,
  });
}

/** machine-readable lines: timestamp,target,type,data... (commas in data escaped as %!(VAGRANT_COMMA)). */
export function machineReadable(out: string): { target: string; type: string; data: string[] }[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, target = '', type = '', ...data] = l.split(',');
      return { target, type, data: data.map((d) => d.replace(/%!\(VAGRANT_COMMA\)/g, ',').replace(/\\n/g, '\n')) };
    });
}

/** Vagrant's state name for the lab's machine ("running", "shutoff", "poweroff", "not_created", ...). */
export async function machineState(ctx: VagrantCtx): Promise<string> {
  if (!existsSync(ctx.paths.dotfile)) return 'not_created';
  const r = await probe(['vagrant', 'status', '--machine-readable'], { env: vagrantEnv(ctx.paths), signal: ctx.signal });
  if (r.code !== 0) throw new LabError(`\`vagrant status\` failed (exit ${r.code}):\n${why(r)}`, HINT);
  return machineReadable(r.stdout).find((l) => l.type === 'state')?.data[0] ?? 'unknown';
}

/** Vagrant's machine states as the lab's run states. */
export function runState(vagrantState: string): LabRunState {
  if (vagrantState === 'running') return 'running';
  if (vagrantState === 'not_created') return 'absent';
  if (['shutoff', 'poweroff', 'saved', 'aborted', 'paused', 'shutdown', 'crashed', 'stopped'].includes(vagrantState)) return 'stopped';
  return 'unknown';
}

export interface SshConfig {
  host: string;
  port: number;
  user: string;
  identityFile: string;
}

/** Parse `vagrant ssh-config` (OpenSSH client config syntax). */
export function parseSshConfig(out: string): SshConfig | undefined {
  const get = (key: string) => new RegExp(`^\\s*${key}\\s+"?([^"\\n]+?)"?\\s*$`, 'mi').exec(out)?.[1];
  const host = get('HostName');
  const port = Number(get('Port'));
  const user = get('User');
  const identityFile = get('IdentityFile');
  if (!host || !user || !identityFile || !Number.isInteger(port)) return undefined;
  return { host, port, user, identityFile };
}

export async function sshConfig(ctx: VagrantCtx): Promise<SshConfig> {
  const out = await vagrant(ctx, ['ssh-config'], { quiet: true });
  const c = parseSshConfig(out);
  if (!c) throw new LabError(`\`vagrant ssh-config\` gave no HostName/Port/User/IdentityFile:\n${out.trim()}`, HINT);
  return c;
}

/**
 * Wait until SSH answers. Right after a snapshot restore the guest's address may not answer yet ("No route to host")
 * or answer for a moment before sshd is up: retry only that, for a bounded time.
 */
export async function waitForSsh(c: Pick<SshConfig, 'host' | 'port'>, timeoutMs = 120_000, signal?: AbortSignal): Promise<string> {
  const r = await sshd(c.host, c.port, { timeoutMs, intervalMs: 500, maxIntervalMs: 4000, bannerTimeoutMs: 3000, signal });
  if (r.ok) return r.value;
  throw new LabError(
    `the lab host's SSH (${c.host}:${c.port}) did not answer within ${Math.round(timeoutMs / 1000)} s`,
    'The VM runs but sshd does not answer: look at it with `vagrant ssh` (VAGRANT_CWD=vagrant, VAGRANT_DOTFILE_PATH=.lab/NAME/driver/vagrant), or `npm run lab:down` and `npm run lab:up`.',
  );
}

/** The snapshot names in `vagrant snapshot list --machine-readable` output, sorted: libvirt lists them in no fixed order. */
export function snapshotNames(stdout: string): string[] {
  // Names come as "ui,detail,NAME" lines; messages ("==> default: No snapshots ...") as "ui,output,...".
  return machineReadable(stdout)
    .filter((l) => l.type === 'ui' && (l.data[0] === 'detail' || l.data[0] === 'output'))
    .map((l) => (l.data[1] ?? '').trim())
    .filter((n) => n && !n.startsWith('==>') && !/^No snapshots/i.test(n))
    .sort();
}

/** Snapshot names from `vagrant snapshot list`, sorted: libvirt lists them in no fixed order. */
export async function listSnapshots(ctx: VagrantCtx): Promise<string[]> {
  if (!existsSync(ctx.paths.dotfile)) return [];
  const r = await probe(['vagrant', 'snapshot', 'list', '--machine-readable'], { env: vagrantEnv(ctx.paths), signal: ctx.signal });
  if (r.code !== 0) throw new LabError(`\`vagrant snapshot list\` failed (exit ${r.code}):\n${why(r)}`, HINT);
  return snapshotNames(r.stdout);
}
