/** The frame of every handout page: one local stylesheet, no script, navigation before and after the content. */
import { esc } from './html.js';

export const CSS_FILE = 'handout.css';

export const CSS = `/* postfix-lab handout: plain CSS, system fonts only (works offline, no script). */
:root { --sans: system-ui, -apple-system, "Segoe UI", "Noto Sans", "DejaVu Sans", sans-serif; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --code-bg: #f6f8fa; --accent: #0b5cad; --ja-bg: #fff8e6; --why-bg: #eef5ff; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55;
  font-family: var(--sans), "Noto Sans CJK JP", "IPAPGothic", sans-serif; }
:lang(ja) { font-family: "Noto Sans CJK JP", "IPAPGothic", "IPAGothic", "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif; }
main { max-width: 76rem; margin: 0 auto; padding: 1rem 2rem 3rem; }
nav.pages { background: #24292f; color: #fff; padding: .6rem 2rem; display: flex; gap: 1.5rem; flex-wrap: wrap; font-size: .95rem; }
nav.pages a { color: #fff; text-decoration: none; }
nav.pages a:hover, nav.pages a:focus { text-decoration: underline; }
nav.pages .here { color: #9ea7b3; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 1.2rem 0 .3rem; }
h1 .ja { display: block; font-size: 1.15rem; font-weight: normal; color: var(--muted); margin-top: .3rem; }
h2 { font-size: 1.35rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin: 0 0 .5rem; }
h4 { font-size: .9rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); margin: 1rem 0 .3rem; }
a { color: var(--accent); }
.meta { color: var(--muted); font-size: .9rem; margin: 0 0 .6rem; }
code { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace; font-size: .88em; background: var(--code-bg); padding: .05em .3em; border-radius: 4px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--code-bg); border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; overflow-x: auto; font-size: .85rem; line-height: 1.45; margin: .3rem 0 .8rem; }
pre code { background: none; padding: 0; font-size: inherit; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .4rem .6rem; text-align: left; vertical-align: top; }
th { background: var(--code-bg); }
.lab { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.2rem; background: var(--code-bg); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
.lab dt { font-weight: 600; }
.lab dd { margin: 0; }
article.step { border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.2rem; margin: 1.2rem 0; }
.side { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2rem; }
.side .en { min-width: 0; }
.side .ja { align-self: start; background: var(--ja-bg); border-left: 4px solid #e0a800; border-radius: 4px; padding: .6rem .9rem; }
.side .ja .label { font-family: var(--sans); font-size: .8rem; color: var(--muted); margin: 0 0 .2rem; }
.side .ja p.memo { margin: 0; font-size: 1.05rem; }
.why { background: var(--why-bg); border-left: 4px solid var(--accent); border-radius: 4px; padding: .5rem .8rem; margin: .5rem 0; }
.none { color: var(--muted); font-style: italic; }
ol.sections li { margin: .35rem 0; }
ol.sections .ja { color: var(--muted); margin-left: .4rem; }
.url { color: var(--muted); word-break: break-all; }
.facts h2 { margin-top: 2.5rem; }
footer nav.pages { margin-top: 2rem; }
@media (max-width: 50rem) { .side { grid-template-columns: 1fr; } main { padding: 1rem; } }
@media print { nav.pages { display: none; } article.step { break-inside: avoid-page; } }
`;

export interface Link {
  href: string;
  label: string;
}

/** prev / index / facts / next; the page itself is shown, not linked. */
function navigation(nav: { prev?: Link; next?: Link; here: string }): string {
  const item = (l: Link | undefined, rel: string) =>
    !l ? '' : l.href === nav.here ? `<span class="here">${esc(l.label)}</span>` : `<a href="${esc(l.href)}" rel="${rel}">${esc(l.label)}</a>`;
  return [
    `<nav class="pages" aria-label="pages">`,
    item({ href: 'index.html', label: 'Index' }, 'index'),
    item(nav.prev && { href: nav.prev.href, label: `← ${nav.prev.label}` }, 'prev'),
    item(nav.next && { href: nav.next.href, label: `${nav.next.label} →` }, 'next'),
    item({ href: 'facts.html', label: 'Runbook facts' }, 'help'),
    '</nav>',
  ]
    .filter(Boolean)
    .join('');
}

export function page(p: { title: string; here: string; prev?: Link; next?: Link; body: string; bodyClass?: string }): string {
  const nav = navigation(p);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="postfix-lab course handout (from roles/ and verify/)">',
    `<title>${esc(p.title)}</title>`,
    `<link rel="stylesheet" href="${CSS_FILE}">`,
    '</head>',
    `<body${p.bodyClass ? ` class="${esc(p.bodyClass)}"` : ''}>`,
    `<header>${nav}</header>`,
    `<main>\n${p.body}\n</main>`,
    `<footer>${nav}</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
