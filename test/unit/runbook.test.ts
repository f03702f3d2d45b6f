/**
 * The runbook itself (roles/): it plans on both platforms with and without remote logging, every step says which
 * memo section it implements and in which words, the platforms keep to their own package manager, the facts that
 * correct the memo stay in, docs/runbook-trace.md accounts for every command line of the memo, and the shell
 * scripts the roles ship pass shellcheck.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kinds } from '../../src/kinds/index.js';
import { loadLab, type Lab, type Platform } from '../../src/lab-file.js';
import { makePlan, type Plan, type PlanStep } from '../../src/plan.js';
import { loadRoles, type RawStep, type Role } from '../../src/roles.js';
import { repoRoot } from '../../src/schemas.js';

const PLATFORMS: Platform[] = ['el7', 'debian12'];
const roles = loadRoles();
const rawSteps = roles.flatMap((r) => [...r.steps, ...r.handlers].map((s) => ({ role: r, step: s })));
const stepIds = new Set(rawSteps.map((s) => s.step.id));
const tmp = mkdtempSync(join(tmpdir(), 'plab-runbook-'));

// --- the lab -------------------------------------------------------------------------------------------------------

/** The repo's lab.yaml when there is one (as the brief of the lab), else a minimal lab file; always sections 1-4. */
function labFor(platform: Platform, remoteLogging: boolean): Lab {
  let base: Lab;
  const repoLab = join(repoRoot, 'lab.yaml');
  if (existsSync(repoLab)) {
    base = loadLab(repoLab, { platform });
  } else {
    const p = join(tmp, `lab-${platform}.yaml`);
    writeFileSync(p, `name: runbook-test\ndriver: container\nplatform: ${platform}\n`);
    base = loadLab(p, { platform });
  }
  return { ...base, platform, sections: [1, 2, 3, 4], params: { ...base.params, remote_logging: remoteLogging } };
}

const plans = new Map<string, Plan>();
function planFor(platform: Platform, remoteLogging = false): Plan {
  const key = `${platform}/${remoteLogging}`;
  let p = plans.get(key);
  if (!p) {
    p = makePlan(labFor(platform, remoteLogging), roles, platform);
    plans.set(key, p);
  }
  return p;
}
const allSteps = (p: Plan): PlanStep[] => p.roles.flatMap((r) => [...r.steps, ...r.handlers]);
const stepOf = (p: Plan, id: string): PlanStep | undefined => allSteps(p).find((s) => s.id === id);
/** The shell commands a planned step runs (check and apply), as --dry-run shows them. */
const commandsOf = (s: PlanStep, platform: Platform): string[] => {
  const d = kinds[s.kind]!.describe(s.params as never, platform);
  return [...d.check, ...d.apply];
};

// --- the memo --------------------------------------------------------------------------------------------------------

function findMemo(): string {
  const candidates = [
    process.env.POSTFIX_LAB_MEMO,
    join(repoRoot, '..', 'shared', 'reference', 'seed-memo.txt'),
    join(repoRoot, 'shared', 'reference', 'seed-memo.txt'),
  ].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`seed memo not found (looked at ${candidates.join(', ')}); set POSTFIX_LAB_MEMO to its path`);
  return found;
}
const memoText = readFileSync(findMemo(), 'utf8');

