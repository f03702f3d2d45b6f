/** package: packages present or absent, through yum (el7) or apt (debian12). */
import { sh } from '../../host.js';
import type { Platform } from '../../lab/lab-file.js';
import { defineKind, run } from './types.js';

export interface PackageParams {
  names: string[];
  state?: 'present' | 'absent';
}

function query(names: string[], platform: Platform): string {
  const list = names.map(sh).join(' ');
  // One line per package: "name installed" or "name missing".
  return platform === 'el7'
    ? `for p in ${list}; do if rpm -q --whatprovides "$p" >/dev/null 2>&1; then echo "$p installed"; else echo "$p missing"; fi; done`
    : `for p in ${list}; do if [ "$(dpkg-query -W -f='\${Status}' "$p" 2>/dev/null)" = "install ok installed" ]; then echo "$p installed"; else echo "$p missing"; fi; done`;
}

function change(names: string[], state: 'present' | 'absent', platform: Platform): string {
  const list = names.map(sh).join(' ');
  if (platform === 'el7') return state === 'present' ? `yum -y install ${list}` : `yum -y remove ${list}`;
  const apt = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold';
  return state === 'present'
    ? `${apt} install --no-install-recommends ${list} || { ${apt} update && ${apt} install --no-install-recommends ${list}; }`
    : `${apt} purge ${list}`;
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
  describe(p, platform) {
    return { check: [query(p.names, platform)], apply: [change(p.names, p.state ?? 'present', platform)] };
  },
  async check(p, ctx) {
    const res = await run(ctx, query(p.names, ctx.platform), { sudo: false });
    const wrong = res.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string])
      .filter(([, st]) => (p.state ?? 'present') === 'present' ? st !== 'installed' : st === 'installed')
      .map(([n]) => n);
    return wrong.length === 0 ? { ok: true } : { ok: false, detail: `${wrong.join(', ')} ${(p.state ?? 'present') === 'present' ? 'not installed' : 'installed'}` };
  },
  async apply(p, ctx) {
    await run(ctx, change(p.names, p.state ?? 'present', ctx.platform));
  },
});
