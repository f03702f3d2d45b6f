/** package: packages present or absent, through yum (el7) or apt (debian12). */
import { sh } from '../../host.js';
import type { Platform } from '../../lab/lab-file.js';
import { packages } from '../../probes/package.js';
import { perform, type RunCommand } from './commands.js';
import { defineKind, run } from './types.js';

export interface PackageParams {
  names: string[];
  state?: 'present' | 'absent';
}

/**
 * The package manager's own record of a transaction cut short (apt or dpkg killed mid-install, e.g. by a lost
 * connection before jobs kept commands alive, or a reboot): dpkg's journal in /var/lib/dpkg/updates, yum's
 * unfinished transaction files. A shell glob, no extra process.
 */
const INTERRUPTED: Record<Platform, { glob: string; fix: string; recover: string; also?: string }> = {
  debian12: {
    glob: '/var/lib/dpkg/updates/*',
    fix: 'dpkg --configure -a',
    recover: 'dpkg --configure -a',
    also: '[ -n "$(dpkg --audit 2>/dev/null)" ]',
  },
  el7: {
    glob: '/var/lib/yum/transaction-all*',
    fix: 'yum-complete-transaction',
    recover:
      'if command -v yum-complete-transaction >/dev/null; then yum-complete-transaction -y || yum-complete-transaction -y --cleanup-only; ' +
      'else echo "postfix-lab: yum-complete-transaction (yum-utils) is missing: yum goes on without it" >&2; fi',
  },
};
export const INTERRUPTED_MARK = 'plab:interrupted';

/** Prints INTERRUPTED_MARK when a transaction was cut short (run before the query; not shown in lessons). */
function interruptedProbe(platform: Platform, names: string[]): string {
  const probe = `set -- ${INTERRUPTED[platform].glob}; [ -e "$1" ] && echo ${INTERRUPTED_MARK}; `;
  if (platform === 'el7') return probe;
  // A package of this step left unpacked or half-configured by a dpkg run that did not finish.
  return (
    probe +
    `dpkg-query -W -f='\${Status}\\n' ${names.map(sh).join(' ')} 2>/dev/null | grep -qE ' (unpacked|half-configured|half-installed|triggers-awaited|triggers-pending)$' && echo ${INTERRUPTED_MARK}; `
  );
}

/**
 * Finish an interrupted transaction first (what the manager itself asks for), saying so in the step log. Nothing a
 * learner types: on a lab of their own the package manager tells them itself.
 */
function recover(platform: Platform): RunCommand {
  const i = INTERRUPTED[platform];
  return {
    run: `set -- ${i.glob}; if [ -e "$1" ]${i.also ? ` || ${i.also}` : ''}; then echo "postfix-lab: the package manager was interrupted earlier: ${i.fix}"; ${i.recover}; fi`,
    learner: '',
  };
}

function change(names: string[], state: 'present' | 'absent', platform: Platform): RunCommand {
  const list = names.map(sh).join(' ');
  if (platform === 'el7') return { run: state === 'present' ? `yum -y install ${list}` : `yum -y remove ${list}` };
  // Lock::Timeout: wait for another apt/dpkg (unattended-upgrades, a command of an earlier run) instead of failing.
  const apt = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=120';
  return state === 'present'
    ? {
        run: `${apt} install --no-install-recommends ${list} || { ${apt} update && ${apt} install --no-install-recommends ${list}; }`,
        // as the lab runs it: no question from debconf, and the package index fetched only when it is missing
        learner: `sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${list} || { sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${list}; }`,
      }
    : { run: `${apt} purge ${list}`, learner: `sudo apt-get purge -y ${list}` };
}

const query = (p: PackageParams, platform: Platform): RunCommand => ({
  run: interruptedProbe(platform, p.names) + packages.command({ names: p.names, platform }),
  sudo: false,
  learner: packages.command({ names: p.names, platform }),
});

export const pkg = defineKind<PackageParams>({
  name: 'package',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['names'],
    properties: {
      names: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9.+_-]*$' } },
      state: { enum: ['present', 'absent'] },
    },
  },
  commands: (p, platform) => ({ check: [query(p, platform)], apply: [recover(platform), change(p.names, p.state ?? 'present', platform)] }),
  async check(p, ctx) {
    const res = await run(ctx, query(p, ctx.platform).run, { sudo: false });
    const lines = res.stdout.split('\n');
    const now = packages.parse({ ...res, stdout: lines.filter((l) => l !== INTERRUPTED_MARK).join('\n') }, { names: p.names, platform: ctx.platform });
    const wrong = p.names.filter((n) => now.get(n)?.installed !== ((p.state ?? 'present') === 'present'));
    const interrupted = lines.includes(INTERRUPTED_MARK) // (once, though both probes may have printed it)
      ? `the package manager was interrupted earlier (a transaction cut short): recovering with ${INTERRUPTED[ctx.platform].fix} first`
      : '';
    const differs = wrong.length ? `${wrong.join(', ')} ${(p.state ?? 'present') === 'present' ? 'not installed' : 'installed'}` : '';
    return !differs && !interrupted ? { ok: true } : { ok: false, detail: [differs, interrupted].filter(Boolean).join('; ') };
  },
  async apply(p, ctx) {
    await perform(ctx, recover(ctx.platform));
    await perform(ctx, change(p.names, p.state ?? 'present', ctx.platform));
  },
});