interface MemoLine { n: number; text: string; section: string }
/** Every non-blank, non-heading line of the memo with the section it is in ("1.5", "4.4.3"); and the headings. */
function parseMemo(text: string): { lines: MemoLine[]; sections: Set<string> } {
  const lines: MemoLine[] = [];
  const sections = new Set<string>();
  let path: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const m = /^( *)(\d+)\. (.*)$/.exec(raw);
    if (m) {
      const indent = m[1]!.length;
      const level = indent === 0 ? 1 : indent <= 3 ? 2 : 3;
      path = [...path.slice(0, level - 1), m[2]!];
      sections.add(path.join('.'));
      return;
    }
    if (raw.trim()) lines.push({ n: i + 1, text: raw.trim(), section: path.join('.') });
  });
  return { lines, sections };
}
const memo = parseMemo(memoText);
/** The memo's command lines: "# ...", "$ ..." and the commented-out "#$ ...". */
const isCommandLine = (t: string) => /^(#\$?|\$) /.test(t);

// --- docs/runbook-trace.md -------------------------------------------------------------------------------------------

interface TraceRow { line: string; section: string; target: string; at: number }
function parseTrace(text: string): TraceRow[] {
  const rows: TraceRow[] = [];
  let inTable = false;
  text.split('\n').forEach((l, i) => {
    if (/^\|\s*-+\s*\|/.test(l)) { inTable = true; return; }
    if (!inTable || !l.startsWith('|')) return;
    const cells = l.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
    if (cells.length !== 3) throw new Error(`docs/runbook-trace.md:${i + 1}: a row needs 3 cells, found ${cells.length}`);
    const code = /^(`+)(.*)\1$/s.exec(cells[0]!);
    if (!code) throw new Error(`docs/runbook-trace.md:${i + 1}: the memo line must be in backticks`);
    let line = code[2]!;
    if (line.startsWith(' ') && line.endsWith(' ') && line.trim()) line = line.slice(1, -1);
    rows.push({ line, section: cells[1]!, target: cells[2]!, at: i + 1 });
  });
  return rows;
}
const trace = parseTrace(readFileSync(join(repoRoot, 'docs', 'runbook-trace.md'), 'utf8'));
const isReason = (target: string) => /^(replaced|dropped): \S/.test(target);
/** The step ids a row names as implementing its line (the backticked ids before any note). */
const implementers = (target: string): string[] => {
  const m = /^(`[a-z0-9-]+`(?:, `[a-z0-9-]+`)*)(?: — .*)?$/.exec(target);
  return m ? [...m[1]!.matchAll(/`([a-z0-9-]+)`/g)].map((x) => x[1]!) : [];
};

// --- helpers -----------------------------------------------------------------------------------------------------------

const sectionKey = (s: string) => s.split('.').map(Number);
function compareSections(a: string, b: string): number {
  const x = sectionKey(a);
  const y = sectionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d) return d;
  }
  return 0;
}
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
const hasShellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).status === 0;

// ---------------------------------------------------------------------------------------------------------------------

describe('runbook: planning', () => {
  for (const platform of PLATFORMS) {
    for (const remote of [false, true]) {
      it(`plans all four memo sections on ${platform} with remote_logging ${remote}`, () => {
        const plan = planFor(platform, remote);
        expect(plan.roles.map((r) => r.section)).toEqual([1, 2, 3, 4]);
        for (const r of plan.roles) expect(r.steps.length).toBeGreaterThan(0);
      });
    }
  }

  it('remote_logging adds the 514 listener and otherwise removes it', () => {
    for (const platform of PLATFORMS) {
      expect(stepOf(planFor(platform, true), 'rsyslog-remote-input')).toBeDefined();
      expect(stepOf(planFor(platform, true), 'rsyslog-remote-input-absent')).toBeUndefined();
      expect(stepOf(planFor(platform, false), 'rsyslog-remote-input')).toBeUndefined();
      expect(stepOf(planFor(platform, false), 'rsyslog-remote-input-absent')).toBeDefined();
    }
  });

  it('every command step is idempotent: unless, creates or readonly', () => {
    for (const platform of PLATFORMS) {
      for (const s of allSteps(planFor(platform, true)).concat(allSteps(planFor(platform, false)))) {
        if (s.kind !== 'command') continue;
        const p = s.params as { unless?: string; creates?: string; readonly?: boolean };
        expect([p.unless, p.creates, p.readonly === true ? true : undefined].filter((x) => x !== undefined), s.id).toHaveLength(1);
      }
    }
  });

  it('debian12 never calls yum or rpm, el7 never calls apt or dpkg', () => {
    for (const remote of [false, true]) {
      const deb = allSteps(planFor('debian12', remote)).flatMap((s) => commandsOf(s, 'debian12').map((c) => `${s.id}: ${c}`));
      const el7 = allSteps(planFor('el7', remote)).flatMap((s) => commandsOf(s, 'el7').map((c) => `${s.id}: ${c}`));
      expect(deb.filter((c) => /\b(yum|rpm|rpmbuild|yum-config-manager)\b/.test(c))).toEqual([]);
      expect(el7.filter((c) => /\b(apt|apt-get|dpkg|dpkg-query|debconf-set-selections|debconf-communicate)\b/.test(c))).toEqual([]);
      expect(deb.some((c) => c.includes('apt-get'))).toBe(true);
      expect(el7.some((c) => c.includes('yum'))).toBe(true);
    }
  });

  it('secrets are only named through the kinds that take them, never inlined', () => {
    for (const r of roles) {
      const texts = [readFileSync(join(r.dir, 'role.yaml'), 'utf8'),
        ...(existsSync(join(r.dir, 'templates')) ? walk(join(r.dir, 'templates')).map((f) => readFileSync(f, 'utf8')) : [])];
      for (const t of texts) expect(t).not.toMatch(/\{\{\s*secret\./);
    }
    const user = stepOf(planFor('debian12'), 'mail-user')!;
    expect(user.params).toMatchObject({ name: labFor('debian12', false).params.mail_user, password_secret: 'mail_password' });
    const build = stepOf(planFor('el7'), 'build-user')!;
    expect(build.params).not.toHaveProperty('password_secret');
  });
});

describe('runbook: steps describe the memo', () => {
  it('every step and handler has a kebab-case id, a section and an English "Ensure ..." title', () => {
    for (const { role, step } of rawSteps) {
      expect(step.id, role.role).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(step.section, step.id).toMatch(/^[1-4](\.[0-9]+)*$/);
      expect(step.title, step.id).toMatch(/^Ensure [A-Za-z0-9`$/]/);
      expect(step.title, step.id).not.toMatch(/[\u3000-\u30ff\u4e00-\u9fff]/);
    }
  });

  it('every step names a section the memo has, inside its role\'s section', () => {
    for (const { role, step } of rawSteps) {
      expect(memo.sections.has(step.section), `${step.id}: section ${step.section}`).toBe(true);
      expect(step.section.split('.')[0], step.id).toBe(String(role.section));
    }
  });

  it('steps follow the memo\'s order within each role', () => {
    for (const r of roles) {
      r.steps.reduce((prev: RawStep | undefined, s) => {
        if (prev) {
          const ok = compareSections(prev.section, s.section) <= 0 || prev.section.startsWith(`${s.section}.`);
          expect(ok, `${s.id} (${s.section}) comes after ${prev.id} (${prev.section})`).toBe(true);
        }
        return s;
      }, undefined);
    }
  });

  it('memo wording is copied from the memo', () => {
    for (const { step } of rawSteps) {
      if (step.memo !== undefined) expect(memoText.includes(step.memo), `${step.id}: memo "${step.memo}"`).toBe(true);
    }
  });

  it('steps that implement a memo line carry the memo\'s wording', () => {
    const named = new Set(trace.flatMap((r) => implementers(r.target)));
    expect(named.size).toBeGreaterThan(40);
    for (const id of named) {
      const s = rawSteps.find((x) => x.step.id === id)?.step;
      expect(s, `trace names unknown step ${id}`).toBeDefined();
      expect(s!.memo, `${id} implements a memo line but has no memo:`).toBeTruthy();
    }
  });

  it('steps that differ from the memo or exist for one platform say why', () => {
    for (const { step } of rawSteps) {
      if (step.platforms?.length === 1 && step.platforms[0] === 'debian12' && step.memo) expect(step.why, step.id).toBeTruthy();
    }
    for (const id of ['el7-vault-repos', 'el7-build-deps', 'debian12-postfix-packages', 'spec-add-patches', 'el7-install-built-postfix',
      'rsyslog-routing', 'dovecot-postfix-lab-conf', 'dovecot-pipe-transport', 'dovecot-recipient-limit', 'postfix-sasl',
      'submission-services', 'postscreen-main', 'debian12-postscreen-denylist-action', 'postscreen-access-file', 'tls-policy']) {
      expect(rawSteps.find((x) => x.step.id === id)?.step.why, id).toBeTruthy();
    }
  });
});

