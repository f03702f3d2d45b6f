/**
 * HTML for the handout: escaping, and Markdown (the facts file, a role's description, a step's `why`) through
 * `marked`, made safe for a page that must stay offline: raw HTML in the source is shown as text, a link or image
 * that leaves the handout is shown as its text (with the address in words), so every href is internal.
 */
import { Marked, type Tokens } from 'marked';
import { anchor } from '../lesson.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text or an attribute value as HTML. */
/** "1 step", "3 steps". */
export const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]!);

/** An address inside the handout: a `#fragment` or a relative file name (no scheme, no `//`, no `..`). */
export const isInternal = (href: string) => href.startsWith('#') || /^[A-Za-z0-9_.-]+\.(html|css)(#[^\s"'<>]*)?$/.test(href);

/** Heading ids as GitHub makes them (the Markdown lessons link the same anchors), the second of a kind with -1. */
function slugger() {
  const seen = new Map<string, number>();
  return (text: string) => {
    const base = anchor(text);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n ? `${base}-${n}` : base;
  };
}

function markdown(): Marked {
  const slug = slugger();
  return new Marked({
    gfm: true,
    renderer: {
      html: ({ text }: Tokens.HTML | Tokens.Tag) => esc(text),
      heading({ tokens, depth, text }: Tokens.Heading) {
        return `<h${depth} id="${esc(slug(text))}">${this.parser.parseInline(tokens)}</h${depth}>\n`;
      },
      link({ href, tokens }: Tokens.Link) {
        const inner = this.parser.parseInline(tokens);
        if (isInternal(href)) return `<a href="${esc(href)}">${inner}</a>`;
        return inner === esc(href) ? `<span class="url">${inner}</span>` : `${inner} <span class="url">(${esc(href)})</span>`;
      },
      image: ({ text, href }: Tokens.Image) => `<span class="url">[${esc(text)}: ${esc(href)}]</span>`,
    },
  });
}

/** A Markdown document as HTML, headings with ids. */
export const markdownHtml = (md: string) => markdown().parse(md, { async: false });
/** One paragraph's worth of Markdown (code spans, emphasis) as inline HTML. */
export const inlineHtml = (md: string) => markdown().parseInline(md, { async: false });

/** Lines to type, as a block a person can copy. */
export const codeBlock = (lines: string[]) => `<pre><code>${esc(lines.join('\n'))}</code></pre>`;
