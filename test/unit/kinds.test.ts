import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds, type KindContext } from '../../src/runbook/kinds/index.js';
import { FakeHost } from '../helpers/fake-host.js';

function ctx(host: FakeHost, extra: Partial<KindContext> = {}): KindContext {
  return {
    stepId: 't',
    phase: 'check',
    host,
    platform: 'debian12',
    sudo: true,
    timeoutMs: 5000,
    artifactsDir: mkdtempSync(join(tmpdir(), 'plab-art-')),
    log: () => {},
    secrets: {},
    ...extra,
  };
}

describe('file kind', () => {
  it('shows a diff, keeps the original once, writes the content with its mode', async () => {
    const host = new FakeHost();
    host.files.set('/etc/x.conf', { content: Buffer.from('old\n') });
    host.on(/^stat/, { stdout: '644 root root\n' });
    const p = { path: '/etc/x.conf', content: 'new\n', mode: '0640' };
    const before = await kinds.file!.check(p, ctx(host));
    expect(before.ok).toBe(false);
    expect(before.diff).toMatch(/--- \/etc\/x\.conf\.orig\n\+\+\+ \/etc\/x\.conf\n@@ -1,1 \+1,1 @@\n-old\n\+new/);
    await kinds.file!.apply(p, ctx(host), before);
    expect(host.execs().find((c) => c.includes('.orig'))).toMatch(/\[ ! -e \/etc\/x\.conf\.orig \]; then cp -p/);
    expect(host.files.get('/etc/x.conf')).toMatchObject({ mode: 0o640 });
    host.on(/^stat/, { stdout: '640 root root\n' });
    expect((await kinds.file!.check(p, ctx(host))).ok).toBe(true);
  });

  it('reports a wrong mode even when the content matches', async () => {
    const host = new FakeHost();
    host.files.set('/k', { content: Buffer.from('x') });
    host.on(/^stat/, { stdout: '644 root root\n' });
    expect(await kinds.file!.check({ path: '/k', content: 'x', mode: '0600' }, ctx(host))).toEqual({ ok: false, detail: 'mode 644 should be 0600' });
  });
});

describe('package kind', () => {
  it.each([
    ['debian12', /dpkg-query/, /apt-get -y -q .* install --no-install-recommends postfix postfix-pcre/],
    ['el7', /rpm -q --whatprovides/, /^yum -y install postfix postfix-pcre$/m],
  ] as const)('on %s checks with the package database and installs only what is missing', async (platform, check, apply) => {
    const host = new FakeHost().on(/installed/, { stdout: 'postfix installed\npostfix-pcre missing\n' });
    const c = ctx(host, { platform });
    const before = await kinds.package!.check({ names: ['postfix', 'postfix-pcre'] }, c);
    expect(before).toEqual({ ok: false, detail: 'postfix-pcre not installed' });
    expect(host.execs()[0]).toMatch(check);
    await kinds.package!.apply({ names: ['postfix', 'postfix-pcre'] }, c, before);
    expect(host.execs()[2]).toMatch(apply); // after the recovery of an interrupted transaction (a no-op here)
  });

  it.each([
    [
      'debian12',
      'dpkg --configure -a',
      /\/var\/lib\/dpkg\/updates\/\*; if \[ -e "\$1" \] \|\| \[ -n "\$\(dpkg --audit 2>\/dev\/null\)" \]; then .*dpkg --configure -a; fi$/,
      /^DEBIAN_FRONTEND=noninteractive apt-get/,
    ],
    ['el7', 'yum-complete-transaction', /\/var\/lib\/yum\/transaction-all\*; if \[ -e "\$1" \]; then .*yum-complete-transaction -y .*fi$/, /^yum -y install/],
  ] as const)('on %s finishes a transaction cut short first, and says so', async (platform, fix, recovery, install) => {
    const host = new FakeHost().on(/installed/, { stdout: 'plab:interrupted\npostfix installed\n' });
    const c = ctx(host, { platform });
    const before = await kinds.package!.check({ names: ['postfix'] }, c);
    expect(before).toEqual({ ok: false, detail: `the package manager was interrupted earlier (a transaction cut short): recovering with ${fix} first` });
    await kinds.package!.apply({ names: ['postfix'] }, c, before);
    expect(host.execs()[1]).toMatch(recovery);
    expect(host.execs()[2]).toMatch(install);
  });
});

describe('service kind', () => {
  it('enables and starts only what is not, and a restart request is satisfied by an active unit on recheck', async () => {
    const host = new FakeHost().on(/is-enabled/, { stdout: 'enabled=disabled\nactive=inactive\n' });
    const p = { name: 'dovecot', enabled: true, state: 'started' as const };
    const before = await kinds.service!.check(p, ctx(host));
    expect(before).toEqual({ ok: false, detail: 'dovecot: enabled=disabled active=inactive' });
    await kinds.service!.apply(p, ctx(host), before);
    expect(host.execs().slice(-2)).toEqual(['systemctl enable dovecot', 'systemctl start dovecot']);
    host.on(/is-enabled/, { stdout: 'enabled=enabled\nactive=active\n' });
    const r = { name: 'postfix', state: 'restarted' as const };
    expect((await kinds.service!.check(r, ctx(host))).ok).toBe(false);
    expect((await kinds.service!.check(r, ctx(host, { phase: 'recheck' }))).ok).toBe(true);
  });
});

