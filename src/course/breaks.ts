/** The troubleshooting challenges (course/breaks.yaml): a break, the story a learner hears, and the answer key. */
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Platform } from '../lab/lab-file.js';
import { repoRoot } from '../schemas.js';
import { readYaml, validate } from '../yaml-load.js';
import { courseSections } from './sections.js';

export interface Break {
  name: string;
  /** The course section whose check fails while it is broken. */
  section: string;
  /** The kind of check that catches it. */
  kind: string;
  story: string;
  what: string;
  break: string;
  repair: string;
  /** Exactly the check ids that fail while it is broken. */
  fails: string[];
}

export const BREAKS_FILE = join(repoRoot, 'course', 'breaks.yaml');

const text = { type: 'string', minLength: 1 };
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['platforms', 'breaks'],
  properties: {
    platforms: { type: 'array', items: { enum: ['debian12', 'el7'] } },
    breaks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'section', 'kind', 'story', 'what', 'break', 'repair', 'fails'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
          section: text,
          kind: text,
          story: text,
          what: text,
          break: text,
          repair: text,
          fails: { type: 'array', minItems: 1, items: text },
        },
      },
    },
  },
};

export function loadBreaks(file = BREAKS_FILE): { platforms: Platform[]; breaks: Break[] } {
  const y = readYaml(file);
  validate(y, schema);
  const data = y.data as { platforms: Platform[]; breaks: Break[] };
  const ids = courseSections().map((s) => s.id);
  for (const b of data.breaks) {
    if (!ids.includes(b.section))
      throw new InputError(`${file}: break "${b.name}": section "${b.section}" is not a course section`, `Course sections: ${ids.join(', ')}.`);
  }
  return data;
}

/** The break named `name` for this platform, or a clear error listing the ones there are. */
export function findBreak(name: string, platform: Platform, file = BREAKS_FILE): Break {
  const { platforms, breaks } = loadBreaks(file);
  if (!platforms.includes(platform))
    throw new InputError(`the challenges are written for ${platforms.join(', ')}, not ${platform}`, 'Use a debian12 lab (the container driver makes one).');
  const b = breaks.find((x) => x.name === name);
  if (!b)
    throw new InputError(`there is no challenge named "${name}"`, `Challenges: ${breaks.map((x) => x.name).join(', ')} (npm run course -- break --list).`);
  return b;
}
