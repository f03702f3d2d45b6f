/** npm run class:report: who is where, for the whole class (terminal table, --csv, --json, --html, --watch N). */
import { writeFileSync } from 'node:fs';
import { type ClassReport, classReport } from '../class/report.js';
import { InputError } from '../errors.js';
import { classCsv, classHtml, formatClassTable } from '../output/class-report.js';
import { withCtrlC } from './interrupt.js';
import type { Opts } from './table.js';

interface ReportOpts {
  class?: string;
  csv?: string;
  html?: string;
  json?: boolean;
  watch?: string;
}

/** --watch's period in seconds: a number of at least 5 (a report of a big class takes several seconds itself). */
export function watchSeconds(given: string | undefined): number | undefined {
  if (given === undefined) return undefined;
  const n = Number(given);
  if (!Number.isFinite(n) || n < 5 || n > 3600)
    throw new InputError(`--watch ${given}: not a period in seconds between 5 and 3600`, 'Example: npm run class:report -- --watch 30');
  return n;
}

export async function classReportCommand(opts: Opts): Promise<number> {
  const o = opts as ReportOpts;
  const name = o.class ?? 'class';
  const every = watchSeconds(o.watch);
  const tty = !!process.stdout.isTTY && !process.env.NO_COLOR;
  const write = (r: ClassReport) => {
    if (o.csv) writeFileSync(o.csv, classCsv(r));
    if (o.html) writeFileSync(o.html, classHtml(r, { refreshSeconds: every }));
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`${every && tty ? '\x1b[2J\x1b[H' : ''}${formatClassTable(r, tty)}`);
  };
  const healthy = (r: ClassReport) => r.rows.every((row) => !row.error);
  if (!every) {
    const r = await classReport({ class: name });
    write(r);
    return healthy(r) ? 0 : 1;
  }
  return withCtrlC(
    async (signal) => {
      while (!signal.aborted) {
        const r = await classReport({ class: name });
        write(r);
        if (!o.json) process.stdout.write(`(again in ${every} s; Ctrl-C ends)\n`);
        await new Promise<void>((done) => {
          const t = setTimeout(done, every * 1000);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              done();
            },
            { once: true },
          );
        });
      }
      return 0;
    },
    () => process.stderr.write('\nstopped watching\n'),
  );
}
