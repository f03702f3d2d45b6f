/**
 * Reading YAML data files (lab files, roles, checks) so that every error names the file, line and column.
 * Duplicate keys are errors; schema errors (ajv) are mapped back to the YAML node they are about.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { InputError } from './errors.js';
import { validatorCache } from './validators.js';

export interface YamlFile {
  path: string;
  doc: Document.Parsed;
  lines: LineCounter;
  data: unknown;
}

export function where(file: YamlFile, offset: number | undefined): string {
  if (offset === undefined) return file.path;
  const { line, col } = file.lines.linePos(offset);
  return `${file.path}:${line}:${col}`;
}

export function readYaml(path: string, text?: string): YamlFile {
  let source: string;
  try {
    source = text ?? readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'Check the path; lab files are YAML (see lab.yaml and labs/).',
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const file = { path, doc, lines, data: undefined };
    const what = err.code === 'DUPLICATE_KEY' ? 'duplicate key' : 'YAML syntax error';
    throw new InputError(
      `${where(file, err.pos[0])}: ${what}: ${err.message.split('\n')[0]}`,
      err.code === 'DUPLICATE_KEY' ? 'Each key may appear once in a mapping; remove or merge the repeated one.' : 'Fix the YAML syntax at that position.',
    );
  }
  return { path, doc, lines, data: doc.toJS() };
}

/** The YAML node at a JSON pointer path, or, for a key, the key itself. */
function nodeAt(doc: Document.Parsed, path: (string | number)[], key?: string): Node | undefined {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node) || isSeq(node)) {
      const coll = node as unknown as { get(k: unknown, keep: true): unknown };
      // JSON pointers do not tell "25" the key from 25 the index: try both.
      const n = coll.get(seg, true) ?? (isMap(node) ? coll.get(String(seg), true) : undefined);
      if (n === undefined) break;
      node = n;
    } else break;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return node as Node | undefined;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => {
      const k = s.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^\d+$/.test(k) ? Number(k) : k;
    });
}

function label(path: (string | number)[]): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : p))
        .join('.')
        .replace(/\.\[/g, '[')
    : 'the top level';
}

/** Numbers in a JSON pointer are list indexes only where the data at that point is a list ("25" may be a key). */
function typedPath(data: unknown, segs: (string | number)[]): (string | number)[] {
  let cur = data;
  return segs.map((seg) => {
    const out = Array.isArray(cur) ? Number(seg) : String(seg);
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[String(seg)] : undefined;
    return out;
  });
}

export function describeAjvError(file: YamlFile, e: ErrorObject, base: (string | number)[] = [], data: unknown = file.data): InputError {
  const path = [...base, ...typedPath(data, pointerToPath(e.instancePath))];
  const p = e.params as Record<string, unknown>;
  let key: string | undefined;
  let msg: string;
  let hint = '';
  switch (e.keyword) {
    case 'additionalProperties': {
      key = String(p.additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      msg = `unknown key "${key}" in ${label(path)}`;
      hint = allowed.length ? `Allowed keys here: ${allowed.join(', ')}.` : 'Remove it.';
      break;
    }
    case 'required':
      msg = `missing key "${String(p.missingProperty)}" in ${label(path)}`;
      hint = `Add "${String(p.missingProperty)}".`;
      break;
    case 'enum':
      msg = `${JSON.stringify(e.data)} is not allowed for ${label(path)}`;
      hint = `Allowed values: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}.`;
      break;
    case 'pattern':
      msg = `${JSON.stringify(e.data)} is not a valid value for ${label(path)}`;
      hint = [`It must match ${String(p.pattern)}.`, (e.parentSchema as { description?: string })?.description].filter(Boolean).join(' ');
      break;
    default:
      msg = `${label(path)} ${e.message ?? 'is invalid'}`;
      hint = (e.parentSchema as { description?: string })?.description ?? '';
  }
  const node = nodeAt(file.doc, path, key);
  return new InputError(`${where(file, node?.range?.[0])}: ${msg}`, hint);
}

const validators = validatorCache({ allErrors: false, verbose: true, strict: true, allowUnionTypes: true });
const compiled = new WeakMap<object, ValidateFunction>();

/** Validate data (or a part of the file at `base`) against a JSON Schema; throws the first error with its position. */
export function validate(file: YamlFile, schema: object, data: unknown = file.data, base: (string | number)[] = []): void {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = validators.compile(schema);
    compiled.set(schema, fn);
  }
  if (!fn(data)) {
    const errs = fn.errors ?? [];
    // Prefer the most specific error (deepest path), which is the one a person needs to see.
    const best = [...errs].sort((a, b) => b.instancePath.length - a.instancePath.length)[0];
    if (best) throw describeAjvError(file, best, base, data);
  }
}

/** Position of a path in the file, for errors raised after schema validation. */
export function positionOf(file: YamlFile, path: (string | number)[], key?: string): string {
  return where(file, nodeAt(file.doc, path, key)?.range?.[0]);
}
