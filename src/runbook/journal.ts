/**
 * The journal: one JSON line per finished step, per notified handler and per run start/end, in .lab/<name>/journal.jsonl.
 * After a failed or interrupted run, the next run skips what is done and runs pending handlers; a completed run
 * starts the next one from the top (where every step then checks ok: a second run changes nothing).
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, statSync } from 'node:fs';

export type JournalRecord =
  | { type: 'run'; runId: string; at: string; platform: string; steps: number }
  | { type: 'step'; runId: string; id: string; status: 'ok' | 'changed'; at: string }
  | { type: 'notify'; runId: string; handler: string; role: string }
  | { type: 'handler'; runId: string; id: string; role: string; at: string }
  | { type: 'end'; runId: string; result: 'ok' | 'failed' | 'partial'; failedStep?: string; at: string };

export interface ResumeState {
  /** True when the last run did not finish: the next run resumes. */
  resuming: boolean;
  done: Set<string>;
  /** Handlers notified but not yet run, by role. */
  pending: Map<string, Set<string>>;
  failedStep?: string;
}

/** The records of a JSON-lines file; a missing file has none, and a line cut short by a crash is skipped. */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as T];
      } catch {
        return [];
      }
    });
}

export class Journal {
  constructor(readonly path: string) {}

  records(): JournalRecord[] {
    // a line cut short by a crash is ignored; the step it recorded runs again (steps are idempotent)
    return readJsonLines<JournalRecord>(this.path);
  }

  append(r: JournalRecord): void {
    // a line cut short by a crash has no newline: start on a line of our own, or this record would be lost with it
    appendFileSync(this.path, (this.endsMidLine() ? '\n' : '') + JSON.stringify(r) + '\n', { mode: 0o600 });
  }

  private endsMidLine(): boolean {
    const size = statSync(this.path, { throwIfNoEntry: false })?.size ?? 0;
    if (!size) return false;
    const fd = openSync(this.path, 'r');
    try {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, size - 1);
      return b[0] !== 0x0a;
    } finally {
      closeSync(fd);
    }
  }

  /** A new lab host starts a new journal (the old one is kept beside it for reference). */
  reset(): void {
    if (existsSync(this.path)) renameSync(this.path, `${this.path}.previous`);
  }

  /** Every step this lab host has finished, in any run. */
  finished(): Set<string> {
    return new Set(this.records().flatMap((r) => (r.type === 'step' ? [r.id] : [])));
  }

  resumeState(): ResumeState {
    const recs = this.records();
    // Everything after the last successful end belongs to the unfinished sequence of runs.
    let start = 0;
    recs.forEach((r, i) => {
      if (r.type === 'end' && r.result === 'ok') start = i + 1;
    });
    const tail = recs.slice(start);
    // Resume only after a run that failed or never ended (interrupted); a successful partial run (--only) is no reason.
    const ended = new Map(tail.flatMap((r) => (r.type === 'end' ? [[r.runId, r.result] as const] : [])));
    const resuming = tail.some((r) => r.type === 'run' && (ended.get(r.runId) ?? 'failed') === 'failed');
    const state: ResumeState = { resuming, done: new Set(), pending: new Map() };
    for (const r of tail) {
      if (r.type === 'step') state.done.add(r.id);
      if (r.type === 'notify') {
        const set = state.pending.get(r.role) ?? new Set<string>();
        set.add(r.handler);
        state.pending.set(r.role, set);
      }
      if (r.type === 'handler') state.pending.get(r.role)?.delete(r.id);
      if (r.type === 'end' && r.result === 'failed') state.failedStep = r.failedStep;
    }
    return state;
  }
}
