/**
 * The Debian mirrors lab hosts install from: the host's own (deb822 .sources or one-line sources.list entries for
 * bookworm and bookworm-security), else deb.debian.org. POSTFIX_LAB_MIRROR / POSTFIX_LAB_SECURITY_MIRROR override.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SUITE = 'bookworm';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export interface Mirrors { mirror: string; security?: string }

const trim = (u: string) => u.replace(/\/+$/, '');

function sourceEntries(): { uri: string; suites: string[] }[] {
  const dir = '/etc/apt/sources.list.d';
  const files = ['/etc/apt/sources.list', ...(existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [])].filter((f) => /\.(list|sources)$/.test(f));
  const entries: { uri: string; suites: string[] }[] = [];
  for (const f of files) {
    let text: string;
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        if (field('Enabled')[0] === 'no' || !field('Types').includes('deb')) continue;
        for (const uri of field('URIs')) entries.push({ uri, suites: field('Suites') });
      }
    } else {
      for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm)) if (m[1] && m[2]) entries.push({ uri: m[1], suites: [m[2]] });
    }
  }
  return entries.filter((e) => /^https?:\/\//.test(e.uri));
}

export function hostMirrors(env: NodeJS.ProcessEnv = process.env): Mirrors {
  if (env.POSTFIX_LAB_MIRROR) return { mirror: trim(env.POSTFIX_LAB_MIRROR), security: env.POSTFIX_LAB_SECURITY_MIRROR && trim(env.POSTFIX_LAB_SECURITY_MIRROR) };
  const entries = sourceEntries();
  const mirror = entries.find((e) => e.suites.includes(SUITE) && !/security/.test(e.uri))?.uri;
  const security = entries.find((e) => e.suites.includes(`${SUITE}-security`))?.uri;
  return { mirror: trim(mirror ?? DEFAULT_MIRROR), security: security ? trim(security) : mirror ? undefined : `${DEFAULT_MIRROR}-security` };
}

/**
 * Debian's security updates for a mirror: the host's own security archive when the lab uses the host's mirror,
 * else the neighbour in Debian's layout (.../debian next to .../debian-security, as deb.debian.org has). Other
 * mirrors: none (most country mirrors do not carry debian-security).
 */
export function securityMirror(mirror: string, host: Mirrors = hostMirrors()): string | undefined {
  const m = trim(mirror);
  if (m === host.mirror && host.security) return host.security;
  return /\/debian$/.test(m) ? `${m}-security` : undefined;
}
