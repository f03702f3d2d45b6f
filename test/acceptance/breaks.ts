/**
 * One way to break a running debian12 lab for each kind of check, the checks that must then fail (exactly those),
 * and the repair. Written from the memo and the facts: each break undoes one thing the memo asks for.
 */
export interface Break {
  kind: string;
  what: string;
  break: string;
  repair: string;
  fails: string[];
}

export const breaks: Break[] = [
  {
    kind: 'postconf',
    what: 'the message rate limit is back at its default',
    break: 'postconf -e smtpd_client_message_rate_limit=0',
    repair: 'postconf -e smtpd_client_message_rate_limit=120',
    fails: ['4/postconf/smtpd_client_message_rate_limit'],
  },
  {
    kind: 'file',
    what: 'logrotate names rotated files by date again',
    break: "sed -i 's/^nodateext$/dateext/' /etc/logrotate.conf",
    repair: "sed -i 's/^dateext$/nodateext/' /etc/logrotate.conf",
    fails: ['2/file//etc/logrotate.conf'],
  },
  {
    kind: 'service',
    what: 'cron is stopped',
    break: 'systemctl stop cron',
    repair: 'systemctl start cron',
    fails: ['2/service/cron'],
  },
  {
    kind: 'command',
    what: 'a broken rsyslog drop-in (not yet loaded)',
    break: "echo 'this is not rsyslog syntax {' > /etc/rsyslog.d/99-broken.conf",
    repair: 'rm -f /etc/rsyslog.d/99-broken.conf',
    fails: ['2/command/rsyslog-config'],
  },
  {
    kind: 'log',
    what: 'the local6 routing rule is gone',
    break:
      "cp /etc/rsyslog.d/10-postfix-lab.conf /root/rsyslog-lab.bak && sed -i '/local6/,+1d' /etc/rsyslog.d/10-postfix-lab.conf && systemctl restart rsyslog",
    repair: 'cp /root/rsyslog-lab.bak /etc/rsyslog.d/10-postfix-lab.conf && systemctl restart rsyslog',
    fails: ['2/log/local6-to-maillog-trois'],
  },
  {
    kind: 'package',
    what: 'the LDAP map type is removed',
    break: 'DEBIAN_FRONTEND=noninteractive dpkg -r postfix-ldap >/dev/null',
    repair: 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix-ldap >/dev/null',
    fails: ['1/package/postfix-ldap'],
  },
  {
    kind: 'smtp',
    what: 'submission no longer requires TLS before mail',
    break: 'postconf -P submission/inet/smtpd_tls_security_level=may && postfix reload',
    repair: 'postconf -P submission/inet/smtpd_tls_security_level=encrypt && postfix reload',
    // TLS on 587 is then optional, so the mandatory protocol policy no longer applies there either.
    fails: ['3/smtp/submission-before-tls', '4/tls/submission-refuses-tls1', '4/tls/submission-refuses-tls11'],
  },
  {
    kind: 'tls',
    what: 'mandatory TLS accepts TLS 1.0 and 1.1 again',
    break: "postconf -e 'smtpd_tls_mandatory_protocols=>=TLSv1' && postfix reload",
    repair: "postconf -e 'smtpd_tls_mandatory_protocols=>=TLSv1.2' && postfix reload",
    fails: ['4/postconf/smtpd_tls_mandatory_protocols', '4/tls/submission-refuses-tls1', '4/tls/submission-refuses-tls11', '4/tls/smtps-refuses-tls1'],
  },
  {
    kind: 'postscreen',
    what: 'smtp on 25 is served by smtpd directly, without postscreen',
    break: "cp /etc/postfix/master.cf /root/master.cf.bak && postconf -Me 'smtp/inet=smtp inet n - y - - smtpd' && postfix reload",
    repair: 'cp /root/master.cf.bak /etc/postfix/master.cf && postfix reload',
    fails: ['4/postscreen/greeting', '4/command/postscreen-in-master'],
  },
  {
    kind: 'postmulti',
    what: 'postfix-deux is disabled (still running)',
    break: 'postmulti -i postfix-deux -e disable',
    repair: 'postmulti -i postfix-deux -e enable',
    fails: ['4/postmulti/postfix-deux'],
  },
  {
    kind: 'delivery',
    what: 'local delivery bounces',
    break: "postconf -e 'local_transport=error:broken by the test' && postfix reload",
    repair: 'postconf -X local_transport && postfix reload',
    fails: ['3/delivery/submission-to-mailbox'],
  },
  {
    kind: 'tcp',
    what: 'the second instance is stopped',
    break: 'systemctl stop postfix@postfix-deux',
    repair: 'systemctl start postfix@postfix-deux',
    fails: ['4/tcp/10025', '4/smtp/deux-banner', '4/log/deux-logs-to-maillog-deux', '4/postmulti/postfix-deux', '4/service/postfix-deux-unit'],
  },
];
