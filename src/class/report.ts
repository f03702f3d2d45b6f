/**
 * The class report: every learner's lab checked section by section, in parallel (bounded by the machine's cores),
 * as one table of learners x course sections. Each lab is checked over its own connection with its own pinned host
 * key and credentials (verify with the learner's lab file), so a learner's result can only come from that
 * learner's lab: a lab answering with another lab's key is refused and shown as an error in its row.
 * When each cell last changed is kept in the class folder between reports.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type SectionProgress, progressSummary, readProgress } from '../course/progress.js';
import { courseSections, inCourseSection } from '../course/sections.js';
import { isLabError } from '../errors.js';
import { labState, readJson, writePrivate } from '../lab/state.js';
import { limiter } from '../limiter.js';
import type { VerifyOptions, VerifyReport } from '../verify/index.js';
import type { CheckResult } from '../verify/runner.js';
import { classDir, readRoster, type Roster, type RosterEntry } from './roster.js';

export type CellState = 'passed' | 'failing' | 'not started' | 'unknown';

export interface Cell {
  section: string;
  state: CellState;
  /** Checks of the section that pass, and how many it has. */
  pass: number;
  total: number;
  /** When the cell last changed: seen by a report, or the learner's own last course event for the section. */
  since?: string;
}

export interface Row {
  learner: string;
  lab: string;
  /** Why the lab could not be checked (down, unreachable, refused host key); its cells are then `unknown`. */
  error?: string;
  /** The section the learner works on (course progress; the class's starting section otherwise). */
  current?: string;
  cells: Cell[];
}

export interface ClassReport {
  class: string;
  at: string;
  sections: { id: string; title: string }[];
  rows: Row[];
  durationMs: number;
}

/** A cell from the section's check results and the learner's progress: pure. */
export function cellOf(section: string, results: CheckResult[], progress: SectionProgress | undefined, current: string | undefined): Cell {
  const rs = results.filter((r) => inCourseSection(r.section, section));
  const pass = rs.filter((r) => r.status === 'pass').length;
  const total = rs.length;
  if (total && pass === total) return { section, state: 'passed', pass, total };
  // Failing checks of a section the learner has not reached are not a failure of theirs; a section before the one
  // they work on that fails has regressed.
  const order = courseSections().map((s) => s.id);
  const reached = (current !== undefined && order.indexOf(section) <= order.indexOf(current)) || (progress !== undefined && progress.state !== 'not started');
  return { section, state: reached ? 'failing' : 'not started', pass, total };
}

const key = (c: Cell) => `${c.state}:${c.pass}/${c.total}`;
type Seen = Record<string, Record<string, { key: string; since: string }>>;

/** Carry each cell's `since` over from the last report while it is unchanged; a changed cell changed now. */
export function markChanges(rows: Row[], seen: Seen, now: string, progressAt: (lab: string, section: string) => string | undefined): Seen {
  const next: Seen = {};
  for (const row of rows) {
    next[row.lab] = {};
    for (const c of row.cells) {
      const before = seen[row.lab]?.[c.section];
      const observed = c.state === 'unknown' && before ? before : before && before.key === key(c) ? before : { key: key(c), since: now };
      next[row.lab]![c.section] = observed;
      const learnerAt = progressAt(row.lab, c.section);
      c.since = learnerAt && learnerAt > observed.since ? learnerAt : observed.since;
    }
  }
  return next;
}

export interface ReportOptions {
  class: string;
  /** Labs checked at once (default: the machine's cores). */
  parallel?: number;
  /** The verify to run (tests inject one; default: the real one). */
  verify?: (o: VerifyOptions) => Promise<VerifyReport>;
  /** Each row as soon as its lab is checked. */
  onRow?: (row: Row) => void;
}

export async function classReport(o: ReportOptions): Promise<ClassReport> {
  const t0 = Date.now();
  const roster = readRoster(o.class);
  const verify = o.verify ?? (await import('../verify/index.js')).verifyLab;
  const sections = courseSections().map((s) => ({ id: s.id, title: s.title }));
  const limit = limiter(Math.max(1, o.parallel ?? availableParallelism()));
  // Each learner's progress file read once per report (the rows and the change times both use it).
  const read = new Map<string, ReturnType<typeof progressSummary>>();
  const progressOf = (lab: string) => {
    if (!read.has(lab)) read.set(lab, progressSummary(readProgress(labState(lab))));
    return read.get(lab)!;
  };
  const rows = await Promise.all(
    roster.learners.map((l) =>
      limit(async () => {
        const row = await rowOf(l, roster, sections, verify, progressOf);
        o.onRow?.(row);
        return row;
      }),
    ),
  );
  const file = join(classDir(o.class), 'report-seen.json');
  const now = new Date().toISOString();
  const progressAt = (lab: string, section: string) => progressOf(lab).sections.find((s) => s.section === section)?.lastChange;
  writePrivate(file, `${JSON.stringify(markChanges(rows, readJson<Seen>(file) ?? {}, now, progressAt), null, 1)}\n`);
  return { class: roster.class, at: now, sections, rows, durationMs: Date.now() - t0 };
}

async function rowOf(
  l: RosterEntry,
  roster: Roster,
  sections: { id: string }[],
  verify: NonNullable<ReportOptions['verify']>,
  progressOf: (lab: string) => ReturnType<typeof progressSummary>,
): Promise<Row> {
  const progress = progressOf(l.lab);
  const current = progress.current ?? (roster.section === 'done' ? undefined : roster.section);
  try {
    const report = await verify({ labFile: l.labFile, name: l.lab });
    const cells = sections.map((s) =>
      cellOf(
        s.id,
        report.results,
        progress.sections.find((p) => p.section === s.id),
        current,
      ),
    );
    return { learner: l.learner, lab: l.lab, current, cells };
  } catch (e) {
    const error = isLabError(e) ? e.message : (e as Error).message;
    return { learner: l.learner, lab: l.lab, current, error, cells: sections.map((s) => ({ section: s.id, state: 'unknown', pass: 0, total: 0 })) };
  }
}
