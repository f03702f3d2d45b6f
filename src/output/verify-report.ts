/** verify's output: grouped by section on a terminal, JSON, JUnit. */
import { junitXml } from './junit.js';
import { checkOutcome } from './results.js';
import type { VerifyReport } from '../verify/index.js';

const MARK = { pass: 'pass', fail: 'FAIL', inconclusive: '????' } as const;

export function formatReport(r: VerifyReport, color = false): string {
  const paint = (s: string, c: string) => (color ? `\x1b[${c}m${s}\x1b[0m` : s);
  const colors = { pass: '32', fail: '31', inconclusive: '33' } as const;
  const out: string[] = [];
  for (const f of r.files) {
    const results = r.results.filter((x) => f.checks.some((c) => c.id === x.id));
    if (!results.length) continue;
    out.push('', `== ${f.section}. ${f.title}${f.title_ja ? ` (${f.title_ja})` : ''}`);
    for (const x of results) {
      out.push(`  ${paint(MARK[x.status], colors[x.status])} ${x.section.padEnd(6)} ${x.title} (${(x.durationMs / 1000).toFixed(2)}s)`);
      if (x.status !== 'pass') {
        out.push(`         ${x.message}`);
        if (x.hint) out.push(`         hint: ${x.hint}`);
      }
    }
  }
  const s = r.summary;
  out.push('', `verify: ${s.pass} pass, ${s.fail} fail, ${s.inconclusive} inconclusive in ${(r.durationMs / 1000).toFixed(1)}s`);
  return out.join('\n') + '\n';
}

export function reportJson(r: VerifyReport): string {
  return JSON.stringify({
    results: r.results.map(({ id, section, title, status, durationMs, message, hint }) => ({ id, section, title, status, durationMs, message, hint })),
    summary: r.summary,
  });
}

export function reportJunit(r: VerifyReport): string {
  return junitXml(
    'verify',
    r.results.map((x) => {
      const file = r.files.find((f) => f.checks.some((c) => c.id === x.id));
      return {
        group: `section-${file?.section ?? '?'} ${file?.title ?? ''}`.trim(),
        name: `${x.section} ${x.title}`,
        durationMs: x.durationMs,
        outcome: checkOutcome(x.status),
        message: x.message,
        hint: x.hint,
      };
    }),
  );
}
