/** class:status, class:down, class:reset, class:break: each learner's lab through its own lab file, as any lab. */
import { existsSync, readdirSync } from 'node:fs';
import { courseBreak, courseStart } from '../course/ops.js';
import { progressSummary, readProgress } from '../course/progress.js';
import { removeInside } from '../lab/names.js';
import { labLifecycle, labStatus } from '../lab/ops.js';
import { labState, stateRoot } from '../lab/state.js';
import { Emitter } from '../output/events.js';
import { Board } from './board.js';
import { checkClassSection } from './up.js';
import { baseLab } from './plan.js';
import { classDir, readRoster, type RosterEntry } from './roster.js';
import { findSection } from '../course/sections.js';
import { InputError } from '../errors.js';

export interface StatusRow {
  learner: string;
  lab: string;
  state: 'running' | 'stopped' | 'missing' | string;
  ports: Record<string, number>;
  section?: string;
  challenge?: string;
}

export async function classStatus(cls: string): Promise<StatusRow[]> {
  const roster = readRoster(cls);
  const rows: StatusRow[] = [];
  for (const e of roster.learners) {
    const state = labState(e.lab);
    let st = 'missing';
    if (existsSync(state.metaFile)) {
      const [s] = await labStatus({ name: e.lab, events: new Emitter() }).catch(() => [undefined]);
      st = !s || s.state === 'absent' ? 'missing' : s.state;
    }
    const p = existsSync(state.dir) ? progressSummary(readProgress(state)) : { current: undefined, challenge: undefined };
    rows.push({ learner: e.learner, lab: e.lab, state: st, ports: e.ports, section: p.current, challenge: p.challenge });
  }
  return rows;
}

export function formatStatus(cls: string, rows: StatusRow[]): string {
  const head = ['learner', 'lab', 'state', 'section', 'ports'];
  const body = rows.map((r) => [
    r.learner,
    r.lab,
    r.state,
    r.section ?? '-',
    Object.entries(r.ports)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ');
  return [`class ${cls}: ${rows.length} learners`, line(head), ...body.map(line)].join('\n') + '\n';
}

/** Every lab of the class (the learners', then the base), then the class folder. Goes on past a lab that fails. */
export async function classDown(cls: string, out: NodeJS.WritableStream): Promise<string[]> {
  const dir = classDir(cls);
  if (!existsSync(dir)) throw new InputError(`there is no class named ${cls} (no ${dir})`, 'Nothing to remove. `npm run class:up -- --learners N` makes one.');
  let learners: RosterEntry[] = [];
  try {
    learners = readRoster(cls).learners;
  } catch {
    /* an interrupted class:up: its labs are found by their lab files below */
  }
  const files = new Set([
    ...learners.map((e) => e.labFile),
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => `${dir}/${f}`),
  ]);
  const base = `${dir}/${baseLab(cls)}.yaml`;
  const order = [...[...files].filter((f) => f !== base).sort(), ...(files.has(base) ? [base] : [])];
  const failed: string[] = [];
  for (const f of order) {
    const lab = f
      .split('/')
      .pop()!
      .replace(/\.yaml$/, '');
    if (!existsSync(labState(lab).dir)) continue;
    try {
      await labLifecycle('down', { labFile: f, events: new Emitter() });
      out.write(`${lab}: removed\n`);
    } catch (e) {
      failed.push(lab);
      out.write(`${lab}: not removed: ${(e as Error).message}\n`);
    }
  }
  if (!failed.length) removeInside(stateRoot(), dir);
  return failed;
}

type Each = (e: RosterEntry) => Promise<string>;

/** One action for every learner, at most two at once; one line per lab; exit 1 when any failed. */
async function forEach(cls: string, out: NodeJS.WritableStream & { isTTY?: boolean }, what: string, fn: Each): Promise<number> {
  const roster = readRoster(cls);
  const board = new Board(out);
  for (const e of roster.learners) board.set(e.lab, `waiting to ${what}`);
  let failed = 0;
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < roster.learners.length) {
        const e = roster.learners[next++]!;
        board.set(e.lab, `${what}...`);
        try {
          board.set(e.lab, await fn(e));
        } catch (err) {
          failed++;
          board.set(e.lab, `FAILED: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }),
  );
  return failed ? 1 : 0;
}

/** Each learner's lab to the start of S by the course's start path (each learner's own state saved first, mine-*). */
export function classReset(cls: string, section: string, out: NodeJS.WritableStream): Promise<number> {
  const s = checkClassSection(section);
  if (s === 'done') throw new InputError('class:reset: --section done is not a section start', 'Give a course section, e.g. --section 3.');
  findSection(s);
  return forEach(cls, out, `reset to section ${s}`, async (e) => {
    const r = await courseStart({ labFile: e.labFile, events: new Emitter(), section: s });
    return `at the start of ${r.section} (${r.from}, ${(r.durationMs / 1000).toFixed(1)}s)${r.saved ? `; saved ${r.saved}` : ''}`;
  });
}

/** One challenge for everyone, by the course's break path. */
export function classBreak(cls: string, name: string, out: NodeJS.WritableStream): Promise<number> {
  return forEach(cls, out, `break ${name}`, async (e) => {
    const r = await courseBreak({ labFile: e.labFile, events: new Emitter(), challenge: name });
    return `challenge ${name} set (section ${r.section})`;
  });
}
