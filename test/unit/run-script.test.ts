/**
 * scripts/run.sh, behind every npm script: it runs the CLI compiled, builds once per change of the sources, only
 * ever adds build files (a command already running keeps what it loads later), and a source that does not compile
 * stops it with esbuild's message naming the file and line. Runs on a copy of the repository's sources whose
 * node_modules entries link to the repository's packages, so nothing here writes into the repository.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeScratch } from '../helpers/scratch.js';

const repo = join(import.meta.dirname, '../..');
const copy = mkdtempSync(join(tmpdir(), 'plab-run-script-'));
for (const p of ['src', 'bench', 'test/helpers', 'scripts', 'schemas', 'roles', 'package.json', 'package-lock.json']) {
  cpSync(join(repo, p), join(copy, p), { recursive: true, preserveTimestamps: true });
}
mkdirSync(join(copy, 'node_modules/.bin'), { recursive: true });
for (const e of readdirSync(join(repo, 'node_modules'))) {
  if (!e.startsWith('.')) symlinkSync(join(repo, 'node_modules', e), join(copy, 'node_modules', e));
}
symlinkSync(join(repo, 'node_modules/.bin/esbuild'), join(copy, 'node_modules/.bin/esbuild'));
writeFileSync(join(copy, 'node_modules/.package-lock.json'), '{}\n'); // newer than the lock: no `npm ci` here

const env = { ...process.env, POSTFIX_LAB_HOME: join(copy, 'home'), NO_COLOR: '1' };
const run = (...args: string[]) => spawnSync('sh', [join(copy, 'scripts/run.sh'), ...args], { cwd: copy, env, encoding: 'utf8' });
const built = () =>
  readdirSync(join(copy, 'dist'))
    .filter((f) => !f.startsWith('.'))
    .sort();
const entries = () => built().filter((f) => f.startsWith('bin-'));

afterAll(() => removeScratch(copy));

describe('the npm scripts run the CLI compiled', () => {
  it('builds on first use and runs the build again, untouched, while the sources stay the same', () => {
    const first = run('lab:status');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('no labs');
    expect(entries()).toHaveLength(1);
    const entry = join(copy, 'dist', entries()[0] ?? '');
    const made = statSync(entry).mtimeMs;
    const files = built();
    const again = run('lab:status');
    expect(again.status, again.stderr).toBe(0);
    expect(built()).toEqual(files);
    expect(statSync(entry).mtimeMs).toBe(made);
  });

  it('builds again after a source changes, and keeps every file of the earlier build', () => {
    const before = built();
    appendFileSync(join(copy, 'src/cli/table.ts'), '\nexport const runScriptProbe = 1;\n');
    const r = run('lab:status');
    expect(r.status, r.stderr).toBe(0);
    expect(entries()).toHaveLength(2);
    expect(built()).toEqual(expect.arrayContaining(before));
  });

  it('stops on a source that does not compile, naming the file and line, and adds no build', () => {
    const before = built();
    appendFileSync(join(copy, 'src/cli/table.ts'), '\nexport const broken = ;\n');
    const r = run('lab:status');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/src\/cli\/table\.ts:\d+:\d+/);
    expect(built()).toEqual(before);
    expect(readdirSync(join(copy, 'dist')).filter((f) => f.startsWith('.build-'))).toEqual([]);
  });
});
