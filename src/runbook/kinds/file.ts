/** file: a whole file with the given content (from a template in the role) and attributes. */
import { defineKind } from './types.js';
import { attrDiffs, attrSchema, readCommands, readText, unifiedDiff, writeCommands, writeText, type Attrs } from './remote-file.js';

export interface FileParams extends Attrs {
  path: string;
  /** Given inline, or filled in at planning from `template:` (a file under the role's templates/). */
  content: string;
  template?: string;
  backup?: boolean;
}

export const file = defineKind<FileParams>({
  name: 'file',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['path'],
    properties: {
      path: { type: 'string', pattern: '^/' },
      content: { type: 'string', description: 'The whole file, inline (or use template).' },
      template: { type: 'string', description: "A file under the role's templates/, with {{ vars }} filled in." },
      backup: { type: 'boolean' },
      ...attrSchema,
    },
  },
  prepare: (p, c) => (typeof p.template === 'string' ? { ...p, content: c.template(p.template) } : p),
  lint: (p) => (typeof p.content !== 'string' ? 'a file step needs "template" (a file under the role\'s templates/) or "content"' : undefined),
  commands: (p) => ({
    check: readCommands(p.path, p),
    apply: writeCommands(
      p.path,
      p,
      p.backup ?? true,
      `write ${p.path}${p.template ? ` from ${p.template}` : ''}${p.mode ? ` mode ${p.mode}` : ''}${p.owner ? ` owner ${p.owner}` : ''}`,
      p.content,
    ),
  }),
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