describe('user kind', () => {
  it('creates the user and sets its password through stdin, never on a command line', async () => {
    const host = new FakeHost().on(/getent passwd/, { code: 2 });
    const c = ctx(host, { secrets: { mail_password: 'pw-123456' } });
    const p = { name: 'learner', password_secret: 'mail_password' };
    const before = await kinds.user!.check(p, c);
    expect(before.detail).toBe('user learner does not exist');
    await kinds.user!.apply(p, c, before);
    expect(host.execs().some((x) => x.startsWith('useradd --create-home learner'))).toBe(true);
    const chpasswd = host.calls.find((x) => x.arg === 'chpasswd');
    expect(chpasswd?.opts).toMatchObject({ stdin: 'learner:pw-123456\n' });
    expect(host.execs().join('\n')).not.toContain('pw-123456');
  });
});

describe('command kind', () => {
  it('needs a way to know whether it must run again', () => {
    expect(kinds.command!.lint!({ run: 'x' })).toMatch(/needs "unless", "creates" or "readonly: true"/);
    expect(kinds.command!.lint!({ run: 'x', creates: '/a' })).toBeUndefined();
  });

  it('hands secrets to the command on stdin', async () => {
    const host = new FakeHost();
    await kinds.command!.apply(
      { run: 'doveadm pw -p "$MAIL_PASSWORD"', creates: '/x', secret_env: ['mail_password'] },
      ctx(host, { secrets: { mail_password: 'zz-secret' } }),
      { ok: false },
    );
    expect(host.execs()[0]).not.toContain('zz-secret');
    expect(host.calls[0]!.opts).toMatchObject({ stdin: 'zz-secret\n' });
  });

  it('sets the main.cf files it settles 3 s back after its command, and lists that as nothing a learner types', async () => {
    const p = { run: 'postmulti -e init', unless: 'false', settles: ['/etc/postfix/main.cf', '/etc/postfix-deux/main.cf'] };
    const host = new FakeHost();
    await kinds.command!.apply(p, ctx(host), { ok: false });
    expect(host.execs()).toEqual(["bash -c 'postmulti -e init'", "touch -c -d '3 seconds ago' /etc/postfix/main.cf /etc/postfix-deux/main.cf"]);
    expect(kinds.command!.learner(p, 'debian12').apply).toEqual(["sudo bash -c 'postmulti -e init'"]);
    expect(kinds.command!.lint!({ run: 'postfix check', readonly: true, settles: ['/etc/postfix/main.cf'] })).toMatch(/read-only command changes nothing/);
  });
});

