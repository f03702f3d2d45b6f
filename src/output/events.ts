/** What the engine tells its listeners. Reporters (terminal, plain lines, JSON lines, JUnit) only listen. */
/** `differs`: check mode (lab:up --check) found what the step's apply would change, and changed nothing. */
export type StepStatus = 'ok' | 'changed' | 'skipped' | 'failed' | 'differs';

export interface StepInfo {
  id: string;
  role: string;
  section: string;
  title: string;
  kind: string;
  handler?: boolean;
}

export type EngineEvent =
  | { event: 'info'; message: string }
  | { event: 'run'; lab: string; platform: string; steps: number; resuming: boolean; from?: string; check?: boolean }
  | { event: 'role'; role: string; section: number; title: string; title_ja?: string }
  | ({ event: 'step-start' } & StepInfo)
  | ({ event: 'step'; status: StepStatus; durationMs: number; detail?: string; diff?: string; hint?: string; log?: string } & StepInfo)
  | { event: 'reconnect'; host: string; attempt: number; message: string }
  | { event: 'recap'; ok: number; changed: number; skipped: number; failed: number; differs?: number; durationMs: number };

export type Listener = (e: EngineEvent) => void;

export class Emitter {
  private listeners: Listener[] = [];
  on(l: Listener): this {
    this.listeners.push(l);
    return this;
  }
  emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }
}
