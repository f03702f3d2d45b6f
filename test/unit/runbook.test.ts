/**
 * The runbook itself (roles/): it plans on both platforms with and without remote logging, every step says which
 * memo section it implements and in which words, the platforms keep to their own package manager, the facts that
 * correct the memo stay in, docs/runbook-trace.md accounts for every command line of the memo, and the shell
 * scripts the roles ship pass shellcheck.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RawStep } from '../../src/runbook/load.js';
import {
  PLATFORMS,
  allSteps,
  commandsOf,
  compareSections,
  implementers,
  labFor,
  memo,
  memoText,
  planFor,
  rawSteps,
  roles,
  stepOf,
  trace,
  walk,
} from '../helpers/runbook.js';

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
        expect(
          [p.unless, p.creates, p.readonly === true ? true : undefined].filter((x) => x !== undefined),
          s.id,
        ).toHaveLength(1);
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
      const texts = [
        readFileSync(join(r.dir, 'role.yaml'), 'utf8'),
        ...(existsSync(join(r.dir, 'templates')) ? walk(join(r.dir, 'templates')).map((f) => readFileSync(f, 'utf8')) : []),
      ];
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

  it("every step names a section the memo has, inside its role's section", () => {
    for (const { role, step } of rawSteps) {
      expect(memo.sections.has(step.section), `${step.id}: section ${step.section}`).toBe(true);
      expect(step.section.split('.')[0], step.id).toBe(String(role.section));
    }
  });

  it("steps follow the memo's order within each role", () => {
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

  it("steps that implement a memo line carry the memo's wording", () => {
    const named = new Set(trace.flatMap((r) => implementers(r.target)));
    expect(named.size).toBeGreaterThan(40);
    for (const id of named) {
      const s = rawSteps.find((x) => x.step.id === id)?.step;
      expect(s, `trace names unknown step ${id}`).toBeDefined();
      expect(s!.memo, `${id} implements a memo line but has no memo:`).toBeTruthy();
    }
  });

  it('steps that differ from the memo or exist for one platform say why', () => {
    // Derived from the data: a step says why when (a) it is debian12's alone and carries a memo line (the memo is
    // el7's), (b) it changes the host but no memo line asks for it (no memo:), (c) docs/runbook-trace.md names it as
    // what replaces a memo line ("replaced: ..."), or (d) what it writes is not written so in the memo: a main.cf
    // setting (name = value) or a removal, a master.cf argument, a package name. Handlers and read-only checks change
    // nothing: they need none.
    const norm = (t: string) =>
      t
        .replace(/\s*=\s*/g, ' = ')
        .replace(/\s+/g, ' ')
        .trim();
    const memoLines = memoText.split('\n').map((l) => norm(l.replace(/^\s*[#+$]?\s*/, '')));
    const inMemo = (text: string) => memoLines.some((l) => ` ${l} `.includes(` ${norm(text)} `));
    const values = (v: unknown) => (v && typeof v === 'object' ? Object.values(v) : [v]).map(String);
    const differs = (st: RawStep): boolean => {
      const pc = st.postconf as { set?: Record<string, unknown>; remove?: string[] } | undefined;
      const ms = st.master as { services?: { args?: string[] }[] } | undefined;
      const pk = st.package as { names?: string[] | Record<string, string[]> } | undefined;
      const names = Array.isArray(pk?.names) ? pk.names : Object.values(pk?.names ?? {}).flat();
      return (
        !!pc?.remove?.length ||
        Object.entries(pc?.set ?? {}).some(([k, v]) => values(v).some((x) => !inMemo(`${k} = ${x}`))) ||
        (ms?.services ?? []).some((sv) => (sv.args ?? []).some((a) => !inMemo(a))) ||
        names.some((n) => !inMemo(n))
      );
    };
    const replacing = new Set(trace.filter((r) => /^replaced: /.test(r.target)).flatMap((r) => [...r.target.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!)));
    const handlers = new Set(roles.flatMap((r) => r.handlers.map((h) => h.id)));
    const readOnly = (st: RawStep) => (st.command as { readonly?: boolean } | undefined)?.readonly === true;
    const needWhy = rawSteps
      .map(({ step }) => step)
      .filter(
        (st) =>
          !handlers.has(st.id) &&
          ((st.platforms?.length === 1 && st.platforms[0] === 'debian12' && !!st.memo) || (!st.memo && !readOnly(st)) || replacing.has(st.id) || differs(st)),
      );
    expect(needWhy.length).toBeGreaterThan(40);
    expect(needWhy.filter((st) => !st.why).map((st) => st.id)).toEqual([]);
    // and the rule sees what the memo gets wrong
    for (const id of [
      'el7-vault-repos',
      'el7-build-deps',
      'debian12-postfix-packages',
      'spec-add-patches',
      'el7-install-built-postfix',
      'rsyslog-routing',
      'dovecot-pipe-transport',
      'dovecot-recipient-limit',
      'postfix-inet-interfaces',
      'submission-services',
      'postscreen-main',
      'debian12-postscreen-denylist-action',
      'tls-policy',
    ])
      expect(
        needWhy.map((st) => st.id),
        id,
      ).toContain(id);
  });
});
