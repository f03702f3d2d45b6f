/** package: packages present or absent, through yum (el7) or apt (debian12). */
import { sh } from '../../host.js';
import type { Platform } from '../../lab/lab-file.js';
import { asker, defineKind } from './types.js';
import { packages } from '../../probes/package.js';
import { perform, type RunCommand } from './commands.js';

export interface PackageParams {
  names: string[];
  state?: 'present' | 'absent';
}

function change(names: string[], state: 'present' | 'absent', platform: Platform): RunCommand {
  const list = names.map(sh).join(' ');
  if (platform === 'el7') return { run: state === 'present' ? `yum -y install ${list}` : `yum -y remove ${list}` };
  const apt = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold';
  return state === 'present'
    ? { run: `${apt} install --no-install-recommends ${list} || { ${apt} update && ${apt} install --no-install-recommends ${list}; }`,
      learner: `sudo apt-get install -y --no-install-recommends ${list}` }
    : { run: `${apt} purge ${list}`, learner: `sudo apt-get purge -y ${list}` };
}

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
  commands: (p, platform) => ({ check: [{ run: packages.command({ names: p.names, platform }), sudo: false }], apply: [change(p.names, p.state ?? 'present', platform)] }),
  async check(p, ctx) {
    const now = await packages(asker(ctx), { names: p.names, platform: ctx.platform });
    const wrong = p.names.filter((n) => now.get(n)?.installed !== ((p.state ?? 'present') === 'present'));
    return wrong.length === 0 ? { ok: true } : { ok: false, detail: `${wrong.join(', ')} ${(p.state ?? 'present') === 'present' ? 'not installed' : 'installed'}` };
  },
  async apply(p, ctx) {
    await perform(ctx, change(p.names, p.state ?? 'present', ctx.platform));
  },
});
