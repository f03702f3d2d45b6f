/**
 * A kind's one list of commands: what --dry-run shows and what a learner types are rendered from the list, and the
 * check and apply run exactly its entries (recorded on a fake host), per kind, so they cannot drift apart.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/runbook/kinds/commands.js';
import { type KindContext, kinds, type StepKind } from '../../src/runbook/kinds/index.js';
import type { Platform } from '../../src/lab/lab-file.js';
import { FakeHost } from '../helpers/fake-host.js';

function ctx(host: FakeHost, platform: Platform, extra: Partial<KindContext> = {}): KindContext {
  return {
    stepId: 't',
    phase: 'check',
    host,
    platform,
    sudo: true,
    timeoutMs: 5000,
    artifactsDir: mkdtempSync(join(tmpdir(), 'plab-art-')),
    log: () => {},
    secrets: { mail_password: 'pw-secret-1', token: 'tok-secret-2' },
    ...extra,
  };
}

/** How the fake host records an operation, and how a listed command would be recorded. */
const recorded = (host: FakeHost, from = 0) =>
  host.calls.slice(from).map((c) => {
    const sudo = (c.opts as { sudo?: boolean } | undefined)?.sudo;
    return c.op === 'exec' ? `exec${sudo ? ' (sudo)' : ''} ${c.arg}` : `${c.op === 'get' ? 'read' : 'put'} ${c.arg}`;
  });
const listed = (c: Command) => ('run' in c ? `exec${c.sudo === false ? '' : ' (sudo)'} ${c.run}` : 'read' in c ? `read ${c.read}` : `put ${c.put}`);

/** Runs check then apply; returns what each phase did, next to what the kind's list says. */
// biome-ignore lint/suspicious/noExplicitAny: drives every kind of the registry
async function drive(kind: StepKind<any>, p: object, host: FakeHost, platform: Platform = 'debian12', extra: Partial<KindContext> = {}) {
  const c = ctx(host, platform, extra);
  const before = await kind.check(p, c);
  const checked = recorded(host);
  const n = host.calls.length;
  if (!before.ok) await kind.apply(p, c, before);
  const list = kind.commands(p, platform);
  const check = list.check.map(listed);
  // apply may read again what the check read (the file it edits, the unit's state): those are check entries
  const applied = recorded(host, n).filter((op) => !check.includes(op));
  return { before, checked, applied, check, apply: list.apply.map(listed), described: kind.describe(p, platform) };
}

describe.each([
  [
    'service: enable and start',
    'service',
    { name: 'dovecot', enabled: true, state: 'started' },
    () => new FakeHost().on(/is-enabled/, { stdout: 'enabled=disabled\nactive=inactive\n' }),
  ],
  [
    'service: disable and stop',
    'service',
    { name: 'exim4', enabled: false, state: 'stopped' },
    () => new FakeHost().on(/is-enabled/, { stdout: 'enabled=enabled\nactive=active\n' }),
  ],
  [
    'service: restart',
    'service',
    { name: 'postfix', state: 'restarted' },
    () => new FakeHost().on(/is-enabled/, { stdout: 'enabled=enabled\nactive=active\n' }),
  ],
  [
    'package: install on debian12',
    'package',
    { names: ['postfix', 'mailutils'] },
    () => new FakeHost().on(/dpkg-query/, { stdout: 'postfix missing\nmailutils missing\n' }),
  ],
  [
    'package: remove on debian12',
    'package',
    { names: ['exim4'], state: 'absent' },
    () => new FakeHost().on(/dpkg-query/, { stdout: 'exim4 installed 4.96\n' }),
  ],
  [
    'postconf: set and remove in an instance',
    'postconf',
    { instance: 'postfix-deux', set: { myhostname: 'deux.lab.example' }, remove: ['relayhost'] },
    () => new FakeHost().on(/postconf -n/, { stdout: 'myhostname = other\nrelayhost = [x]\n' }),
  ],
  [
    'command: postmulti, then its main.cf set back',
    'command',
    { run: 'postmulti -e init', unless: 'false', settles: ['/etc/postfix/main.cf'] },
    () => new FakeHost().on(/false/, { code: 1 }),
  ],
  [
    'file: right content, wrong mode',
    'file',
    { path: '/etc/x.conf', content: 'a\n', mode: '0640', owner: 'root' },
    () => {
      const h = new FakeHost().on(/^stat/, { stdout: '644 root root\n' });
      h.files.set('/etc/x.conf', { content: Buffer.from('a\n') });
      return h;
    },
  ],
  [
    'line: a line to add',
    'line',
    { path: '/etc/logrotate.conf', line: 'nodateext', regexp: '^#?\\s*(no)?dateext' },
    () => {
      const h = new FakeHost();
      h.files.set('/etc/logrotate.conf', { content: Buffer.from('weekly\ndateext\n') });
      return h;
    },
  ],
  [
    'master: a service to add',
    'master',
    { services: [{ service: 'submission', type: 'inet', command: 'smtpd', args: ['-o syslog_name=postfix/submission'] }] },
    () => {
      const h = new FakeHost();
      h.files.set('/etc/postfix/master.cf', { content: Buffer.from('smtp inet n - y - - smtpd\n') });
      return h;
    },
  ],
  [
    'command: unless, with a secret on stdin',
    'command',
    { run: 'make-db', unless: 'test -s /db', secret_env: ['token'] },
    () => new FakeHost().on(/test -s/, { code: 1 }),
  ],
  ['command: read-only', 'command', { run: 'postfix check', readonly: true }, () => new FakeHost()],
  ['user: a new user with a password', 'user', { name: 'learner', password_secret: 'mail_password' }, () => new FakeHost().on(/getent passwd/, { code: 2 })],
] as const)('%s', (_, name, p, host) => {
  it('runs exactly the listed commands, the ones --dry-run shows', async () => {
    const r = await drive(kinds[name]!, p, host());
    // a check may stop at its first difference (no password to compare for a user that does not exist yet)
    expect(r.checked.length).toBeGreaterThan(0);
    expect(r.checked).toEqual(r.check.slice(0, r.checked.length));
    expect(r.applied).toEqual(r.before.ok ? [] : r.apply);
    expect(r.described.check.length).toBe(r.check.length);
    expect(r.described.apply.length).toBe(r.apply.length);
  });
});

