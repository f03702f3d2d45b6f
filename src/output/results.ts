/**
 * The one vocabulary both pipelines report in. A runbook step ends ok, changed, skipped or failed (the words Ansible
 * users know); a verify check ends pass, fail or inconclusive (goss's words, in verify's own output). Formatters that
 * serve both (JUnit) see only a Result, whose outcome says what a test report needs to know.
 */
import type { StepStatus } from './events.js';
import type { CheckStatus } from '../verify/types.js';

export type Outcome = 'passed' | 'changed' | 'failed' | 'skipped' | 'inconclusive';

export interface Result {
  /** What the result belongs to: a role (lab:up) or a memo section (verify). */
  group: string;
  name: string;
  outcome: Outcome;
  durationMs: number;
  message?: string;
  hint?: string;
}

// In check mode a step that differs fails the report: the lab is not as the runbook builds it.
const STEP: Record<StepStatus, Outcome> = { ok: 'passed', changed: 'changed', skipped: 'skipped', failed: 'failed', differs: 'failed' };
const CHECK: Record<CheckStatus, Outcome> = { pass: 'passed', fail: 'failed', inconclusive: 'inconclusive' };

export const stepOutcome = (s: StepStatus): Outcome => STEP[s];
export const checkOutcome = (s: CheckStatus): Outcome => CHECK[s];
