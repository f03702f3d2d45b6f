/** The HTML handout: made from the same plan and checks as the lessons, in course order, safe and self-contained. */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { courseSource } from '../../src/cli/lesson.js';
import { renderHandout, writeHandout, type HandoutInput } from '../../src/course/handout/index.js';
import { sectionFile } from '../../src/course/handout/section.js';
import { sectionRole } from '../../src/course/lesson.js';
import { courseSections, inCourseSection } from '../../src/course/sections.js';
import { InputError } from '../../src/errors.js';
import type { Platform } from '../../src/lab/lab-file.js';
import { brokenLinks, htmlRefs } from '../helpers/html-links.js';
import { roles } from '../helpers/runbook.js';
import { removeScratch } from '../helpers/scratch.js';

const input = (platform: Platform, extra: Partial<HandoutInput> = {}): HandoutInput => {
  const s = courseSource(undefined, platform);
  return { lab: s.lab, platform, roles, checks: s.checks, facts: s.facts, ...extra };
};
const handouts = new Map((['debian12', 'el7'] as Platform[]).map((p) => [p, renderHandout(input(p))]));
const htmlPages = (pages: Map<string, string>) => [...pages].filter(([name]) => name.endsWith('.html'));
const scratch = mkdtempSync(join(tmpdir(), 'plab-handout-'));
afterAll(() => removeScratch(scratch));

