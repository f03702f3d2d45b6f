/**
 * The class report's HTML page in a real browser: Debian's headless Chromium loads it from file://, offline. The
 * rendered DOM has a row per learner and a column per course section, no script, and the screenshot is a page (the
 * dark header on top, the cells' colours). The report comes from a roster of three learners whose checks are given.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classReport } from '../../src/class/report.js';
import { writeRoster } from '../../src/class/roster.js';
import { courseSections } from '../../src/course/sections.js';
import { classHtml } from '../../src/output/class-report.js';
import type { VerifyOptions, VerifyReport } from '../../src/verify/index.js';
import { CHROMIUM, chromium, endChromiums, picture } from '../helpers/chromium.js';
import { removeScratch } from '../helpers/scratch.js';

const scratch = mkdtempSync(join(tmpdir(), 'plab-class-page-'));
const saved = process.env.POSTFIX_LAB_HOME;
afterAll(() => {
  endChromiums();
  if (saved === undefined) delete process.env.POSTFIX_LAB_HOME;
  else process.env.POSTFIX_LAB_HOME = saved;
  removeScratch(scratch);
});

describe('the class report page in headless Chromium', () => {
  it('renders offline as a table of learners x sections with coloured cells', async () => {
    expect(CHROMIUM, 'chromium is missing: run `sh scripts/system-deps.sh test` as root').toBeDefined();
    process.env.POSTFIX_LAB_HOME = join(scratch, 'home');
    mkdirSync(join(scratch, 'home', 'class-page'), { recursive: true });
    const learners = ['01', '02', '03'].map((n) => ({
      learner: n,
      lab: `page-${n}`,
      labFile: `/nowhere/page-${n}.yaml`,
      ssh: 'ssh',
      ports: {},
      credentials: '',
      handout: '',
    }));
    writeRoster({ class: 'page', created: '', platform: 'debian12', section: '2', listen: '127.0.0.1', learners });
    const passedUpTo: Record<string, number> = { 'page-01': 3, 'page-02': 1 };
    const verify = async (o: VerifyOptions): Promise<VerifyReport> => {
      if (!(o.name! in passedUpTo)) throw new Error(`lab ${o.name} has not been brought up on this machine`);
      const results = courseSections().map((s, i) => ({
        id: `${s.id}/c`,
        section: s.id,
        title: 'c',
        status: i < passedUpTo[o.name!]! ? ('pass' as const) : ('fail' as const),
        durationMs: 1,
        message: '',
        hint: '',
      }));
      return { files: [], results, notRun: [], summary: { pass: 0, fail: 0, inconclusive: 0 }, durationMs: 1 };
    };
    const page = join(scratch, 'report.html');
    writeFileSync(page, classHtml(await classReport({ class: 'page', verify })));

    const shot = join(scratch, 'report.png');
    const r = await chromium(scratch, ['--dump-dom', `--screenshot=${shot}`, '--window-size=1400,700', `file://${page}`]);
    expect(r.code, r.stderr.slice(-1000)).toBe(0);
    expect(r.stdout).toMatch(/<h1 id="class">Class page<\/h1>/);
    expect(r.stdout).not.toMatch(/<script/i);
    const rows = [...r.stdout.matchAll(/<tr>\s*<th scope="row">(\d+)<\/th>/g)].map((m) => m[1]);
    expect(rows).toEqual(['01', '02', '03']);
    expect(r.stdout.match(/<th scope="col" title=/g)).toHaveLength(courseSections().length);
    expect(r.stdout.match(/<td class="passed">/g)).toHaveLength(4);
    expect(r.stdout).toMatch(/<td class="failing">1 failing/);
    expect(r.stdout).toMatch(/<td class="error" colspan="\d+">cannot check: lab page-03 has not been brought up/);
    const keep = process.env.POSTFIX_LAB_HANDOUT_SHOTS; // a folder to keep the screenshot in, to look at it
    if (keep) mkdirSync(keep, { recursive: true }), copyFileSync(shot, join(keep, 'class-report.png'));
    const p = picture(shot);
    expect({ width: p.width, height: p.height }).toEqual({ width: 1400, height: 700 });
    expect(p.colours, 'distinct colours').toBeGreaterThan(100);
    expect(Math.max(...p.top), 'the dark header (the page style loaded)').toBeLessThan(80);
  }, 120_000);
});
