/**
 * The Debian mirrors lab hosts install from: the host's own (deb822 .sources or one-line sources.list entries for
 * bookworm and bookworm-security), else deb.debian.org. POSTFIX_LAB_MIRROR / POSTFIX_LAB_SECURITY_MIRROR override.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SUITE = 'bookworm';
const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

export interface Mirrors {
  mirror: string;
  security?: string;
}

const trim = (u: string) => u.replace(/\/+$/, '');

/** One apt source file: its path (.list or .sources decides the format) and its text. */
export interface AptSourceFile {
  path: string;
  text: string;
}

/** This host's apt source files: /etc/apt/sources.list and /etc/apt/sources.list.d/*.{list,sources}. */
export function readAptSources(root = '/etc/apt'): AptSourceFile[] {
  const dir = join(root, 'sources.list.d');
  const paths = [
    join(root, 'sources.list'),
    ...(existsSync(dir)
      ? readdirSync(dir)
          .sort()
          .map((f) => join(dir, f))
      : []),
  ].filter((f) => /\.(list|sources)$/.test(f));
  const files: AptSourceFile[] = [];
  for (const path of paths) {
    try {
      files.push({ path, text: readFileSync(path, 'utf8') });
    } catch {
      /* unreadable or gone: not a source */
    }
  }
  return files;
}

function sourceEntries(files: AptSourceFile[]): { uri: string; suites: string[] }[] {
  const entries: { uri: string; suites: string[] }[] = [];
  for (const { path, text } of files) {
    if (path.endsWith('.sources')) {
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

export function hostMirrors(env: NodeJS.ProcessEnv = process.env, sources: () => AptSourceFile[] = readAptSources): Mirrors {
  if (env.POSTFIX_LAB_MIRROR)
    return { mirror: trim(env.POSTFIX_LAB_MIRROR), security: env.POSTFIX_LAB_SECURITY_MIRROR && trim(env.POSTFIX_LAB_SECURITY_MIRROR) };
  const entries = sourceEntries(sources());
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
