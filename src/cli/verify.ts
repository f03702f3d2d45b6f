/** npm run verify: the checks in verify/ against a running lab; exit 1 when a check failed. */
import { writeFileSync } from 'node:fs';
import { sectionFlag } from './lab.js';
import type { Opts } from './table.js';

export async function verify(opts: Opts): Promise<number> {
  const o = opts as { lab?: string; name?: string; json?: boolean; junit?: string; section?: string };
  const section = sectionFlag(o.section);
  const { verifyLab } = await import('../verify/index.js');
  const { formatReport, reportJson, reportJunit } = await import('../output/verify-report.js');
  const report = await verifyLab({ labFile: o.lab, name: o.name, section });
  if (o.junit) writeFileSync(o.junit, reportJunit(report));
  process.stdout.write(o.json ? reportJson(report) + '\n' : formatReport(report, !!process.stdout.isTTY && !process.env.NO_COLOR));
  return report.summary.fail ? 1 : 0;
}
