/**
 * The course as an HTML handout: an index, one page per course section (course/sections.yaml) in memo order, and
 * the runbook facts every "why" links to. Made from the same plan and checks as the Markdown lessons. Pure: data
 * in, pages out (file name -> content); `writeHandout` puts them in a folder. Offline and without script.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../../errors.js';
import type { Lab, LabParams, Platform } from '../../lab/lab-file.js';
import type { Role } from '../../runbook/load.js';
import type { PlanRole } from '../../runbook/plan.js';
import { repoRoot } from '../../schemas.js';
import type { CheckFile } from '../../verify/load.js';
import { factHeadings, sectionRole } from '../lesson.js';
import { type CourseSection, courseSections, inCourseSection } from '../sections.js';
import { count, esc, markdownHtml } from './html.js';
import { CSS, CSS_FILE, type Link, page } from './layout.js';
import { type LabView, labBox, type SectionContent, sectionBody, sectionFile, sectionLabel } from './section.js';

export interface HandoutInput {
  lab: Lab;
  platform: Platform;
  roles: Role[];
  checks: CheckFile[];
  /** The text of docs/runbook-facts.md. */
  facts: string;
  /**
   * A learner's own values, for a classroom: a lab parameter by name (hostname, mail_user, ...), `ssh` (the command
   * that opens their shell on the lab host), `login` (how they log in with it: their key, or where their password
   * is) and `port.N` (where they reach guest port N, e.g. "10.0.0.7:2587").
   */
  learner?: { name: string; values: Record<string, string> };
  /** Course sections (default: course/sections.yaml). */
  sections?: CourseSection[];
}

export const FACTS_PAGE = 'facts.html';

/** The lab with the learner's values in it: parameters (typed as the lab file's), the shell command, the ports. */
function learnerLab(lab: Lab, learner: HandoutInput['learner']): { lab: Lab; ssh?: string; login?: string; ports: Map<number, string> } {
  const ports = new Map(lab.ports.map((p) => [p.guest, `127.0.0.1:${p.host}`]));
  let ssh: string | undefined;
  let login: string | undefined;
  const params: Record<string, unknown> = { ...lab.params };
  for (const [k, v] of Object.entries(learner?.values ?? {})) {
    const port = /^port\.(\d+)$/.exec(k);
    if (port) ports.set(Number(port[1]), v);
    else if (k === 'ssh') ssh = v;
    else if (k === 'login') login = v;
    else if (k in params) {
      const old = params[k];
      params[k] = typeof old === 'number' ? Number(v) : typeof old === 'boolean' ? v === 'true' : v;
      if (typeof old === 'number' && !Number.isFinite(params[k]))
        throw new InputError(`learner value ${k}="${v}" is not a number`, `${k} is a number in the lab file.`);
    } else
      throw new InputError(
        `learner value "${k}" names nothing the handout knows`,
        `Give a lab parameter (${Object.keys(params).join(', ')}), "ssh" (the command to reach the lab host), "login" (how to log in) or "port.N" (where guest port N is reached).`,
      );
  }
  return { lab: { ...lab, params: params as unknown as LabParams }, ssh, login, ports };
}

function labView(i: HandoutInput, lab: Lab, ssh: string | undefined, login: string | undefined, ports: Map<number, string>): LabView {
  const file = relative(repoRoot, resolve(lab.file));
  const labFlag = file === 'lab.yaml' ? '' : ` --lab ${file.split(sep).join('/')}`;
  return {
    name: lab.name,
    platform: i.platform,
    labFlag,
    hostname: lab.params.hostname,
    mailUser: lab.params.mail_user,
    buildUser: i.platform === 'el7' ? lab.params.build_user : undefined,
    ssh: ssh ?? `npm run lab:ssh${labFlag ? ` --${labFlag}` : ''}`,
    login,
    ports: [...ports].sort(([a], [b]) => a - b).map(([guest, host]) => ({ guest, host })),
    learner: i.learner?.name,
  };
}

