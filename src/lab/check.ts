/** lab:up --check: what the runbook would change on a lab that exists, changing nothing. */
import { checkPlan, type CheckRecap } from '../runbook/check-mode.js';
import type { Selection } from '../runbook/plan.js';
import { type SessionOptions, withSession, type Session } from './session.js';

export interface CheckOptions extends SessionOptions {
  selection?: Selection;
  signal?: AbortSignal;
}

/** Check mode on an open session (the course runs it beside verify on the same connection). */
export function checkSession(s: Session, selection?: Selection, signal?: AbortSignal): Promise<CheckRecap> {
  return checkPlan(s.plan, {
    host: s.host,
    platform: s.lab.platform,
    sudo: s.target.sudo,
    artifactsDir: s.lab.params.artifacts,
    secrets: s.secrets,
    events: s.events,
    selection,
    signal,
  });
}

export function labCheck(o: CheckOptions): Promise<CheckRecap> {
  return withSession(o, (s) => checkSession(s, o.selection, o.signal));
}
