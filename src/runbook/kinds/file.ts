/** file: a whole file with the given content (from a template in the role) and attributes. */
import { defineKind } from './types.js';
import { attrDiffs, attrSchema, readText, unifiedDiff, writeText, type Attrs } from './remote-file.js';

export interface FileParams extends Attrs {
  path: string;
  /** Set by the planner from `template:` (a file under the role's templates/) or given inline. */
  content: string;
  template?: string;
  backup?: boolean;
}

export const file = defineKind<FileParams>({
  name: 'file',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['path', 'content'],
    properties: {
      path: { type: 'string', pattern: '^/' },
      content: { type: 'string' },
      template: { type: 'string' },
      backup: { type: 'boolean' },
      ...attrSchema,
    },
  },
  describe(p) {
    return { check: [`read ${p.path}`], apply: [`write ${p.path}${p.template ? ` from ${p.template}` : ''}${p.mode ? ` mode ${p.mode}` : ''}${p.owner ? ` owner ${p.owner}` : ''}${(p.backup ?? true) ? ` (original kept as ${p.path}.orig)` : ''}`] };
  },
  async check(p, ctx) {
    const current = await readText(ctx, p.path);
    if (current !== p.content) {
      return { ok: false, detail: current === null ? `${p.path} does not exist` : `${p.path} differs`, diff: unifiedDiff(p.path, current, p.content) };
    }
    const attrs = await attrDiffs(ctx, p.path, p);
    return attrs.length ? { ok: false, detail: attrs.join(', ') } : { ok: true };
  },
  async apply(p, ctx) {
    await writeText(ctx, p.path, p.content, p, p.backup ?? true);
  },
});
