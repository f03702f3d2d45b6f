/** The links and ids of HTML pages, and which links lead nowhere: a small attribute scanner for tests. */
const unentity = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);

export function htmlRefs(html: string): { links: string[]; ids: Set<string> } {
  const links = [...html.matchAll(/<[a-z]+\s[^>]*?\b(?:href|src)="([^"]*)"/gi)].map((m) => unentity(m[1]!));
  const ids = new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => unentity(m[1]!)));
  return { links, ids };
}

/** Every link of every page that is not a page of the set, or names an id the page does not have. */
export function brokenLinks(pages: Map<string, { links: string[]; ids: Set<string> }>): string[] {
  const broken: string[] = [];
  for (const [name, { links }] of pages) {
    for (const href of links) {
      const [file, frag] = href.startsWith('#') ? [name, href.slice(1)] : (href.split('#') as [string, string?]);
      const target = pages.get(file);
      if (!target) broken.push(`${name}: ${href} (no such page)`);
      else if (frag !== undefined && !target.ids.has(decodeURIComponent(frag))) broken.push(`${name}: ${href} (no id "${frag}" in ${file})`);
    }
  }
  return broken;
}
