/**
 * One course section as a handout page: how to reach the lab, every step with the memo's Japanese wording beside
 * the English, the lines to type, why the lab differs from the memo (linked to the facts page), and the checks.
 */
import type { Platform } from '../../lab/lab-file.js';
import type { PlanRole, PlanStep } from '../../runbook/plan.js';
import type { Check } from '../../verify/load.js';
import { factRefs, learnerCommands } from '../lesson.js';
import type { CourseSection } from '../sections.js';
import { codeBlock, count, esc, inlineHtml } from './html.js';

/** What the page says about the learner's own lab: every value already the learner's where one was given. */
export interface LabView {
  name: string;
  platform: Platform;
  /** ` --lab labs/x.yaml`, or '' for the default lab.yaml. */
  labFlag: string;
  hostname: string;
  mailUser: string;
  buildUser?: string;
  /** How to get a shell on the lab host. */
  ssh: string;
  /** How the learner logs in with it (their key, or where their password is), for a classroom. */
  login?: string;
  /** Guest port -> where the learner reaches it from their own machine. */
  ports: { guest: number; host: string }[];
  learner?: string;
}

export interface SectionContent {
  section: CourseSection;
  role?: PlanRole;
  steps: PlanStep[];
  handlers: PlanStep[];
  checks: Check[];
}

/** The page file of a course section: section-4-4.html. */
export const sectionFile = (id: string) => `section-${id.replace(/\./g, '-')}.html`;
export const sectionLabel = (s: CourseSection) => `${s.id}. ${s.title}`;
export const stepAnchor = (s: PlanStep) => `step-${s.id}`;

export function labBox(lab: LabView): string {
  const row = (k: string, v: string) => `<dt>${esc(k)}</dt><dd>${v}</dd>`;
  const ports = lab.ports.length ? lab.ports.map((p) => `<code>${esc(p.guest)}</code> → <code>${esc(p.host)}</code>`).join(', ') : 'none forwarded';
  return [
    '<dl class="lab">',
    lab.learner ? row('Learner', esc(lab.learner)) : '',
    row('Lab', `<code>${esc(lab.name)}</code> (${esc(lab.platform)})`),
    row('Shell on the lab host', `<code>${esc(lab.ssh)}</code>`),
    lab.login ? row('Log in', esc(lab.login)) : '',
    row('Host name', `<code>${esc(lab.hostname)}</code>`),
    row('Mail user', `<code>${esc(lab.mailUser)}</code>`),
    lab.buildUser ? row('Build user', `<code>${esc(lab.buildUser)}</code>`) : '',
    row('Ports (lab → your machine)', ports),
    '</dl>',
  ]
    .filter(Boolean)
    .join('\n');
}

function whyNote(why: string, facts: Map<number, string>): string {
  const refs = factRefs(why, facts);
  const links = refs.length ? ` Facts and sources: ${refs.map((f) => `<a href="facts.html#${esc(f.anchor)}">runbook-facts ${f.n}</a>`).join(', ')}.` : '';
  return `<div class="why"><strong>Why it differs from the memo:</strong> ${inlineHtml(why)}${links}</div>`;
}

function stepArticle(s: PlanStep, label: string, platform: Platform, facts: Map<number, string>): string {
  const d = learnerCommands(s, platform);
  const en = [
    `<p class="meta"><code>${esc(s.id)}</code> · memo section ${esc(s.section)} · ${esc(s.kind)}</p>`,
    s.why ? whyNote(s.why, facts) : '<p class="none">Done as the memo says.</p>',
  ];
  const ja = s.memo
    ? `<div class="ja" lang="ja"><p class="label" lang="en">The memo (${esc(s.section)})</p><p class="memo">${esc(s.memo)}</p></div>`
    : '<div class="ja"><p class="label">The memo</p><p class="none">Not in the memo: the lab adds this step.</p></div>';
  const out = [
    `<article class="step" id="${esc(stepAnchor(s))}">`,
    `<h3>${esc(label)}: ${inlineHtml(s.title)}</h3>`,
    `<div class="side"><div class="en">${en.join('\n')}</div>${ja}</div>`,
    '<h4>Check (is it done already?)</h4>',
    codeBlock(d.check),
  ];
  if (d.apply.length) out.push('<h4>Type (only when the check says it is not done)</h4>', codeBlock(d.apply));
  else out.push('<p class="none">Nothing to type but the check: the step only looks, and fails when the check does.</p>');
  if (s.notify.length)
    out.push(`<p class="meta">A change here is followed by the handler ${s.notify.map((h) => `<a href="#step-${esc(h)}">${esc(h)}</a>`).join(', ')}.</p>`);
  out.push('</article>');
  return out.join('\n');
}

