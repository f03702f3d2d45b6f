/** Expectations on a text value, shared by the kinds that read one (postconf values, file contents, command output). */
export interface TextExpect {
  equals?: string;
  matches?: string;
  contains?: string[];
  lacks?: string[];
}

export const textExpectFields = {
  equals: { type: 'string' },
  matches: { type: 'string', description: 'A regular expression the value must match.' },
  contains: { type: 'array', items: { type: 'string' }, description: 'Regular expressions that must each match somewhere (multiline).' },
  lacks: { type: 'array', items: { type: 'string' }, description: 'Regular expressions that must not match anywhere (multiline).' },
} as const;

const norm = (s: string) => s.trim().replace(/\s+/g, ' ');

/** What is wrong with the value, or undefined when it meets every expectation. */
export function textProblem(what: string, value: string, e: TextExpect): string | undefined {
  if (e.equals !== undefined && norm(value) !== norm(e.equals)) return `${what} is "${norm(value)}", expected "${e.equals}"`;
  if (e.matches !== undefined && !new RegExp(e.matches, 'm').test(value)) return `${what} "${norm(value).slice(0, 200)}" does not match /${e.matches}/`;
  for (const c of e.contains ?? []) if (!new RegExp(c, 'm').test(value)) return `${what} has no line matching /${c}/`;
  for (const l of e.lacks ?? []) {
    const m = new RegExp(l, 'm').exec(value);
    if (m) return `${what} must not contain /${l}/, found "${m[0]}"`;
  }
  return undefined;
}
