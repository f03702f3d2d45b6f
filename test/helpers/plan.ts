/** Small plans built as data, for engine tests. */
import type { Plan, PlanStep } from '../../src/runbook/plan.js';

export function step(id: string, kind: string, params: Record<string, unknown>, extra: Partial<PlanStep> = {}): PlanStep {
  return { id, role: 'r1', section: '1.1', title: `Ensure ${id}`, kind, params, notify: [], timeoutMs: 5000, at: `roles/r1/role.yaml:${id}`, ...extra };
}

export function plan(steps: PlanStep[], handlers: PlanStep[] = [], more: Plan['roles'] = []): Plan {
  return { lab: 't', platform: 'debian12', roles: [{ role: 'r1', section: 1, title: 'Role one', steps, handlers }, ...more] };
}
