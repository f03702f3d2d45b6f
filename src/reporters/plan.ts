/** --dry-run: the plan with every command that would run, touching no host. */
import { kinds } from '../kinds/index.js';
import type { Plan } from '../plan.js';

export function formatPlan(plan: Plan, opts: { driver?: string; why?: string } = {}): string {
  const out: string[] = [`plan for lab ${plan.lab} on ${plan.platform}${opts.driver ? `, driver ${opts.driver} (${opts.why})` : ''}`];
  let n = 0;
  for (const role of plan.roles) {
    out.push('', `== ${role.section}. ${role.title}${role.title_ja ? ` (${role.title_ja})` : ''}`);
    const show = (s: (typeof role.steps)[number], handler: boolean) => {
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
  out.push('', `${n} steps; nothing was run (dry run).`);
  return out.join('\n') + '\n';
}