function checkRow(c: Check, lab: LabView): string {
  const port = c.kind === 'tcp' ? lab.ports.find((p) => String(p.guest) === c.target) : undefined;
  const target = `<code>${esc(c.target)}</code>${port ? ` <span class="meta">(${esc(port.host)} from your machine)</span>` : ''}`;
  return `<tr><td>${esc(c.section)}</td><td>${inlineHtml(c.title)}</td><td>${esc(c.kind)} ${target}</td><td>${inlineHtml(c.hint)}</td></tr>`;
}

export function sectionBody(c: SectionContent, lab: LabView, facts: Map<number, string>): string {
  const s = c.section;
  const whole = c.role && c.steps.length === c.role.steps.length;
  const out = [
    `<h1 id="top">${esc(s.id)}. ${esc(s.title)}<span class="ja" lang="ja">${esc(s.title_ja)}</span></h1>`,
    `<p class="meta">${esc(lab.platform)} · memo ${s.memo.length > 1 ? 'sections' : 'section'} ${esc(s.memo.join(', '))} · ${count(c.steps.length, 'step')} · ${count(c.checks.length, 'check')}</p>`,
  ];
  if (whole && c.role?.description) out.push(`<p>${inlineHtml(c.role.description)}</p>`);
  out.push(
    '<h2 id="your-lab">Your lab</h2>',
    labBox(lab),
    '<p>Start the section from its checkpoint (your lab as it is now is saved first):</p>',
    codeBlock([`npm run course -- start ${s.id}${lab.labFlag}`]),
    `<p>Open a shell on the lab host with <code>${esc(lab.ssh)}</code> and type each step's lines there. The checks show whether a step is done already; type its other lines only when it is not.</p>`,
  );
  out.push(`<h2 id="steps">Steps (${c.steps.length})</h2>`);
  if (!c.steps.length) out.push(`<p class="none">The runbook has no step for section ${esc(s.id)} on ${esc(lab.platform)}.</p>`);
  c.steps.forEach((x, k) => out.push(stepArticle(x, `Step ${k + 1}`, lab.platform, facts)));
  if (c.handlers.length) {
    out.push('<h2 id="handlers">Handlers</h2>', '<p>They run once, at the end of the section, when a step that names them changed something.</p>');
    for (const h of c.handlers) out.push(stepArticle(h, 'Handler', lab.platform, facts));
  }
  out.push(`<h2 id="checks">Check your work (${c.checks.length} checks)</h2>`);
  if (c.checks.length) {
    out.push('<table><thead><tr><th>memo</th><th>check</th><th>kind, target</th><th>if it fails</th></tr></thead><tbody>');
    out.push(...c.checks.map((x) => checkRow(x, lab)), '</tbody></table>');
  } else out.push('<p class="none">No check belongs to this section.</p>');
  out.push(
    '<p>Check your work from your machine: it says which checks fail and what the solution would still change on your lab:</p>',
    codeBlock([`npm run course -- check ${s.id}${lab.labFlag}`]),
    '<p>Stuck? Let the lab do this section (the solution), then compare:</p>',
    codeBlock([`npm run course -- solve ${s.id}${lab.labFlag}`]),
  );
  return out.join('\n');
}