describe('what a learner types', () => {
  const learner = (name: string, p: object, platform: Platform = 'debian12') => kinds[name]!.learner(p as never, platform);

  it('service: disable and stop show, as sudo systemctl lines (no longer missing from the description)', () => {
    expect(learner('service', { name: 'exim4', enabled: false, state: 'stopped' }).apply).toEqual([
      'sudo systemctl disable exim4',
      'sudo systemctl stop exim4',
    ]);
    expect(kinds.service!.describe({ name: 'exim4', enabled: false, state: 'stopped' } as never, 'debian12').apply).toEqual([
      'systemctl disable exim4',
      'systemctl stop exim4',
    ]);
  });

  it('package: the apt-get / yum line per platform, with the index fetched only when missing and no debconf question', () => {
    const install = 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix';
    expect(learner('package', { names: ['postfix'] }).apply).toEqual([`${install} || { sudo apt-get update && ${install}; }`]);
    expect(learner('package', { names: ['postfix'] }, 'el7').apply).toEqual(['sudo yum -y install postfix']);
  });

  it('postconf: sudo postconf -e, quoted as typed', () => {
    expect(learner('postconf', { set: { smtpd_banner: '$myhostname ESMTP' } }).apply).toEqual(["sudo postconf -e 'smtpd_banner=$myhostname ESMTP'"]);
  });

  it('file: a here-document with the whole content, then its mode and owner', () => {
    const l = learner('file', { path: '/etc/a.conf', content: 'x = 1\nEOF\n', mode: '0600', owner: 'root', group: 'mail', backup: false });
    expect(l.apply).toEqual([
      "sudo tee /etc/a.conf >/dev/null <<'EOF_'",
      'x = 1',
      'EOF',
      'EOF_',
      'sudo chmod 0600 /etc/a.conf',
      'sudo chown root:mail /etc/a.conf',
    ]);
    expect(l.check).toEqual(['sudo cat /etc/a.conf', "sudo stat -c '%a %U %G' /etc/a.conf"]);
  });

  it('user: never a secret, an interactive passwd instead of chpasswd', () => {
    const l = learner('user', { name: 'learner', password_secret: 'mail_password' });
    expect(l.apply).toEqual([
      'sudo useradd --create-home learner',
      "sudo passwd learner  # type the lab's mail_password (from .lab/<lab>/credentials.json) twice",
    ]);
    expect(JSON.stringify(kinds.user!.describe({ name: 'learner', password_secret: 'mail_password' } as never, 'debian12'))).not.toContain('pw-secret');
  });
});

describe('download: the listed check, then one upload', () => {
  it('checks with sha256sum and uploads the verified file to dest', async () => {
    const data = Buffer.from('artifact');
    const p = { url: 'http://127.0.0.1:9/x.tar.gz', sha256: createHash('sha256').update(data).digest('hex'), dest: '/root/x.tar.gz' };
    const r = await drive(kinds.download!, p, new FakeHost().on(/sha256sum/, { code: 1 }), 'el7', { fetchUrl: async () => data });
    expect(r.checked).toEqual(r.check);
    expect(r.applied).toEqual(r.apply);
    expect(r.apply).toEqual(['put /root/x.tar.gz']);
  });
});
