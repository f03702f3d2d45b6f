/** Which Debian mirrors lab hosts install from, security updates included. */
import { describe, expect, it } from 'vitest';
import { hostMirrors, securityMirror } from '../../src/drivers/mirrors.js';

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
    expect(hostMirrors({ POSTFIX_LAB_MIRROR: 'http://m.example/debian/', POSTFIX_LAB_SECURITY_MIRROR: 'http://m.example/s/' }))
      .toEqual({ mirror: 'http://m.example/debian', security: 'http://m.example/s' });
  });

  it("reads this host's apt sources: an http(s) mirror for bookworm", () => {
    expect(hostMirrors({}).mirror).toMatch(/^https?:\/\/\S+[^/]$/);
  });
});