describe('course handout', () => {
  it('has an index, a facts page and one page per course section, listed and chained prev/next in memo order', () => {
    const sections = courseSections();
    for (const pages of handouts.values()) {
      expect([...pages.keys()].sort()).toEqual(['facts.html', 'handout.css', 'index.html', ...sections.map((s) => sectionFile(s.id))].sort());
      const index = pages.get('index.html')!;
      const listed = sections.map((s) => index.indexOf(`href="${sectionFile(s.id)}"`));
      expect(listed.every((p) => p > 0)).toBe(true);
      expect(listed).toEqual([...listed].sort((a, b) => a - b));
      sections.forEach((s, k) => {
        const html = pages.get(sectionFile(s.id))!;
        expect(html).toContain(`<h1 id="top">${s.id}. `);
        if (k > 0) expect(html).toContain(`href="${sectionFile(sections[k - 1]!.id)}" rel="prev"`);
        else expect(html).not.toContain('rel="prev"');
        if (k < sections.length - 1) expect(html).toContain(`href="${sectionFile(sections[k + 1]!.id)}" rel="next"`);
        else expect(html).not.toContain('rel="next"');
      });
    }
  });

  it("puts every planned step on its course section's page (a role's bare number on its last part), with the memo's Japanese beside it", () => {
    for (const [platform, pages] of handouts) {
      const { lab } = courseSource(undefined, platform);
      for (const s of courseSections()) {
        const html = pages.get(sectionFile(s.id))!;
        expect(html).toContain(`<span class="ja" lang="ja">${s.title_ja.replace(/&/g, '&amp;')}</span>`);
        for (const step of sectionRole(lab, roles, platform, s.memoSection)?.steps ?? []) {
          const here = html.includes(`<article class="step" id="step-${step.id}">`);
          expect(here, `${platform} ${s.id} ${step.id} (memo ${step.section})`).toBe(inCourseSection(step.section, s.id));
        }
      }
      const s3 = pages.get('section-3.html')!;
      expect(s3).toMatch(/<div class="ja" lang="ja">[\s\S]*?<p class="memo">[^<]*[\u3040-\u30ff\u4e00-\u9fff]/); // kana or kanji
      expect(s3).toContain('unix_listener /var/spool/postfix/private/auth'); // the Dovecot drop-in, to type in full
      expect(pages.get('section-4-6.html')).toContain('id="step-ready-04"'); // section "4": the role's last part
      expect(pages.get('section-4-4.html')).not.toContain('id="step-ready-04"');
    }
    expect(handouts.get('el7')!.get('section-1.html')).toContain('rpmbuild -bb SPECS/postfix.spec');
    expect(handouts.get('debian12')!.get('section-1.html')).not.toContain('rpmbuild');
  });

  it("shows each section's checks with their hints, and reaches the lab with npm run lab:ssh and this lab's ports", () => {
    const pages = handouts.get('debian12')!;
    const s41 = pages.get('section-4-1.html')!;
    expect(s41).toContain('587 (submission) answers');
    expect(s41).toContain('master.cf needs a submission inet service.');
    expect(s41).toContain('(127.0.0.1:13587 from your machine)');
    expect(s41).not.toContain('10025 (postfix-deux) answers'); // a 4.5 check
    expect(s41).toContain('npm run lab:ssh -- --lab labs/debian12-container.yaml');
    expect(s41).toContain('<code>mail.lab.example</code>');
    expect(pages.get('section-4-5.html')).toContain('10025 (postfix-deux) answers');
  });

  it('links every "runbook-facts N" to an anchor of its facts page, and every link stays inside the handout', () => {
    for (const pages of handouts.values()) {
      const refs = new Map([...pages].map(([name, html]) => [name, name.endsWith('.html') ? htmlRefs(html) : { links: [], ids: new Set<string>() }]));
      expect(brokenLinks(refs)).toEqual([]);
      const all = [...refs.values()].flatMap((r) => r.links);
      expect(all.filter((h) => /^[a-z][a-z0-9+.-]*:|^\/\/|^\//i.test(h))).toEqual([]);
      expect(all.filter((h) => h.startsWith('facts.html#')).length).toBeGreaterThan(10);
      for (const [name, html] of htmlPages(pages)) {
        expect(html, name).not.toMatch(/<(script|iframe|object|embed|style)\b|<[^>]*\son[a-z]+=/i);
        expect(html).toContain('<link rel="stylesheet" href="handout.css">');
      }
      expect(pages.get('handout.css')).not.toMatch(/@import|url\(|@font-face/);
    }
  });

  it('escapes every value it shows: a learner, a lab parameter and the facts text with <script> and &', () => {
    const bad = '<script>alert("x")</script> & co';
    const pages = renderHandout(
      input('debian12', {
        facts: `${courseSource(undefined, 'debian12').facts}\n\n## 9. Bad ${bad}\n\nraw <script>alert(1)</script> & <img src="http://x/y.png"> [a](https://example.com/)\n`,
        learner: { name: bad, values: { ssh: `ssh -p 2222 ${bad}`, 'port.587': '10.0.0.7:2587' } },
      }),
    );
    for (const [name, html] of htmlPages(pages)) {
      expect(html, name).not.toMatch(/<script|<img/i);
      expect(html).not.toMatch(/&(?!amp;|lt;|gt;|quot;|#39;)/); // every & an entity
    }
    const s41 = pages.get('section-4-1.html')!;
    expect(s41).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co');
    expect(s41).toContain('<code>ssh -p 2222 &lt;script&gt;');
    expect(s41).toContain('(10.0.0.7:2587 from your machine)');
    expect(pages.get('facts.html')).toContain('raw &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img');
    expect(pages.get('facts.html')).not.toContain('href="https://');
  });

  it("uses a learner's parameters in the commands to type, and names an unknown learner value with what it could be", () => {
    const pages = renderHandout(input('debian12', { learner: { name: 'Aiko', values: { mail_user: 'aiko' } } }));
    expect(pages.get('section-3.html')).toContain('sudo useradd --create-home aiko');
    expect(pages.get('section-3.html')).not.toContain('useradd --create-home learner');
    expect(pages.get('index.html')).toContain('<dt>Learner</dt><dd>Aiko</dd>');
    const typo = () => renderHandout(input('debian12', { learner: { name: 'x', values: { hostnmae: 'a' } } }));
    expect(typo).toThrow(/learner value "hostnmae"/);
    expect(() => typo()).toThrow(expect.objectContaining({ hint: expect.stringContaining('hostname, ') }));
  });

  it('writes the pages 0644 into the folder and refuses a name that leaves it', () => {
    const pages = handouts.get('debian12')!;
    const paths = writeHandout(join(scratch, 'out'), pages);
    expect(paths).toHaveLength(pages.size);
    for (const p of paths) expect(statSync(p).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(scratch, 'out', 'index.html'), 'utf8')).toBe(pages.get('index.html'));
    expect(() => writeHandout(join(scratch, 'bad'), new Map([['../escaped.html', 'x']]))).toThrow(InputError);
    expect(() => statSync(join(scratch, 'escaped.html'))).toThrow();
  });
});