describe('runbook: the facts that correct the memo', () => {
  const el7 = () => planFor('el7');
  const deb = () => planFor('debian12');
  const set = (p: Plan, id: string) => (stepOf(p, id)!.params as { set: Record<string, string> }).set;

  it('el7 builds from the 7.9 vault SRPM with both patches pinned and added to the spec', () => {
    expect(stepOf(el7(), 'el7-vault-repos')!.params.content).toMatch(/baseurl=http:\/\/vault\.centos\.org\/7\.9\.2009\/os\/x86_64\//);
    const downloads = allSteps(el7()).filter((s) => s.kind === 'download').map((s) => s.params as { url: string; sha256: string });
    expect(downloads.map((d) => d.url)).toEqual([
      'http://vault.centos.org/7.9.2009/os/Source/SPackages/postfix-2.10.1-9.el7.src.rpm',
      'http://vda.sourceforge.net/VDA/postfix-vda-v13-2.10.0.patch',
      'http://k2net.hakuba.jp/pub/postfix-2.9-sleep.patch',
    ]);
    for (const d of downloads) expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(stepOf(el7(), 'rpmbuild-postfix')!.params).toMatchObject({ user: labFor('el7', false).params.build_user, run: 'rpmbuild -bb ~/rpmbuild/SPECS/postfix.spec' });
    expect(stepOf(el7(), 'el7-install-built-postfix')!.params.run).toMatch(/^yum -y .*localinstall /);
    expect(stepOf(el7(), 'yum-exclude-postfix')!.params.line).toBe('exclude=postfix*');
    expect(JSON.stringify(stepOf(el7(), 'el7-build-deps')!.params)).not.toMatch(/db4-devel|kernel-devel|"mysql-devel"|"ed"/);
    for (const id of ['srpm-download', 'spec-add-patches', 'rpmbuild-postfix']) expect(stepOf(deb(), id)).toBeUndefined();
  });

  it('rsyslog routes each facility with "& stop", never "&~"', () => {
    for (const p of [el7(), deb()]) {
      const conf = stepOf(p, 'rsyslog-routing')!.params.content as string;
      for (const [fac, file] of [['mail', 'maillog'], ['local3', 'dovecot.log'], ['local4', 'dovecot_deliver.log'], ['local5', 'maillog_deux'], ['local6', 'maillog_trois']] as const) {
        expect(conf).toMatch(new RegExp(`^${fac}\\.\\*\\s+-/var/log/${file.replace('.', '\\.')}\\n& stop$`, 'm'));
      }
      expect(conf.split('\n').filter((l) => !l.startsWith('#')).join('\n')).not.toContain('&~');
    }
  });

  it('a mail log appears in only one logrotate stanza', () => {
    for (const [p, id] of [[el7(), 'el7-logrotate-syslog'], [deb(), 'debian12-logrotate-rsyslog']] as const) {
      const files = (stepOf(p, id)!.params.content as string).split('\n').filter((l) => l.startsWith('/var/log/'));
      expect(new Set(files).size, id).toBe(files.length);
      expect(files).toEqual(expect.arrayContaining(['/var/log/maillog', '/var/log/maillog_deux', '/var/log/maillog_trois', '/var/log/dovecot.log']));
    }
  });

  it('the dovecot pipe runs as vmail with sender and recipient, and delivers one recipient at a time', () => {
    for (const [p, lda] of [[el7(), '/usr/libexec/dovecot/dovecot-lda'], [deb(), '/usr/lib/dovecot/dovecot-lda']] as const) {
      const svc = (stepOf(p, 'dovecot-pipe-transport')!.params as { services: { args: string[] }[] }).services[0]!;
      expect(svc.args).toEqual(['flags=DRhu', 'user=vmail:vmail', `argv=${lda} -f \${sender} -d \${recipient}`]);
      expect(set(p, 'dovecot-recipient-limit')).toEqual({ dovecot_destination_recipient_limit: '1' });
      expect(set(p, 'postfix-sasl')).not.toHaveProperty('smtpd_sasl_local_domain');
      expect(set(p, 'postfix-sasl').inet_interfaces).toBe('all');
    }
  });

  it('master.cf services carry -o arguments only, and 465 is named per version', () => {
    for (const [p, name] of [[el7(), 'smtps'], [deb(), 'submissions']] as const) {
      const services = (stepOf(p, 'submission-services')!.params as { services: { service: string; args: string[] }[] }).services;
      expect(services.map((s) => s.service)).toEqual(['submission', name]);
      for (const a of services.flatMap((s) => s.args)) expect(a).toMatch(/^-o [a-z0-9_]+=\S+$/);
    }
  });

  it('postscreen uses a cidr table and the action name of each version; stress values use each version\'s syntax', () => {
    expect(set(el7(), 'postscreen-main').postscreen_access_list).toBe('permit_mynetworks, cidr:/etc/postfix/postscreen_access.cidr');
    expect(set(el7(), 'el7-postscreen-blacklist-action')).toEqual({ postscreen_blacklist_action: 'drop' });
    expect(set(deb(), 'debian12-postscreen-denylist-action')).toEqual({ postscreen_denylist_action: 'drop' });
    expect(set(el7(), 'stress-parameters').smtpd_timeout).toBe('${stress?10}${stress:300}s');
    expect(set(deb(), 'stress-parameters').smtpd_timeout).toBe('${stress?{10}:{300}}s');
    expect(set(el7(), 'smtpd-message-rate-limit')).toEqual({ smtpd_client_message_rate_limit: '120' });
  });

  it('the TLS policy excludes SSL everywhere and TLS 1.0/1.1 for mandatory TLS, and removes the obsolete switches', () => {
    expect(set(el7(), 'tls-policy')).toMatchObject({ smtpd_tls_protocols: '!SSLv2, !SSLv3', smtpd_tls_mandatory_protocols: '!SSLv2, !SSLv3, !TLSv1, !TLSv1.1' });
    expect(set(deb(), 'tls-policy')).toMatchObject({ smtpd_tls_protocols: '>=TLSv1', smtpd_tls_mandatory_protocols: '>=TLSv1.2' });
    expect((stepOf(deb(), 'tls-policy')!.params as { remove: string[] }).remove).toEqual(['smtpd_use_tls', 'smtpd_enforce_tls']);
  });

  it('postfix-deux gets its own host name, aliases, local5 and port 10025; debian12 starts it as a unit with a log socket', () => {
    for (const p of [el7(), deb()]) {
      expect(stepOf(p, 'deux-main')!.params).toMatchObject({ instance: 'postfix-deux',
        set: { myhostname: labFor(p.platform, false).params.hostname_deux, master_service_disable: '', syslog_facility: 'local5', alias_maps: 'hash:/etc/postfix-deux/aliases' } });
      const services = (stepOf(p, 'deux-master')!.params as { services: { service: string; state?: string }[] }).services;
      expect(services.map((s) => [s.service, s.state ?? 'present'])).toEqual([['smtp', 'absent'], ['10025', 'present']]);
    }
    expect(stepOf(deb(), 'debian12-deux-service')!.params).toEqual({ name: 'postfix@postfix-deux', enabled: true, state: 'started' });
    expect(stepOf(deb(), 'debian12-deux-log-socket')!.params.content).toMatch(/^\$AddUnixListenSocket \/var\/spool\/postfix-deux\/dev\/log$/m);
    expect(stepOf(el7(), 'debian12-deux-service')).toBeUndefined();
  });
});

describe('runbook: docs/runbook-trace.md', () => {
  it('has rows', () => {
    expect(trace.length).toBeGreaterThan(100);
  });

  it('every line in its first column is a line of the memo, in the section given', () => {
    for (const row of trace) {
      const where = memo.lines.filter((l) => l.text === row.line);
      expect(where.length, `runbook-trace.md:${row.at}: not a memo line: ${row.line}`).toBeGreaterThan(0);
      expect(where.map((l) => l.section), `runbook-trace.md:${row.at}: ${row.line}`).toContain(row.section);
    }
  });

  it('every "# " / "$ " command line of the memo is in the trace, with its section', () => {
    const traced = new Set(trace.map((r) => `${r.section}\t${r.line}`));
    const missing = memo.lines.filter((l) => isCommandLine(l.text) && !traced.has(`${l.section}\t${l.text}`))
      .map((l) => `memo line ${l.n} (${l.section}): ${l.text}`);
    expect(missing).toEqual([]);
  });

  it('every row names existing steps, or says why the line was replaced or dropped', () => {
    for (const row of trace) {
      const ids = implementers(row.target);
      expect(ids.length > 0 || isReason(row.target), `runbook-trace.md:${row.at}: "${row.target}"`).toBe(true);
      const named = [...row.target.matchAll(/`([a-z0-9]+(?:-[a-z0-9]+)+)`/g)].map((m) => m[1]!);
      for (const id of [...ids, ...named]) expect(stepIds.has(id), `runbook-trace.md:${row.at}: unknown step ${id}`).toBe(true);
    }
  });
});

describe('runbook: shell scripts shipped by the roles', () => {
  const scripts = roles.flatMap((r: Role) => (existsSync(join(r.dir, 'templates')) ? walk(join(r.dir, 'templates')) : [])
    .filter((f) => f.endsWith('.sh')).map((f) => ({ role: r, file: f, template: relative(join(r.dir, 'templates'), f) })));

  /** The script as it lands on the host (variables filled in), from any plan that installs it. */
  function planned(template: string): { content: string; mode?: string } | undefined {
    for (const platform of PLATFORMS) {
      const s = allSteps(planFor(platform)).find((x) => x.kind === 'file' && x.params.template === template);
      if (s) return s.params as { content: string; mode?: string };
    }
    return undefined;
  }

  it('each script is installed by a file step, executable', () => {
    for (const s of scripts) {
      const p = planned(s.template);
      expect(p, `${s.template} is not installed by any step`).toBeDefined();
      expect(p!.mode, s.template).toBe('0755');
      expect(p!.content.startsWith('#!/bin/bash\n'), s.template).toBe(true);
    }
  });

  it('each script parses (bash -n)', () => {
    for (const s of scripts) {
      const r = spawnSync('bash', ['-n'], { input: planned(s.template)!.content, encoding: 'utf8' });
      expect(r.status, `${s.template}: ${r.stderr}`).toBe(0);
    }
  });

  it.skipIf(!hasShellcheck)('each script passes shellcheck', () => {
    for (const s of scripts) {
      const f = join(tmp, s.template.replaceAll('/', '_'));
      writeFileSync(f, planned(s.template)!.content);
      const r = spawnSync('shellcheck', ['-s', 'bash', f], { encoding: 'utf8' });
      expect(r.status, `${s.template}:\n${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});
