/** Reading the runbook: roles/<NN-name>/role.yaml (+ templates/), validated with positions in every error. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { kinds } from './kinds/index.js';
import type { Platform } from '../lab/lab-file.js';
import { loadSchema, repoRoot } from '../schemas.js';
import { positionOf, readYaml, validate, type YamlFile } from '../yaml-load.js';

export type Scalar = string | number | boolean;

export interface RawStep {
  id: string;
  title: string;
  memo?: string;
  section: string;
  why?: string;
  platforms?: Platform[];
  when?: string;
  timeout?: number;
  notify?: string[];
  [kind: string]: unknown;
}

export interface Role {
  dir: string;
  file: YamlFile;
  role: string;
  section: number;
  title: string;
  title_ja?: string;
  description?: string;
  vars: { el7?: Record<string, Scalar>; debian12?: Record<string, Scalar>; all?: Record<string, Scalar> };
  steps: RawStep[];
  handlers: RawStep[];
}

export const defaultRolesDir = process.env.POSTFIX_LAB_ROLES ?? join(repoRoot, 'roles');

/** The kind key of a step: exactly one of the registered kinds. */
export function kindOf(file: YamlFile, step: RawStep, path: (string | number)[]): string {
  const found = Object.keys(step).filter((k) => k in kinds);
  if (found.length !== 1) {
    throw new InputError(
      `${positionOf(file, path)}: step "${step.id}" must have exactly one kind, found ${found.length ? found.join(' and ') : 'none'}`,
      `Give the step one of: ${Object.keys(kinds).join(', ')}.`,
    );
  }
  return found[0]!;
}

export function loadRole(dir: string): Role {
  const path = join(dir, 'role.yaml');
  const file = readYaml(path);
  validate(file, loadSchema('role'));
  const raw = file.data as Omit<Role, 'dir' | 'file'>;
  const role: Role = { ...raw, dir, file, vars: raw.vars ?? {}, handlers: raw.handlers ?? [] };
  for (const [list, steps] of [
    ['steps', role.steps],
    ['handlers', role.handlers],
  ] as const) {
    steps.forEach((s, i) => kindOf(file, s, [list, i]));
  }
  const handlerIds = new Set(role.handlers.map((h) => h.id));
  role.steps.forEach((s, i) =>
    s.notify?.forEach((n, j) => {
      if (!handlerIds.has(n)) {
        throw new InputError(
          `${positionOf(file, ['steps', i, 'notify', j])}: step "${s.id}" notifies "${n}", which is not a handler of role ${role.role}`,
          handlerIds.size ? `Handlers of this role: ${[...handlerIds].join(', ')}.` : 'Add it under "handlers:" in this role file.',
        );
      }
    }),
  );
  return role;
}

export function loadRoles(rolesDir = defaultRolesDir): Role[] {
  if (!existsSync(rolesDir)) throw new InputError(`no roles folder at ${rolesDir}`, 'Run from a checkout of postfix-lab; the runbook lives in roles/.');
  const dirs = readdirSync(rolesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(rolesDir, d.name, 'role.yaml')))
    .map((d) => join(rolesDir, d.name))
    .sort();
  const roles = dirs.map(loadRole);
  const seen = new Map<string, string>();
  for (const r of roles) {
    [...r.steps, ...r.handlers].forEach((s) => {
      const list = r.steps.includes(s) ? 'steps' : 'handlers';
      const i = (list === 'steps' ? r.steps : r.handlers).indexOf(s);
      const here = positionOf(r.file, [list, i], 'id');
      const prev = seen.get(s.id);
      if (prev)
        throw new InputError(
          `${here}: step id "${s.id}" is used twice (also at ${prev})`,
          'Step ids are unique across all roles: --from, --until and --only name them.',
        );
      seen.set(s.id, here);
    });
  }
  return roles;
}

export function readTemplate(role: Role, name: string, at: string): string {
  const p = join(role.dir, 'templates', name);
  try {
    return readFileSync(p, 'utf8');
  } catch {
    throw new InputError(
      `${at}: template ${name} not found (looked for ${p})`,
      "Templates live under the role's templates/ folder, mirroring where they land.",
    );
  }
}
