/** --dry-run: the plan with every command that would run, touching no host. */
import { kinds } from '../runbook/kinds/index.js';
import type { Plan } from '../runbook/plan.js';

/** The plan; with `selected` (from --section/--only/--from/--until), only those steps, numbered as in the whole plan. */
export function formatPlan(plan: Plan, opts: { driver?: string; why?: string; selected?: Set<string> } = {}): string {
  const out: string[] = [`plan for lab ${plan.lab} on ${plan.platform}${opts.driver ? `, driver ${opts.driver} (${opts.why})` : ''}`];
  let n = 0;
  let shown = 0;
  for (const role of plan.roles) {
    const picked = (s: { id: string }) => !opts.selected || opts.selected.has(s.id);
    if (!role.steps.some(picked)) {
      n += role.steps.length;
      continue;
    }
    out.push('', `== ${role.section}. ${role.title}${role.title_ja ? ` (${role.title_ja})` : ''}`);
    const show = (s: (typeof role.steps)[number], handler: boolean) => {
      if (!handler && !picked(s)) {
        n++;
        return;
      }
      if (!handler) shown++;
      const cmds = kinds[s.kind]!.describe(s.params as never, plan.platform);
      out.push(`${handler ? '  handler' : `  ${String(++n).padStart(3)}.`} [${s.section}] ${s.id}: ${s.title}${s.memo ? `  «${s.memo}»` : ''}`);
      if (s.why) out.push(`        why: ${s.why}`);
      for (const c of cmds.check) out.push(`        check: ${c}`);
      for (const c of cmds.apply) out.push(`        apply: ${c}`);
      if (s.notify.length) out.push(`        notify: ${s.notify.join(', ')}`);
    };
    role.steps.forEach((s) => show(s, false));
    role.handlers.forEach((h) => show(h, true));
  }
  out.push('', `${opts.selected ? `${shown} of ${n}` : n} steps; nothing was run (dry run).`);
  return out.join('\n') + '\n';
}