function content(s: CourseSection, role: PlanRole | undefined, checks: CheckFile[], list: CourseSection[]): SectionContent {
  const steps = (role?.steps ?? []).filter((x) => inCourseSection(x.section, s.id, list));
  const notified = new Set(steps.flatMap((x) => x.notify));
  const handlers = (role?.handlers ?? []).filter((h) => notified.has(h.id) || inCourseSection(h.section, s.id, list));
  const file = checks.find((f) => f.section === s.memoSection);
  return { section: s, role, steps, handlers, checks: (file?.checks ?? []).filter((c) => inCourseSection(c.section, s.id, list)) };
}

function indexBody(lab: LabView, parts: SectionContent[]): string {
  const item = (c: SectionContent) =>
    `<li><a href="${sectionFile(c.section.id)}">${esc(sectionLabel(c.section))}</a><span class="ja" lang="ja">${esc(c.section.title_ja)}</span> <span class="meta">· ${count(c.steps.length, 'step')}, ${count(c.checks.length, 'check')}</span></li>`;
  return [
    `<h1>The Postfix course<span class="ja" lang="ja">Postfix &amp; TIPS</span></h1>`,
    `<p class="meta">${esc(lab.platform)} · made from the runbook (roles/) and the checks (verify/) of postfix-lab</p>`,
    '<p>Each section is what you do in one sitting, in the order of the memo. Its page shows the memo’s wording (in Japanese) beside what the lab does, the lines you type on the lab host, why the lab differs from the memo where it does, and the checks that tell you the section works.</p>',
    '<h2 id="your-lab">Your lab</h2>',
    labBox(lab),
    '<h2 id="sections">Sections</h2>',
    `<ol class="sections">${parts.map(item).join('\n')}</ol>`,
    `<p>Where a step says “runbook-facts N”, <a href="${FACTS_PAGE}">the runbook facts</a> give the fact and its sources.</p>`,
  ].join('\n');
}

export function renderHandout(i: HandoutInput): Map<string, string> {
  const list = i.sections ?? courseSections();
  const { lab, ssh, login, ports } = learnerLab(i.lab, i.learner);
  const view = labView(i, lab, ssh, login, ports);
  const facts = factHeadings(i.facts);
  const roles = new Map<number, PlanRole | undefined>();
  const roleOf = (n: number) => {
    if (!roles.has(n)) roles.set(n, sectionRole(lab, i.roles, i.platform, n));
    return roles.get(n);
  };
  const parts = list.map((s) => content(s, roleOf(s.memoSection), i.checks, list));
  const pages = new Map<string, string>([[CSS_FILE, CSS]]);
  const suffix = ` — postfix-lab course, ${i.platform}`;
  pages.set('index.html', page({ title: `The Postfix course${suffix}`, here: 'index.html', body: indexBody(view, parts) }));
  const link = (c?: SectionContent): Link | undefined => c && { href: sectionFile(c.section.id), label: sectionLabel(c.section) };
  parts.forEach((c, k) => {
    const here = sectionFile(c.section.id);
    const body = sectionBody(c, view, facts);
    pages.set(here, page({ title: `${sectionLabel(c.section)}${suffix}`, here, prev: link(parts[k - 1]), next: link(parts[k + 1]), body }));
  });
  const factsBody = `<p class="meta">A copy of docs/runbook-facts.md, for ${esc(i.platform)}: the facts the runbook relies on where the memo is wrong, with their sources.</p>\n${markdownHtml(i.facts)}`;
  pages.set(FACTS_PAGE, page({ title: `Runbook facts${suffix}`, here: FACTS_PAGE, body: factsBody, bodyClass: 'facts' }));
  return pages;
}

/** Writes the pages into `dir` (made if missing), each 0644; returns their paths. Nothing is removed. */
export function writeHandout(dir: string, pages: Map<string, string>): string[] {
  const root = resolve(dir);
  const paths: string[] = [];
  for (const name of pages.keys()) {
    const p = resolve(root, name);
    if (isAbsolute(name) || !p.startsWith(root + sep)) {
      throw new InputError(`handout page "${name}" would be written outside ${root}`, 'Page names are plain relative file names.');
    }
  }
  mkdirSync(root, { recursive: true });
  for (const [name, text] of pages) {
    const p = join(root, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text, { mode: 0o644 });
    chmodSync(p, 0o644);
    paths.push(p);
  }
  return paths;
}
