import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editLines, type LineParams, perlEdit } from '../../src/runbook/kinds/line.js';
import { loadLab } from '../../src/lab/lab-file.js';
import { makePlan } from '../../src/runbook/plan.js';
import { loadRoles } from '../../src/runbook/load.js';
import { repoRoot } from '../../src/schemas.js';

const dir = mkdtempSync(join(tmpdir(), 'plab-line-'));

/** The learner's command, run here without sudo on a copy of `content`. */
function byHand(p: LineParams, content: string): string {
  const file = join(dir, 'f');
  writeFileSync(file, content);
  const cmd = perlEdit({ ...p, path: file }).replace(/sudo /g, '');
  execFileSync('sh', ['-c', cmd]);
  return readFileSync(file, 'utf8');
}

const samples = (p: LineParams) => [
  'a\nb\n',
  `x\n${p.line ?? 'z'}\ny\n`,
  '#dateext\nrun-parts --report /etc/cron.daily\n[main]\nexclude=foo\nrun-parts --report /etc/cron.daily again\n$ModLoad imjournal\n',
  `[main]\ncachedir=/var\n$ModLoad imjournal\nz\n`,
];

describe("the line kind's learner command", () => {
  it('does what the step does, on every line step of both platforms and on files with and without a match', () => {
    let n = 0;
    for (const platform of ['debian12', 'el7'] as const) {
      const lab = loadLab(join(repoRoot, 'labs', platform === 'el7' ? 'el7-virtualbox.yaml' : 'debian12-container.yaml'));
      const steps = makePlan(lab, loadRoles(), platform).roles.flatMap((r) => r.steps.filter((s) => s.kind === 'line'));
      for (const s of steps) {
        const p = s.params as unknown as LineParams;
        for (const text of [...samples(p), '']) {
          expect(byHand(p, text), `${s.id} on ${JSON.stringify(text)}`).toBe(editLines(text, p));
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('removes every matching line with state: absent, and keeps odd characters of the line as they are', () => {
    expect(byHand({ path: '', regexp: '^b', state: 'absent' }, 'a\nb1\nc\nb2\n')).toBe('a\nc\n');
    const odd = { path: '', regexp: '^key', line: "key = it's $HOME \\n & 100% | `x`" };
    expect(byHand(odd, 'key=1\nother\n')).toBe(editLines('key=1\nother\n', odd));
  });
});
