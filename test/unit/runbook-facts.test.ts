/** The runbook follows the facts that correct the memo (docs/runbook-facts.md), per platform. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { makePlan, type Plan } from '../../src/runbook/plan.js';
import { allSteps, labFor, planFor, roles, stepOf } from '../helpers/runbook.js';

describe('runbook: the facts that correct the memo', () => {
  const el7 = () => planFor('el7');
  const deb = () => planFor('debian12');
  const set = (p: Plan, id: string) => (stepOf(p, id)!.params as { set: Record<string, string> }).set;

  it('el7 builds from the 7.9 vault SRPM with both patches pinned and added to the spec', () => {
    expect(stepOf(el7(), 'el7-vault-repos')!.params.content).toMatch(/baseurl=http:\/\/vault\.centos\.org\/7\.9\.2009\/os\/x86_64\//);
    const downloads = allSteps(el7())
      .filter((s) => s.kind === 'download')
      .map((s) => s.params as { url: string; sha256: string });
    expect(downloads.map((d) => d.url)).toEqual([
      'http://vault.centos.org/7.9.2009/os/Source/SPackages/postfix-2.10.1-9.el7.src.rpm',
      'http://vda.sourceforge.net/VDA/postfix-vda-v13-2.10.0.patch',
      'http://k2net.hakuba.jp/pub/postfix-2.9-sleep.patch',
    ]);
    // pinned by the runbook where a trustworthy hash exists, else by the lab file (never a placeholder that "pins" nothing)
    for (const d of downloads) expect(d.sha256).toMatch(/^([0-9a-f]{64}|unpinned)$/);
    // the VDA patch: the sha256 Gentoo and FreeBSD publish, and PLD's md5 as a cross-check; the sleep patch has no published hash
    expect(downloads.find((d) => d.url.includes('vda'))).toMatchObject({
      sha256: '6208021eb0b37ac6482e334e538ed5700cc22c4d4dd66ed9e975ae5f20bf935f',
      md5: '01e1b031d79b85f3cb67d98ceddd775d',
    });
    expect(downloads.find((d) => d.url.includes('sleep'))).toMatchObject({ sha256: 'unpinned' });
    expect(stepOf(el7(), 'rpmbuild-postfix')!.params).toMatchObject({ user: labFor('el7', false).params.build_user });
    expect(stepOf(el7(), 'rpmbuild-postfix')!.params.run).toMatch(/sha256sum SPECS\/postfix\.spec SOURCES\/\* .*&& rpmbuild -bb SPECS\/postfix\.spec &&/);
    expect(stepOf(el7(), 'rpmbuild-postfix')!.why).toMatch(/accept Linux 3 and 4 and nothing newer.*kernel 5 or newer.*setarch x86_64 --uname-2\.6/s);
    expect(stepOf(el7(), 'el7-install-built-postfix')!.params.run).toMatch(/yum -y --disableexcludes=main localinstall "\$rpmf"/);
    expect(stepOf(el7(), 'el7-install-built-postfix')!.params.unless).toMatch(/%\{SIGMD5\}/);
    expect(stepOf(el7(), 'yum-exclude-postfix')!.params.line).toBe('exclude=postfix*');
    expect(JSON.stringify(stepOf(el7(), 'el7-build-deps')!.params)).not.toMatch(/db4-devel|kernel-devel|"mysql-devel"|"ed"/);
    for (const id of ['srpm-download', 'spec-add-patches', 'rpmbuild-postfix']) expect(stepOf(deb(), id)).toBeUndefined();
  });

  it("takes an unpinned artifact's sha256 from the lab file's pins, and refuses a pin that contradicts the runbook's", () => {
    const lab = labFor('el7', false);
    const hash = 'ab'.repeat(32);
    const pinned = makePlan({ ...lab, pins: { 'postfix-2.9-sleep.patch': { sha256: hash, at: 'lab.yaml:9:5' } } }, roles, 'el7');
    expect(stepOf(pinned, 'sleep-patch-download')!.params.sha256).toBe(hash);
    expect(stepOf(pinned, 'vda-patch-download')!.params.sha256).toMatch(/^6208021e/);
    const e = (() => {
      try {
        makePlan({ ...lab, pins: { 'postfix-vda-v13-2.10.0.patch': { sha256: hash, at: 'lab.yaml:9:5' } } }, roles, 'el7');
      } catch (x) {
        return x as InputError;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect(e!.message).toMatch(
      /^lab\.yaml:9:5: pins\.postfix-vda-v13-2\.10\.0\.patch is (ab){32}, but .*role\.yaml:\d+:\d+: step "vda-patch-download" pins .* to 6208021e[0-9a-f]{56}$/,
    );
    expect(e!.hint).toMatch(/remove postfix-vda-v13-2\.10\.0\.patch from pins/);
  });

  it('rsyslog routes each facility with "& stop", never "&~"', () => {
    for (const p of [el7(), deb()]) {
      const conf = stepOf(p, 'rsyslog-routing')!.params.content as string;
      for (const [fac, file] of [
        ['mail', 'maillog'],
        ['local3', 'dovecot.log'],
        ['local4', 'dovecot_deliver.log'],
        ['local5', 'maillog_deux'],
        ['local6', 'maillog_trois'],
      ] as const) {
        expect(conf).toMatch(new RegExp(`^${fac}\\.\\*\\s+-/var/log/${file.replace('.', '\\.')}\\n& stop$`, 'm'));
      }
      expect(
        conf
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n'),
      ).not.toContain('&~');
    }
  });

  it('a mail log appears in only one logrotate stanza', () => {
    for (const [p, id] of [
      [el7(), 'el7-logrotate-syslog'],
      [deb(), 'debian12-logrotate-rsyslog'],
    ] as const) {
      const files = (stepOf(p, id)!.params.content as string).split('\n').filter((l) => l.startsWith('/var/log/'));
      expect(new Set(files).size, id).toBe(files.length);
      expect(files).toEqual(expect.arrayContaining(['/var/log/maillog', '/var/log/maillog_deux', '/var/log/maillog_trois', '/var/log/dovecot.log']));
    }
  });

  it('the dovecot pipe runs as vmail with sender and recipient, and delivers one recipient at a time', () => {
    for (const [p, lda] of [
      [el7(), '/usr/libexec/dovecot/dovecot-lda'],
      [deb(), '/usr/lib/dovecot/dovecot-lda'],
    ] as const) {
      const svc = (stepOf(p, 'dovecot-pipe-transport')!.params as { services: { args: string[] }[] }).services[0]!;
      expect(svc.args).toEqual(['flags=DRhu', 'user=vmail:vmail', `argv=${lda} -f \${sender} -d \${recipient}`]);
      expect(set(p, 'dovecot-recipient-limit')).toEqual({ dovecot_destination_recipient_limit: '1' });
      expect(set(p, 'postfix-sasl')).not.toHaveProperty('smtpd_sasl_local_domain');
      expect(set(p, 'postfix-inet-interfaces')).toEqual({ inet_interfaces: 'all' });
    }
  });

  it('master.cf services carry -o arguments only, and 465 is named per version', () => {
    for (const [p, name] of [
      [el7(), 'smtps'],
      [deb(), 'submissions'],
    ] as const) {
      const services = (stepOf(p, 'submission-services')!.params as { services: { service: string; args: string[] }[] }).services;
      expect(services.map((s) => s.service)).toEqual(['submission', name]);
      for (const a of services.flatMap((s) => s.args)) expect(a).toMatch(/^-o [a-z0-9_]+=\S+$/);
    }
  });

  it("postscreen uses a cidr table and the action name of each version; stress values use each version's syntax", () => {
    expect(set(el7(), 'postscreen-main').postscreen_access_list).toBe('permit_mynetworks, cidr:/etc/postfix/postscreen_access.cidr');
    expect(set(el7(), 'el7-postscreen-blacklist-action')).toEqual({ postscreen_blacklist_action: 'drop' });
    expect(set(deb(), 'debian12-postscreen-denylist-action')).toEqual({ postscreen_denylist_action: 'drop' });
    expect(set(el7(), 'stress-parameters').smtpd_timeout).toBe('${stress?10}${stress:300}s');
    expect(set(deb(), 'stress-parameters').smtpd_timeout).toBe('${stress?{10}:{300}}s');
    expect(set(el7(), 'smtpd-message-rate-limit')).toEqual({ smtpd_client_message_rate_limit: '120' });
  });

  it('the TLS policy excludes SSL everywhere and TLS 1.0/1.1 for mandatory TLS, and removes the obsolete switches', () => {
    expect(set(el7(), 'tls-policy')).toMatchObject({
      smtpd_tls_protocols: '!SSLv2, !SSLv3',
      smtpd_tls_mandatory_protocols: '!SSLv2, !SSLv3, !TLSv1, !TLSv1.1',
    });
    expect(set(deb(), 'tls-policy')).toMatchObject({ smtpd_tls_protocols: '>=TLSv1', smtpd_tls_mandatory_protocols: '>=TLSv1.2' });
    expect((stepOf(deb(), 'tls-policy')!.params as { remove: string[] }).remove).toEqual(['smtpd_use_tls', 'smtpd_enforce_tls']);
  });

  it('postfix-deux gets its own host name, aliases, local5 and port 10025; debian12 starts it as a unit with a log socket', () => {
    for (const p of [el7(), deb()]) {
      expect(stepOf(p, 'deux-main')!.params).toMatchObject({
        instance: 'postfix-deux',
        set: {
          myhostname: labFor(p.platform, false).params.hostname_deux,
          master_service_disable: '',
          syslog_facility: 'local5',
          alias_maps: 'hash:/etc/postfix-deux/aliases',
        },
      });
      const services = (stepOf(p, 'deux-master')!.params as { services: { service: string; state?: string }[] }).services;
      expect(services.map((s) => [s.service, s.state ?? 'present'])).toEqual([
        ['smtp', 'absent'],
        ['10025', 'present'],
      ]);
    }
    expect(stepOf(deb(), 'debian12-deux-service')!.params).toEqual({ name: 'postfix@postfix-deux', enabled: true, state: 'started' });
    expect(stepOf(deb(), 'debian12-deux-log-socket')!.params.content).toMatch(/^\$AddUnixListenSocket \/var\/spool\/postfix-deux\/dev\/log$/m);
    expect(stepOf(el7(), 'debian12-deux-service')).toBeUndefined();
  });
});
