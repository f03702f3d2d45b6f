/** What Postfix's configuration says: `postconf` for the default instance, `postmulti -i NAME -x postconf` for another. */
import { sh } from '../host.js';
import { defineProbe } from './probe.js';

/** The postconf command line for an instance (undefined: the default one). */
export function postconf(instance: string | undefined, args: string): string {
  return instance ? `postmulti -i ${sh(instance)} -x postconf ${args}` : `postconf ${args}`;
}

const norm = (v: string) => v.trim().replace(/\s+/g, ' ');

/** Parse `postconf -n` output ("name = value") into a map. */
export function parseSettings(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of out.split('\n')) {
    const i = l.indexOf(' = ');
    if (i > 0) m.set(l.slice(0, i).trim(), norm(l.slice(i + 3)));
    else if (l.trim().endsWith(' =')) m.set(l.trim().slice(0, -2).trim(), '');
  }
  return m;
}

/** `postconf -n NAME...`: the names main.cf sets explicitly, with their values (names left at their default are absent). */
export const postconfSet = defineProbe<{ instance?: string; names: string[] }, Map<string, string>>({
  sudo: true,
  command: ({ instance, names }) => postconf(instance, `-n ${names.join(' ')}`),
  parse: (r) => parseSettings(r.stdout),
});

export type PostconfValue = { ok: true; value: string } | { ok: false; error: string };

/** `postconf -h NAME` (with -x: expanded): the value in effect, default or not. */
export const postconfValue = defineProbe<{ instance?: string; param: string; expand?: boolean }, PostconfValue>({
  sudo: true,
  command: ({ instance, param, expand }) => postconf(instance, `${expand ? '-x ' : ''}-h ${sh(param)}`),
  parse: (r) => (r.code === 0 ? { ok: true, value: r.stdout.replace(/\n$/, '') } : { ok: false, error: r.stderr.trim().split('\n')[0] ?? '' }),
});

/** The main.cf of an instance: postmulti creates an instance's config directory as /etc/<instance>. */
export function mainCfPath(instance: string | undefined): string {
  return `/etc/${instance ?? 'postfix'}/main.cf`;
}

/**
 * main.cf as Postfix reads it (postconf(5)): blank lines and lines whose first non-blank character is # are
 * ignored, a line that starts with whitespace continues the previous one, the last setting of a name wins.
 * The same map `postconf -n` would print, without running Postfix (whose config reader waits ~2 s for a main.cf
 * changed in the last seconds to cool down: a `postconf -n` right after a `postconf -e` took 1.6-2 s).
 */
export function parseMainCf(text: string): Map<string, string> {
  const logical: string[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim() || l.trim().startsWith('#')) continue;
    if (/^\s/.test(l) && logical.length) logical[logical.length - 1] += ' ' + l.trim();
    else logical.push(l);
  }
  const m = new Map<string, string>();
  for (const l of logical) {
    const i = l.indexOf('=');
    if (i > 0) m.set(l.slice(0, i).trim(), norm(l.slice(i + 1)));
  }
  return m;
}
