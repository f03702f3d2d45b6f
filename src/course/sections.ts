/**
 * The course's sections (course/sections.yaml): what a learner does in one sitting. Memo sections 1-3 as they are,
 * section 4 in its numbered parts. Pure: which course section a step or a check belongs to, from its memo section.
 */
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { repoRoot } from '../schemas.js';
import { readYaml, validate } from '../yaml-load.js';

export interface CourseSection {
  /** "1", "2", "3", "4.1", "4.2", "4.4", "4.5", "4.6". */
  id: string;
  /** The memo section this part belongs to (1-4): its role. */
  memoSection: number;
  /** Memo sections it covers, as prefixes ("4.2" and "4.3"). */
  memo: string[];
  title: string;
  title_ja: string;
}

export const SECTIONS_FILE = join(repoRoot, 'course', 'sections.yaml');

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['sections'],
  properties: {
    sections: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'memo', 'title', 'title_ja'],
        properties: {
          id: { type: 'string', pattern: '^[1-9](\\.[1-9])?$' },
          memo: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[1-9](\\.[1-9])*$' } },
          title: { type: 'string', minLength: 1 },
          title_ja: { type: 'string', minLength: 1 },
        },
      },
    },
  },
};

let cached: CourseSection[] | undefined;
export function courseSections(file = SECTIONS_FILE): CourseSection[] {
  if (cached && file === SECTIONS_FILE) return cached;
  const y = readYaml(file);
  validate(y, schema);
  const list = (y.data as { sections: Omit<CourseSection, 'memoSection'>[] }).sections.map((s) => ({ ...s, memoSection: Number(s.id.split('.')[0]) }));
  if (file === SECTIONS_FILE) cached = list;
  return list;
}

const covers = (prefix: string, section: string) => section === prefix || section.startsWith(`${prefix}.`);

/**
 * The course section of a step or check with this memo section. A role's bare number ("4": its closing checks,
 * which look at everything the role built) belongs to the role's last part.
 */
export function courseSectionOf(memoSection: string, list = courseSections()): CourseSection | undefined {
  const parts = list.filter((c) => String(c.memoSection) === memoSection.split('.')[0]);
  if (!memoSection.includes('.')) return parts.at(-1);
  return parts.find((c) => c.memo.some((m) => covers(m, memoSection)));
}

/** Does a step or check with this memo section belong to course section `id`? */
export function inCourseSection(memoSection: string, id: string, list = courseSections()): boolean {
  return courseSectionOf(memoSection, list)?.id === id;
}

/** The course section named `given` ("4.4", or "4.4.2" for the part it is in), or a clear error. */
export function findSection(given: string, list = courseSections()): CourseSection {
  const exact = list.find((s) => s.id === given);
  const within = exact ?? (/^[1-9](\.[1-9])+$/.test(given) ? courseSectionOf(given, list) : list.find((s) => String(s.memoSection) === given)); // "4": its first part
  if (!within) {
    throw new InputError(`there is no course section "${given}"`, `The course sections are ${list.map((s) => s.id).join(', ')} (course/sections.yaml).`);
  }
  return within;
}

/** The sections before `id`, in course order. */
export function sectionsBefore(id: string, list = courseSections()): CourseSection[] {
  const i = list.findIndex((s) => s.id === id);
  return i < 0 ? [] : list.slice(0, i);
}
