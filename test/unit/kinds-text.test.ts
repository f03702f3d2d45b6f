import { describe, expect, it } from 'vitest';
import { editLines } from '../../src/runbook/kinds/line.js';
import { editMaster, parseMaster } from '../../src/runbook/kinds/master.js';
import { differences, mainCfPath, parseMainCf, parseSettings } from '../../src/runbook/kinds/postconf.js';

describe('line edits', () => {
  it.each([
    ['replaces the matching line in place', 'a\ndateext\nb\n', { line: 'nodateext', regexp: '^#?\\s*(no)?dateext' }, 'a\nnodateext\nb\n'],
    ['keeps exactly one when the pattern matches twice', 'dateext\nx\ndateext\n', { line: 'nodateext', regexp: '^(no)?dateext$' }, 'nodateext\nx\n'],
    ['adds the line at the end when nothing matches', 'a\n', { line: 'b', regexp: '^b' }, 'a\nb\n'],
    ['adds after the last line matching insertafter', 'x\n[a]\ny\n', { line: 'k=v', regexp: '^k=', insertafter: '^\\[a\\]' }, 'x\n[a]\nk=v\ny\n'],
    ['changes nothing when the line is already there', 'a\nnodateext\n', { line: 'nodateext', regexp: '^(no)?dateext' }, 'a\nnodateext\n'],
    ['removes every matching line with state absent', 'a\n$ModLoad imklog\nb\n', { regexp: 'imklog', state: 'absent' as const }, 'a\nb\n'],
    ['creates content in an empty file', '', { line: 'x' }, 'x\n'],
  ])('%s', (_, before, p, after) => {
    expect(editLines(before, { path: '/f', ...p })).toBe(after);
    // and a second edit changes nothing: idempotent
    expect(editLines(after, { path: '/f', ...p })).toBe(after);
  });
});

const MASTER = `# comment
smtp      inet  n       -       y       -       -       smtpd
#submission inet n       -       y       -       -       smtpd
#  -o syslog_name=postfix/submission
pickup    unix  n       -       y       60      1       pickup
  -o content_filter=
`;

describe('master.cf edits', () => {
  it('parses entries with their continuation lines', () => {
    const { entries } = parseMaster(MASTER);
    expect(entries.map((e) => e.fields.slice(0, 2).join('/'))).toEqual(['smtp/inet', 'pickup/unix']);
    expect(entries[1]!.fields).toContain('content_filter=');
  });

  it('adds a service with each -o on its own indented line, and is idempotent', () => {
    const svc = {
      service: 'submission',
      type: 'inet' as const,
      private: 'n',
      chroot: 'y',
      command: 'smtpd',
      args: ['-o syslog_name=postfix/submission', '-o smtpd_tls_security_level=encrypt'],
    };
    const once = editMaster(MASTER, [svc]);
    expect(once).toMatch(
      /^submission inet {2}n {7}- {7}y {7}- {7}- {7}smtpd\n {2}-o syslog_name=postfix\/submission\n {2}-o smtpd_tls_security_level=encrypt\n$/m,
    );
    expect(editMaster(once, [svc])).toBe(once);
  });

  it('replaces an entry in place (smtp becomes postscreen) and removes one', () => {
    const out = editMaster(MASTER, [
      { service: 'smtp', type: 'inet', private: 'n', chroot: 'y', maxproc: '1', command: 'postscreen' },
      { service: 'pickup', type: 'unix', command: 'pickup', state: 'absent' },
    ]);
    expect(out.split('\n')[1]).toMatch(/^smtp\s+inet\s+n\s+-\s+y\s+-\s+1\s+postscreen$/);
    expect(out).not.toMatch(/^pickup/m);
    expect(out).not.toContain('content_filter');
  });
});

describe('postconf comparison', () => {
  it('reports values that differ, are missing or must go', () => {
    const now = parseSettings('inet_interfaces = localhost\nsmtpd_tls_protocols = !SSLv2,   !SSLv3\nsmtpd_use_tls = yes\nempty =\n');
    expect(now.get('empty')).toBe('');
    const d = differences(
      { set: { inet_interfaces: 'all', smtpd_tls_protocols: '!SSLv2, !SSLv3', mynetworks: '127.0.0.0/8' }, remove: ['smtpd_use_tls', 'smtpd_enforce_tls'] },
      now,
    );
    // whitespace differences are not differences
    expect(d).toEqual(['inet_interfaces = localhost -> all', 'mynetworks = (default) -> 127.0.0.0/8', 'smtpd_use_tls set, should be removed']);
  });

  it('reads main.cf the way postconf -n does: comments, continuation lines, the last setting wins', () => {
    const m = parseMainCf(
      [
        '# a comment = not a setting',
        'smtpd_recipient_restrictions = permit_mynetworks,',
        '    # an indented comment inside the value is skipped',
        '    permit_sasl_authenticated,',
        '\treject_unauth_destination',
        '',
        'myhostname = first',
        'myhostname=mail.lab.example',
        'smtpd_timeout = ${stress?{10}:{300}}s',
        'empty =',
        'header_checks = pcre:/etc/postfix/h # not a comment: # only starts one at the start of a line',
      ].join('\n'),
    );
    expect(Object.fromEntries(m)).toEqual({
      smtpd_recipient_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
      myhostname: 'mail.lab.example',
      smtpd_timeout: '${stress?{10}:{300}}s',
      empty: '',
      header_checks: 'pcre:/etc/postfix/h # not a comment: # only starts one at the start of a line',
    });
    expect(mainCfPath(undefined)).toBe('/etc/postfix/main.cf');
    expect(mainCfPath('postfix-deux')).toBe('/etc/postfix-deux/main.cf');
  });
});
