/**
 * The runbook itself (roles/): it plans on both platforms with and without remote logging, every step says which
 * memo section it implements and in which words, the platforms keep to their own package manager, the facts that
 * correct the memo stay in, docs/runbook-trace.md accounts for every command line of the memo, and the shell
 * scripts the roles ship pass shellcheck.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type RawStep } from '../../src/runbook/load.js';
import { PLATFORMS, allSteps, commandsOf, compareSections, implementers, labFor, memo, memoText, planFor, rawSteps, roles, stepOf, trace, walk } from '../helpers/runbook.js';

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
