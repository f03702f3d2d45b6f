/** `npm run course -- handout`: the course as HTML pages for one platform, written into a folder. */
import { resolve } from 'node:path';
import { renderHandout, writeHandout } from '../course/handout/index.js';
import type { Platform } from '../lab/lab-file.js';
import { loadRoles } from '../runbook/load.js';
import { courseSource } from './lesson.js';

/** lab: a lab file (default: the shipped lab for --platform, else lab.yaml); out: default .lab-handout/PLATFORM/ (beside .lab/, whose folders are labs). */
export async function handoutCommand(opts: { lab?: string; platform?: Platform; out?: string }): Promise<number> {
  const s = courseSource(opts.lab, opts.platform);
  const pages = renderHandout({ lab: s.lab, platform: s.platform, roles: loadRoles(), checks: s.checks, facts: s.facts });
  const out = opts.out ?? resolve('.lab-handout', s.platform);
  const paths = writeHandout(out, pages);
  const index = paths.find((p) => p.endsWith('/index.html'))!;
  process.stdout.write(`wrote the ${s.platform} handout (${paths.length} files) to ${out}\nopen ${index}\n`);
  return 0;
}
