/** The repository stands alone: every "runbook-facts N" has its heading in docs/runbook-facts.md, and nothing points outside. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/schemas.js';

function filesUnder(...paths: string[]): string[] {
  return paths.flatMap((p) => {
    const abs = join(repoRoot, p);
    if (!statSync(abs).isDirectory()) return [abs];
    return readdirSync(abs, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  });
}
const lines = (files: string[]) =>
  files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .map((text, k) => ({ at: `${relative(repoRoot, f)}:${k + 1}`, text })),
  );

describe('a repository that stands alone', () => {
  const headings = new Set([...readFileSync(join(repoRoot, 'docs', 'runbook-facts.md'), 'utf8').matchAll(/^## (\d+)[. ]/gm)].map((m) => Number(m[1])));

  it('every "runbook-facts N" in roles/, verify/, docs/ and README names a heading "## N" of docs/runbook-facts.md', () => {
    const dangling: string[] = [];
    let citations = 0;
    for (const file of filesUnder('roles', 'verify', 'docs', 'README.md')) {
      const text = readFileSync(file, 'utf8');
      // "runbook-facts 2", "runbook-facts 3, 4", "runbook-facts 0-1", also when a YAML line break falls inside
      for (const m of text.matchAll(/runbook-facts\s+(\d+(?:\s*[-,]\s*\d+)*)/g)) {
        const at = `${relative(repoRoot, file)}:${text.slice(0, m.index).split('\n').length}`;
        const numbers = m[1]!.split(/\s*,\s*/).flatMap((part) => {
          const [a, b = a] = part.split(/\s*-\s*/).map(Number);
          return Array.from({ length: b! - a! + 1 }, (_, k) => a! + k);
        });
        for (const n of numbers) {
          citations++;
          if (!headings.has(n)) dangling.push(`${at}: runbook-facts ${n} has no heading "## ${n}" in docs/runbook-facts.md`);
        }
      }
    }
    expect(citations).toBeGreaterThan(40);
    expect(dangling).toEqual([]);
  });

  it('README, roles/, docs/ and src/ never point at ../shared or any other folder outside the repository', () => {
    const outside = lines(filesUnder('README.md', 'roles', 'docs', 'src'))
      .filter(({ text }) => /\.\.\/shared\b|\bshared\/reference\b/.test(text))
      .map(({ at, text }) => `${at}: ${text.trim()}`);
    expect(outside).toEqual([]);
  });
});
