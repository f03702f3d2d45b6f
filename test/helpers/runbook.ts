/** Shared setup for the runbook tests: the roles planned for both platforms, the memo and the trace table parsed. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kinds } from '../../src/runbook/kinds/index.js';
import { loadLab, type Lab, type Platform } from '../../src/lab/lab-file.js';
import { makePlan, type Plan, type PlanStep } from '../../src/runbook/plan.js';
import { loadRoles } from '../../src/runbook/load.js';
import { repoRoot } from '../../src/schemas.js';

export const PLATFORMS: Platform[] = ['el7', 'debian12'];
export const roles = loadRoles();
export const rawSteps = roles.flatMap((r) => [...r.steps, ...r.handlers].map((s) => ({ role: r, step: s })));
export const stepIds = new Set(rawSteps.map((s) => s.step.id));
export const tmp = mkdtempSync(join(tmpdir(), 'plab-runbook-'));

// --- the lab -------------------------------------------------------------------------------------------------------

/** The repo's lab.yaml when there is one (as the brief of the lab), else a minimal lab file; always sections 1-4. */
export function labFor(platform: Platform, remoteLogging: boolean): Lab {
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

export const plans = new Map<string, Plan>();
export function planFor(platform: Platform, remoteLogging = false): Plan {
  const key = `${platform}/${remoteLogging}`;
  let p = plans.get(key);
  if (!p) {
    p = makePlan(labFor(platform, remoteLogging), roles, platform);
    plans.set(key, p);
  }
  return p;
}
export const allSteps = (p: Plan): PlanStep[] => p.roles.flatMap((r) => [...r.steps, ...r.handlers]);
export const stepOf = (p: Plan, id: string): PlanStep | undefined => allSteps(p).find((s) => s.id === id);
/** The shell commands a planned step runs (check and apply), as --dry-run shows them. */
export const commandsOf = (s: PlanStep, platform: Platform): string[] => {
  const d = kinds[s.kind]!.describe(s.params as never, platform);
  return [...d.check, ...d.apply];
};

// --- the memo --------------------------------------------------------------------------------------------------------

export function findMemo(): string {
  const candidates = [process.env.POSTFIX_LAB_MEMO, join(repoRoot, 'docs', 'memo', 'seed-memo.txt')].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`seed memo not found (looked at ${candidates.join(', ')}); set POSTFIX_LAB_MEMO to its path`);
  return found;
}
export const memoText = readFileSync(findMemo(), 'utf8');

export interface MemoLine {
  n: number;
  text: string;
  section: string;
}
/** Every non-blank, non-heading line of the memo with the section it is in ("1.5", "4.4.3"); and the headings. */
export function parseMemo(text: string): { lines: MemoLine[]; sections: Set<string> } {
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
export const memo = parseMemo(memoText);
/** The memo's command lines: "# ...", "$ ..." and the commented-out "#$ ...". */
export const isCommandLine = (t: string) => /^(#\$?|\$) /.test(t);

// --- docs/runbook-trace.md -------------------------------------------------------------------------------------------

export interface TraceRow {
  line: string;
  section: string;
  target: string;
  at: number;
}
export function parseTrace(text: string): TraceRow[] {
  const rows: TraceRow[] = [];
  let inTable = false;
  text.split('\n').forEach((l, i) => {
    if (/^\|\s*-+\s*\|/.test(l)) {
      inTable = true;
      return;
    }
    if (!inTable || !l.startsWith('|')) return;
    const cells = l
      .trim()
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, '|'));
    if (cells.length !== 3) throw new Error(`docs/runbook-trace.md:${i + 1}: a row needs 3 cells, found ${cells.length}`);
    const code = /^(`+)(.*)\1$/s.exec(cells[0]!);
    if (!code) throw new Error(`docs/runbook-trace.md:${i + 1}: the memo line must be in backticks`);
    let line = code[2]!;
    if (line.startsWith(' ') && line.endsWith(' ') && line.trim()) line = line.slice(1, -1);
    rows.push({ line, section: cells[1]!, target: cells[2]!, at: i + 1 });
  });
  return rows;
}
export const trace = parseTrace(readFileSync(join(repoRoot, 'docs', 'runbook-trace.md'), 'utf8'));
export const isReason = (target: string) => /^(replaced|dropped): \S/.test(target);
/** The step ids a row names as implementing its line (the backticked ids before any note). */
export const implementers = (target: string): string[] => {
  const m = /^(`[a-z0-9-]+`(?:, `[a-z0-9-]+`)*)(?: — .*)?$/.exec(target);
  return m ? [...m[1]!.matchAll(/`([a-z0-9-]+)`/g)].map((x) => x[1]!) : [];
};

// --- helpers -----------------------------------------------------------------------------------------------------------

export const sectionKey = (s: string) => s.split('.').map(Number);
export function compareSections(a: string, b: string): number {
  const x = sectionKey(a);
  const y = sectionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d) return d;
  }
  return 0;
}
export function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
export const hasShellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).status === 0;

// ---------------------------------------------------------------------------------------------------------------------
