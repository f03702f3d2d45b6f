/** docs/runbook-trace.md maps every memo line to a step or a reason: nothing is silently dropped. */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Role } from '../../src/runbook/load.js';
import {
  PLATFORMS,
  allSteps,
  hasShellcheck,
  implementers,
  isCommandLine,
  isReason,
  memo,
  planFor,
  roles,
  stepIds,
  tmp,
  trace,
  walk,
} from '../helpers/runbook.js';

describe('runbook: docs/runbook-trace.md', () => {
  it('has rows', () => {
    expect(trace.length).toBeGreaterThan(100);
  });

  it('every line in its first column is a line of the memo, in the section given', () => {
    for (const row of trace) {
      const where = memo.lines.filter((l) => l.text === row.line);
      expect(where.length, `runbook-trace.md:${row.at}: not a memo line: ${row.line}`).toBeGreaterThan(0);
      expect(
        where.map((l) => l.section),
        `runbook-trace.md:${row.at}: ${row.line}`,
      ).toContain(row.section);
    }
  });

  it('every "# " / "$ " command line of the memo is in the trace, with its section', () => {
    const traced = new Set(trace.map((r) => `${r.section}\t${r.line}`));
    const missing = memo.lines
      .filter((l) => isCommandLine(l.text) && !traced.has(`${l.section}\t${l.text}`))
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
  const scripts = roles.flatMap((r: Role) =>
    (existsSync(join(r.dir, 'templates')) ? walk(join(r.dir, 'templates')) : [])
      .filter((f) => f.endsWith('.sh'))
      .map((f) => ({ role: r, file: f, template: relative(join(r.dir, 'templates'), f) })),
  );

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
