/**
 * A learner's progress, per lab: one JSON line per course event in .lab/<name>/course.jsonl (started a section,
 * checked it with how many passes and fails, solved it by `solve`, took a challenge). `status` is computed from it.
 */
import { appendFileSync } from 'node:fs';
import { readJsonLines } from '../runbook/journal.js';
import { join } from 'node:path';
import type { LabState } from '../lab/state.js';
import { courseSections } from './sections.js';

export type ProgressEvent =
  | { type: 'start'; section: string; at: string; from: 'checkpoint' | 'built'; saved?: string }
  | { type: 'check'; section: string; at: string; pass: number; fail: number; regressed: string[] }
  | { type: 'solve'; section: string; at: string; changed: number }
  | { type: 'break'; section: string; at: string; name: string };

export const progressFile = (state: LabState) => join(state.dir, 'course.jsonl');

export function recordProgress(state: LabState, e: ProgressEvent): void {
  appendFileSync(progressFile(state), `${JSON.stringify(e)}\n`, { mode: 0o600 });
}

export function readProgress(state: LabState): ProgressEvent[] {
  return readJsonLines<ProgressEvent>(progressFile(state));
}

export type SectionState = 'not started' | 'started' | 'failing' | 'passed';

export interface SectionProgress {
  section: string;
  title: string;
  state: SectionState;
  /** The last check: passes and fails. */
  pass?: number;
  fail?: number;
  /** How it was passed: by hand (checked after a start, without solve) or by `solve`. */
  solvedBy?: 'hand' | 'solve';
  started?: string;
  lastChange?: string;
  checks: number;
}

/** Per course section: where the learner is. The current section is the one last started. */
export function progressSummary(events: ProgressEvent[]): { current?: string; challenge?: string; sections: SectionProgress[] } {
  const sections = courseSections().map<SectionProgress>((c) => ({ section: c.id, title: c.title, state: 'not started', checks: 0 }));
  const of = (id: string) => sections.find((s) => s.section === id);
  let current: string | undefined;
  let challenge: string | undefined;
  const solved = new Set<string>();
  for (const e of events) {
    const s = of(e.section);
    if (!s) continue;
    s.lastChange = e.at;
    if (e.type === 'start') {
      current = e.section;
      challenge = undefined;
      s.state = 'started';
      s.started = e.at;
      s.solvedBy = undefined;
      s.pass = s.fail = undefined;
      solved.delete(e.section);
    } else if (e.type === 'solve') solved.add(e.section);
    else if (e.type === 'break') {
      challenge = e.name;
      current = e.section;
    } else if (e.type === 'check') {
      s.checks += 1;
      s.pass = e.pass;
      s.fail = e.fail;
      s.state = e.fail ? 'failing' : 'passed';
      if (!e.fail) s.solvedBy = solved.has(e.section) ? 'solve' : 'hand';
      if (!e.fail && challenge && current === e.section) challenge = undefined;
    }
  }
  return { current, challenge, sections };
}
