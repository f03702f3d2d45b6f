/**
 * The handout in a real browser: Debian's headless Chromium loads every page of the debian12 and el7 handouts from
 * file://, offline. Every link and anchor of the rendered DOM must resolve, the expected headings must be in it,
 * and a screenshot of each page must be a page (many colours, the stylesheet's dark navigation bar on top).
 * Chromium (test/helpers/chromium.ts) is started once per page and ended by its process group (its PID) only.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handoutCommand } from '../../src/cli/course-handout.js';
import { sectionFile } from '../../src/course/handout/section.js';
import { courseSections } from '../../src/course/sections.js';
import type { Platform } from '../../src/lab/lab-file.js';
import { brokenLinks, htmlRefs } from '../helpers/html-links.js';
import { CHROMIUM, chromium as runChromium, endChromiums, picture } from '../helpers/chromium.js';
import { removeScratch } from '../helpers/scratch.js';

const scratch = mkdtempSync(join(tmpdir(), 'plab-handout-browser-'));
/** Set to a folder to keep the screenshots (to look at them). */
const keepShots = process.env.POSTFIX_LAB_HANDOUT_SHOTS;
afterAll(() => {
  endChromiums();
  removeScratch(scratch);
});
const chromium = (args: string[]) => runChromium(scratch, args);

const WIDTH = 1280;
const HEIGHT = 2000;

/** The headings a page must show once rendered. */
function expectedHeadings(name: string): RegExp[] {
  if (name === 'index.html') return [/<h1>The Postfix course/, /<h2 id="sections">Sections<\/h2>/, /<h2 id="your-lab">Your lab<\/h2>/];
  if (name === 'facts.html') return [/<h1 id="runbook-facts-where-the-memo-is-wrong/, /<h2 id="0-the-platform/, /<h2 id="4-tips/];
  const s = courseSections().find((c) => sectionFile(c.id) === name)!;
  return [
    new RegExp(`<h1 id="top">${s.id.replace('.', '\\.')}\\. `),
    /<h2 id="steps">Steps \(\d+\)<\/h2>/,
    /<h2 id="checks">Check your work \(\d+ checks\)<\/h2>/,
  ];
}

describe.each(['debian12', 'el7'] as Platform[])('the %s handout in headless Chromium', (platform) => {
  it('renders every page offline with its headings, every link and anchor resolves, and each screenshot is a page', async () => {
    expect(CHROMIUM, 'chromium is missing: run `sh scripts/system-deps.sh test` as root').toBeDefined();
    const dir = join(scratch, platform);
    expect(await handoutCommand({ platform, out: dir })).toBe(0);
    const files = readdirSync(dir).sort();
    const pages = files.filter((f) => f.endsWith('.html'));
    expect(pages).toEqual(['facts.html', 'index.html', ...courseSections().map((s) => sectionFile(s.id))].sort());

    const rendered = new Map<string, { links: string[]; ids: Set<string> }>(files.map((f) => [f, { links: [], ids: new Set<string>() }]));
    for (const name of pages) {
      const url = `file://${join(dir, name)}`;
      // One run: the DOM after load on stdout, and the screenshot of the same page.
      const shot = join(scratch, `${platform}-${name}.png`);
      const dom = await chromium(['--dump-dom', `--screenshot=${shot}`, `--window-size=${WIDTH},${HEIGHT}`, url]);
      expect(dom.code, `${name}: ${dom.stderr.slice(-1000)}`).toBe(0);
      for (const h of expectedHeadings(name)) expect(dom.stdout, name).toMatch(h);
      expect(dom.stdout).not.toMatch(/<script/i);
      rendered.set(name, htmlRefs(dom.stdout));
      if (keepShots) {
        mkdirSync(keepShots, { recursive: true });
        copyFileSync(shot, join(keepShots, `${platform}-${name}.png`));
      }
      const p = picture(shot);
      expect({ name, width: p.width, height: p.height }).toEqual({ name, width: WIDTH, height: HEIGHT });
      expect(p.colours, `${name}: distinct colours`).toBeGreaterThan(200); // text, code blocks, boxes: antialiased
      expect(p.inked, `${name}: share of non-white pixels`).toBeGreaterThan(0.03);
      expect(Math.max(...p.top), `${name}: the navigation bar (handout.css loaded)`).toBeLessThan(80);
    }
    expect(brokenLinks(rendered)).toEqual([]);
    const links = [...rendered.values()].flatMap((r) => r.links);
    expect(links.filter((h) => h.includes(':') || h.startsWith('/'))).toEqual([]);
    expect(links.filter((h) => h.startsWith('facts.html#')).length).toBeGreaterThan(10);
  }, 600_000);
});
