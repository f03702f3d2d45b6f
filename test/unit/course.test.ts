/** Course material: lessons made from the same roles and checks the lab runs, and the written course kept current. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { courseFiles, lesson } from '../../src/cli/lesson.js';
import { repoRoot } from '../../src/schemas.js';
import { planFor } from '../helpers/runbook.js';

describe('course', () => {
  it("shows a section's steps in memo order with the memo's wording, why, commands and file contents, then its checks", () => {
    const text = lesson(undefined, 'debian12', 3);
    const role = planFor('debian12').roles.find((r) => r.section === 3)!;
    const at = role.steps.map((s) => text.indexOf(`\`${s.id}\``));
    expect(at.every((p) => p > 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    for (const s of role.steps) {
      if (s.memo) expect(text).toContain(`> ${s.memo}`);
      if (s.why) expect(text).toContain(s.why);
    }
    expect(text).toContain('unix_listener /var/spool/postfix/private/auth'); // the Dovecot drop-in, in full
    expect(text).toContain('npm run lab:up -- --section 3');
    expect(text).toMatch(/## Check your work \(\d+ checks\)/);
    expect(text).toContain('Mail submitted on 587 by the lab user reaches the local mailbox');
    expect(text).not.toMatch(/undefined|\[object Object\]/);
  });

  it('gives el7 its own commands: the source build, the vault, the unpinned downloads', () => {
    const text = lesson(undefined, 'el7', 1);
    expect(text).toContain('rpmbuild -bb SPECS/postfix.spec');
    expect(text).toContain(
      "echo '6208021eb0b37ac6482e334e538ed5700cc22c4d4dd66ed9e975ae5f20bf935f  /home/masuda/rpmbuild/SOURCES/postfix-vda-v13-2.10.0.patch' | sha256sum -c -",
    ); // the VDA patch, pinned
    expect(text).toContain('unpinned: lab:up shows the hash to pin in the lab file');
    expect(text).not.toContain('apt-get');
    expect(lesson(undefined, 'debian12', 1)).not.toContain('rpmbuild');
  });

  it('keeps docs/course current with roles/ and verify/', () => {
    const stale: string[] = [];
    for (const [name, text] of courseFiles()) {
      const p = join(repoRoot, 'docs', 'course', name);
      if (!existsSync(p) || readFileSync(p, 'utf8') !== text) stale.push(name);
    }
    expect(stale, 'run `npm run lesson -- --write docs/course` and commit the result').toEqual([]);
  });
});