describe('download kind', () => {
  const body = Buffer.from('patch content\n');
  const good = createHash('sha256').update(body).digest('hex');
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/p.patch') res.end(body);
      else {
        res.statusCode = 404;
        res.end('gone');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches, verifies, caches in the artifacts folder and uploads', async () => {
    const host = new FakeHost();
    const c = ctx(host);
    await kinds.download!.apply({ url: `${base}/p.patch`, sha256: good, dest: '/tmp/p.patch' }, c, { ok: false });
    expect(host.text('/tmp/p.patch')).toBe('patch content\n');
    expect(readFileSync(join(c.artifactsDir, 'p.patch'), 'utf8')).toBe('patch content\n');
  });

  it('takes the local artifact first, without touching the network', async () => {
    const host = new FakeHost();
    const c = ctx(host, {
      fetchUrl: async () => {
        throw new Error('no network expected');
      },
    });
    mkdirSync(c.artifactsDir, { recursive: true });
    writeFileSync(join(c.artifactsDir, 'gone.patch'), body);
    await kinds.download!.apply({ url: `${base}/gone.patch`, sha256: good, dest: '/tmp/g' }, c, { ok: false });
    expect(host.text('/tmp/g')).toBe('patch content\n');
  });

  it('never installs an unpinned file: shows the sha256 of the local copy, compares the published md5, says how to pin it', async () => {
    const host = new FakeHost();
    const c = ctx(host, {
      fetchUrl: async () => {
        throw new Error('no network expected');
      },
    });
    mkdirSync(c.artifactsDir, { recursive: true });
    writeFileSync(join(c.artifactsDir, 'gone.patch'), body);
    const md5 = createHash('md5').update(body).digest('hex');
    for (const [given, says] of [
      [md5, /matches the one its publisher gave/],
      ['0'.repeat(32), /NOT the 0{32} its publisher gave: do not trust it/],
    ] as const) {
      const err = await kinds.download!.apply({ url: `${base}/gone.patch`, sha256: 'unpinned', md5: given, dest: '/tmp/u' }, c, { ok: false }).catch((e) => e);
      expect(err.message).toMatch(/gone\.patch is not pinned/);
      expect(err.hint).toContain(`sha256 ${good}`);
      expect(err.hint).toMatch(says);
      expect(err.hint).toContain(`pins:\n    gone.patch: ${good}`);
    }
    expect(host.files.has('/tmp/u')).toBe(false);
  });

  it('cross-checks a pinned file against its published md5: a wrong copy says so, and a pin contradicting the md5 is refused', async () => {
    const host = new FakeHost();
    const c = ctx(host, {
      fetchUrl: async () => {
        throw new Error('no network expected');
      },
    });
    mkdirSync(c.artifactsDir, { recursive: true });
    writeFileSync(join(c.artifactsDir, 'gone.patch'), body);
    const md5 = createHash('md5').update(body).digest('hex');
    await kinds.download!.apply({ url: `${base}/gone.patch`, sha256: good, md5, dest: '/tmp/m' }, c, { ok: false });
    expect(host.text('/tmp/m')).toBe('patch content\n');
    const wrong = await kinds
      .download!.apply({ url: `${base}/gone.patch`, sha256: 'a'.repeat(64), md5: 'b'.repeat(32), dest: '/tmp/w' }, c, { ok: false })
      .catch((e) => e);
    expect(wrong.message).toMatch(/has sha256 [0-9a-f]{64}, expected a{64}/);
    expect(wrong.hint).toContain(`Its md5 is ${md5}, NOT the ${'b'.repeat(32)} its publisher gave`);
    const contradicted = await kinds
      .download!.apply({ url: `${base}/gone.patch`, sha256: good, md5: 'b'.repeat(32), dest: '/tmp/c' }, c, { ok: false })
      .catch((e) => e);
    expect(contradicted.message).toMatch(/matches its pinned sha256 but has md5 [0-9a-f]{32}, not the b{32} its publisher gave/);
    expect(host.files.has('/tmp/w') || host.files.has('/tmp/c')).toBe(false);
  });

  it('fetches an unpinned file into the artifacts folder for inspection, and still refuses it', async () => {
    const host = new FakeHost();
    const c = ctx(host);
    const err = await kinds.download!.apply({ url: `${base}/p.patch`, sha256: 'unpinned', dest: '/tmp/u' }, c, { ok: false }).catch((e) => e);
    expect(err.hint).toMatch(/downloaded from http:\/\/127\.0\.0\.1:\d+\/p\.patch .*has sha256 [0-9a-f]{64}\. No hash of it was ever published/);
    expect(readFileSync(join(c.artifactsDir, 'p.patch'), 'utf8')).toBe('patch content\n');
    expect(host.files.has('/tmp/u')).toBe(false);
  });

  it.each([
    ['a dead URL', 'gone.patch', good, /cannot download gone\.patch from http:\/\/127\.0\.0\.1:\d+\/gone\.patch: HTTP 404/],
    ['a changed file', 'p.patch', 'a'.repeat(64), /downloaded p\.patch .* has sha256 [0-9a-f]{64}, expected a{64}/],
  ])('names the artifact, URL, expected hash and how to provide it for %s', async (_, name, sha, msg) => {
    const c = ctx(new FakeHost());
    const err = await kinds.download!.apply({ url: `${base}/${name}`, sha256: sha, dest: '/tmp/x' }, c, { ok: false }).catch((e) => e);
    expect(err.message).toMatch(msg);
    expect(err.hint).toContain(join(c.artifactsDir, name));
    expect(err.hint).toContain(sha);
    expect(err.hint).toMatch(/resumes at this step/);
  });
});

describe('postconf kind', () => {
  it('checks by reading the instance main.cf (no Postfix process, so no cool-down), applies the set and the remove it lists, then sets that main.cf 3 s back', async () => {
    const host = new FakeHost();
    host.files.set('/etc/postfix-deux/main.cf', { content: Buffer.from('# deux\nmyhostname = old.example\nsmtpd_use_tls = yes\n') });
    const p = { instance: 'postfix-deux', set: { myhostname: 'deux.lab.example' }, remove: ['smtpd_use_tls'] };
    const before = await kinds.postconf!.check(p, ctx(host));
    expect(before).toEqual({ ok: false, detail: 'myhostname = old.example -> deux.lab.example; smtpd_use_tls set, should be removed' });
    expect(host.execs()).toEqual([]);
    host.on(/postconf -e/, () => {
      host.files.set('/etc/postfix-deux/main.cf', { content: Buffer.from('# deux\nmyhostname = deux.lab.example\n') });
      return {};
    });
    await kinds.postconf!.apply(p, ctx(host), before);
    expect(host.execs()).toEqual([
      'postmulti -i postfix-deux -x postconf -e myhostname=deux.lab.example',
      'postmulti -i postfix-deux -x postconf -X smtpd_use_tls',
      "touch -c -d '3 seconds ago' /etc/postfix-deux/main.cf",
    ]);
    expect(await kinds.postconf!.check(p, ctx(host))).toEqual({ ok: true });
  });
});
