import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const home = mkdtempSync(join(tmpdir(), 'plab-course-cli-'));
const env = { ...process.env, POSTFIX_LAB_HOME: home, NO_COLOR: '1' };
const lab = join(root, 'labs', 'debian12-container.yaml');

function course(...args: string[]) {
  const r = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), 'course', ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('course on the command line', () => {
  it('refuses an unknown action, section or challenge with exit 2 and a hint naming the right ones, no stack trace', () => {
    const none = course('teleport');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/unknown action "teleport"\nhint: Actions: start N, solve/);
    const section = course('start', '9', '--lab', lab);
    expect(section.code).toBe(2);
    expect(section.err).toMatch(/no course section "9"[\s\S]*hint: The course sections are 1, 2, 3, 4.1, 4.2, 4.4, 4.5, 4.6/);
    const challenge = course('break', 'nope', '--lab', lab);
    expect(challenge.code).toBe(2);
    for (const r of [none, section, challenge]) expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('says a lab must exist before it can be checked, with the command that makes it', () => {
    const r = course('check', '--lab', lab);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has not been brought up on this machine[\s\S]*hint: Run `npm run lab:up` first/);
  });

  it('lists the challenges with their stories, and the answers only when asked', () => {
    const r = course('break', '--list');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^no-postscreen\s+section 4.4 /m);
    expect(r.out).not.toMatch(/answer:/);
    expect(course('break', '--list', '--answers').out).toMatch(/answer: smtp on 25 is served by smtpd directly/);
  });

  it("prints a section's commands as one script a learner can paste", () => {
    const r = course('commands', '4.6', '--lab', lab);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^set -e\n# tls-policy: /);
    expect(r.out).toMatch(/^sudo postconf -e .*smtpd_tls_mandatory_protocols=>=TLSv1.2/m);
  });
});
