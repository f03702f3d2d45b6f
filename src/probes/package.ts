/** Which packages are installed, and their versions: rpm on el7 (by what provides the name), dpkg on debian12. */
import { sh } from '../host.js';
import type { Platform } from '../lab/lab-file.js';
import { defineProbe } from './probe.js';

export interface PackageArgs {
  names: string[];
  platform: Platform;
}
export interface PackageState {
  installed: boolean;
  version?: string;
}

/** One line per package: "NAME installed VERSION" or "NAME missing". */
function command({ names, platform }: PackageArgs): string {
  const list = names.map(sh).join(' ');
  return platform === 'el7'
    ? `for p in ${list}; do if v=$(rpm -q --whatprovides --qf '%{VERSION}-%{RELEASE}\\n' "$p" 2>/dev/null); then echo "$p installed $(echo "$v" | head -n 1)"; else echo "$p missing"; fi; done`
    : `for p in ${list}; do s=$(dpkg-query -W -f='\${Status} \${Version}' "$p" 2>/dev/null); case "$s" in "install ok installed "*) echo "$p installed \${s##* }";; *) echo "$p missing";; esac; done`;
}

export const packages = defineProbe<PackageArgs, Map<string, PackageState>>({
  sudo: false,
  command,
  parse(r, { names }) {
    const seen = new Map<string, PackageState>();
    for (const l of r.stdout.split('\n')) {
      const [name, st, version] = l.trim().split(' ');
      if (name && st) seen.set(name, st === 'installed' ? { installed: true, version: version ?? '' } : { installed: false });
    }
    // A name the loop did not answer for (the command failed) counts as not installed.
    return new Map(names.map((n) => [n, seen.get(n) ?? { installed: false }]));
  },
});
