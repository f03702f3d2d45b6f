/** Which Debian mirrors lab hosts install from, security updates included. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostMirrors, readAptSources, securityMirror, type AptSourceFile } from '../../src/drivers/mirrors.js';

describe('mirrors', () => {
  const host = { mirror: 'http://mirror.lan/debian', security: 'http://mirror.lan/sec' };

  it("takes the host's own security archive when the lab uses the host's mirror", () => {
    expect(securityMirror('http://mirror.lan/debian/', host)).toBe('http://mirror.lan/sec');
  });

  it("else adds the security archive next to a mirror in Debian's layout, and none to other mirrors", () => {
    expect(securityMirror('http://deb.debian.org/debian/', host)).toBe('http://deb.debian.org/debian-security');
    expect(securityMirror('https://ftp.example.org/debian', host)).toBe('https://ftp.example.org/debian-security');
    expect(securityMirror('http://mirror.example/pub/deb', host)).toBeUndefined();
  });

  it('lets the environment choose both mirrors', () => {
    expect(hostMirrors({ POSTFIX_LAB_MIRROR: 'http://m.example/debian/', POSTFIX_LAB_SECURITY_MIRROR: 'http://m.example/s/' })).toEqual({
      mirror: 'http://m.example/debian',
      security: 'http://m.example/s',
    });
  });

  const DEB822 = [
    'Types: deb deb-src',
    'URIs: http://mirror.lan/debian/',
    'Suites: bookworm bookworm-updates',
    'Components: main',
    '',
    'Types: deb',
    'URIs: http://mirror.lan/debian-security/',
    'Suites: bookworm-security',
    'Components: main',
    '',
  ].join('\n');
  const sources =
    (...files: AptSourceFile[]) =>
    () =>
      files;

  it("takes the bookworm mirror and its security archive from the host's deb822 .sources", () => {
    expect(hostMirrors({}, sources({ path: '/etc/apt/sources.list.d/debian.sources', text: DEB822 }))).toEqual({
      mirror: 'http://mirror.lan/debian',
      security: 'http://mirror.lan/debian-security',
    });
  });

  it('reads one-line entries with options, and skips disabled stanzas, deb-src, other suites and non-http URIs', () => {
    const got = hostMirrors(
      {},
      sources(
        { path: '/etc/apt/sources.list.d/off.sources', text: 'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n' },
        {
          path: '/etc/apt/sources.list',
          text: [
            'deb cdrom:[Debian 12]/ bookworm main',
            'deb-src http://src.example/debian bookworm main',
            'deb http://old.example/debian bullseye main',
            '# deb http://commented.example/debian bookworm main',
            'deb [arch=amd64 signed-by=/k.gpg] https://ftp.example.org/debian/ bookworm main',
          ].join('\n'),
        },
      ),
    );
    expect(got).toEqual({ mirror: 'https://ftp.example.org/debian', security: undefined });
  });

  it('falls back to deb.debian.org and its security archive when no source names bookworm', () => {
    expect(hostMirrors({}, sources({ path: '/etc/apt/sources.list', text: 'deb http://old.example/debian bullseye main\n' }))).toEqual({
      mirror: 'http://deb.debian.org/debian',
      security: 'http://deb.debian.org/debian-security',
    });
  });

  it("reads a host's apt sources from sources.list and sources.list.d/*.list|*.sources, nothing else", () => {
    const root = mkdtempSync(join(tmpdir(), 'aln-apt-'));
    try {
      mkdirSync(join(root, 'sources.list.d'));
      writeFileSync(join(root, 'sources.list.d', 'debian.sources'), DEB822);
      writeFileSync(join(root, 'sources.list.d', 'extra.list'), 'deb http://extra.example/debian bookworm main\n');
      writeFileSync(join(root, 'sources.list.d', 'old.list.disabled'), 'deb http://disabled.example/debian bookworm main\n');
      expect(readAptSources(root).map((f) => f.path)).toEqual([join(root, 'sources.list.d', 'debian.sources'), join(root, 'sources.list.d', 'extra.list')]);
      expect(hostMirrors({}, () => readAptSources(root))).toEqual({ mirror: 'http://mirror.lan/debian', security: 'http://mirror.lan/debian-security' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
