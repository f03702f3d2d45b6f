/**
 * The el7 test sources (Postfix 2.10.1, the EL7 SRPM's spec and patches, a VDA v13 refresh) and an unprivileged
 * build user with scratch homes, for running the el7 section-1 steps with Debian's rpm tools.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../../src/schemas.js';

export const TARBALL = 'postfix-2.10.1.tar.gz';
export const EL7_DIR = 'el7-postfix-2.10.1-7';
/** PLD Linux's refresh of VDA v13: the original postfix-vda-v13-2.10.0.patch (pinned by the runbook) is not available. */
export const VDA_STANDIN = 'postfix-vda-v13-refresh-pld.patch';

/** Where the sources are: $POSTFIX_LAB_EL7_SOURCES when set, else ../shared/fixtures/el7-sources or artifacts/el7-sources. */
export function findSources(): { dir?: string; missing: string } {
  const candidates = process.env.POSTFIX_LAB_EL7_SOURCES
    ? [process.env.POSTFIX_LAB_EL7_SOURCES]
    : [join(repoRoot, '..', 'shared', 'fixtures', 'el7-sources'), join(repoRoot, 'artifacts', 'el7-sources')];
  const dir = candidates.find((c) => [TARBALL, VDA_STANDIN, join(EL7_DIR, 'postfix.spec')].every((f) => existsSync(join(c, f))));
  const missing =
    `the el7 sources (${TARBALL}, ${VDA_STANDIN}, ${EL7_DIR}/ with the EL7 2.10.1-7 spec and patches) are not in ` +
    `${candidates.join(' or ')}: put them in artifacts/el7-sources/ or set POSTFIX_LAB_EL7_SOURCES`;
  return { dir, missing };
}

/** Root runs the suites (CI); the rpm tools and the build run as this unprivileged system user. */
export const BUILD_USER = 'plabbuild';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why the suites cannot run on this machine, or undefined when they can. */
export function cannotRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (to create the build user and run steps as it)';
  for (const tool of ['rpm', 'rpmbuild', 'rpmspec', 'gcc', 'make', 'patch', 'setarch', 'strings', 'runuser']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is missing: sh scripts/system-deps.sh test installs it`;
  }
  if (!existsSync('/usr/include/db.h')) return 'libdb-dev is missing (Postfix 2.10.1 needs db.h): sh scripts/system-deps.sh test installs it';
  return undefined;
}

/** Create the build user once (idempotent): a system account with no password and no home of its own. */
export function ensureBuildUser(): void {
  if (spawnSync('id', ['-u', BUILD_USER]).status === 0) return;
  const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/bin/bash', BUILD_USER], {
    encoding: 'utf8',
  });
  if (r.status !== 0 && spawnSync('id', ['-u', BUILD_USER]).status !== 0) throw new Error(`useradd ${BUILD_USER} failed: ${r.stderr}`);
}

export function buildIds(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', BUILD_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', BUILD_USER], { encoding: 'utf8' }).stdout.trim());
  return { uid, gid };
}

/** A fresh home for the build user (removed by the caller). */
export function scratchHome(prefix = 'plab-el7-'): string {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const { uid, gid } = buildIds();
  chownSync(home, uid, gid);
  chmodSync(home, 0o755);
  return home;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
}

/** Run a shell command as the build user with HOME=home (what sudo -H -u does on the lab host), in a clean environment. */
export function asBuildUser(home: string, cmd: string, opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Ran {
  const env = Object.entries({ HOME: home, PATH: opts.env?.PATH ?? PATH, LC_ALL: 'C', USER: BUILD_USER, ...opts.env }).map(([k, v]) => `${k}=${v}`);
  const r = spawnSync('runuser', ['-u', BUILD_USER, '--', 'env', '-i', ...env, 'bash', '-c', cmd], {
    cwd: home,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
  });
  const code = r.status ?? 1;
  return { code, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}` };
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A key for build outputs: the hashes of every source file and of the recipe (flags, stand-in patches). */
export function sourcesKey(dir: string, recipe: string): string {
  const files = [
    TARBALL,
    VDA_STANDIN,
    ...readdirSync(join(dir, EL7_DIR))
      .sort()
      .map((f) => join(EL7_DIR, f)),
  ];
  const lines = files.map((f) => `${sha256(readFileSync(join(dir, f)))}  ${f}`);
  return sha256([...lines, sha256(recipe)].join('\n')).slice(0, 24);
}
