/** Planning is pure: lab + roles + platform -> the ordered list of steps, with every value filled in. */
import { InputError } from '../errors.js';
import { courseSectionOf, courseSections, inCourseSection } from '../course/sections.js';
import { kinds } from './kinds/index.js';
import type { Lab, Platform } from '../lab/lab-file.js';
import { kindOf, readTemplate, type RawStep, type Role, type Scalar } from './load.js';
import { positionOf, validate } from '../yaml-load.js';

export interface PlanStep {
  id: string;
  role: string;
  section: string;
  title: string;
  memo?: string;
  why?: string;
  kind: string;
  params: Record<string, unknown>;
  notify: string[];
  timeoutMs: number;
  /** Where the step is defined, file:line:col. */
  at: string;
}

export interface PlanRole {
  role: string;
  section: number;
  title: string;
  title_ja?: string;
  description?: string;
  steps: PlanStep[];
  handlers: PlanStep[];
}

export interface Plan {
  lab: string;
  platform: Platform;
  roles: PlanRole[];
}

const PLATFORMS: Platform[] = ['el7', 'debian12'];
const isPlatformMap = (v: unknown): v is Partial<Record<Platform, unknown>> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 && Object.keys(v).every((k) => (PLATFORMS as string[]).includes(k));

/** Replace {{ name }} from vars; {{ secret.NAME }} is left for the engine, which fills it at run time. */
export function substitute(value: unknown, vars: Record<string, Scalar>, platform: Platform, at: string): unknown {
  if (isPlatformMap(value)) {
    return substitute(value[platform], vars, platform, at);
  }
  if (typeof value === 'string') {
    return value.replace(/\{\{\s*([a-z_][a-z0-9_.]*)\s*\}\}/gi, (_m, name: string) => {
      if (name.startsWith('secret.')) return `{{ ${name} }}`;
      const v = vars[name];
      if (v === undefined) {
        throw new InputError(
          `${at}: unknown variable {{ ${name} }}`,
          `Known variables: ${Object.keys(vars).sort().join(', ')}. Define it in the lab's params or the role's vars.`,
        );
      }
      return String(v);
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars, platform, at)).filter((v) => v !== undefined);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, substitute(v, vars, platform, at)])
        .filter(([, v]) => v !== undefined),
    );
  }
  return value;
}

export function planVars(lab: Lab, role: Role, platform: Platform): Record<string, Scalar> {
  return {
    ...(lab.params as unknown as Record<string, Scalar>),
    platform,
    lab_name: lab.name,
    ...role.vars.all,
    ...role.vars[platform],
  };
}

function appliesTo(step: RawStep, lab: Lab, platform: Platform): boolean {
  if (step.platforms && !step.platforms.includes(platform)) return false;
  if (step.when) {
    const neg = step.when.startsWith('!');
    const v = (lab.params as unknown as Record<string, unknown>)[step.when.replace(/^!/, '')];
    return neg ? !v : !!v;
  }
  return true;
}

function planStep(lab: Lab, role: Role, step: RawStep, list: 'steps' | 'handlers', index: number, platform: Platform): PlanStep {
  const at = positionOf(role.file, [list, index]);
  const kind = kindOf(role.file, step, [list, index]);
  const vars = planVars(lab, role, platform);
  if (step.when) {
    const name = step.when.replace(/^!/, '');
    if (!(name in lab.params))
      throw new InputError(
        `${positionOf(role.file, [list, index], 'when')}: "when: ${step.when}" names no lab parameter`,
        `Lab parameters: ${Object.keys(lab.params).join(', ')}.`,
      );
  }
  const def = kinds[kind]!;
  const raw = substitute(step[kind], vars, platform, at) as Record<string, unknown>;
  validate(role.file, def.schema, raw, [list, index, kind]);
  // What comes from outside the step (a template's content, a lab file's pin) is the kind's own business.
  const params =
    def.prepare?.(raw, {
      at: `${positionOf(role.file, [list, index], kind)}: step "${step.id}"`,
      template: (name) => String(substitute(readTemplate(role, name, at), vars, platform, `${role.dir}/templates/${name}`)),
      pins: lab.pins,
      labFile: lab.file,
    }) ?? raw;
  const lint = def.lint?.(params);
  if (lint) throw new InputError(`${positionOf(role.file, [list, index], kind)}: step "${step.id}": ${lint}`, `See the ${kind} kind in docs/step-kinds.md.`);
  return {
    id: step.id,
    role: role.role,
    section: step.section,
    title: step.title,
    memo: step.memo,
    why: step.why,
    kind,
    params,
    notify: step.notify ?? [],
    timeoutMs: (step.timeout ?? lab.params.step_timeout) * 1000,
    at,
  };
}

export function makePlan(lab: Lab, roles: Role[], platform: Platform = lab.platform): Plan {
  const planned: PlanRole[] = [];
  for (const role of roles) {
    if (!lab.sections.includes(role.section)) continue;
    const steps = role.steps
      .map((s, i) => [s, i] as const)
      .filter(([s]) => appliesTo(s, lab, platform))
      .map(([s, i]) => planStep(lab, role, s, 'steps', i, platform));
    const handlers = role.handlers
      .map((s, i) => [s, i] as const)
      .filter(([s]) => appliesTo(s, lab, platform))
      .map(([s, i]) => planStep(lab, role, s, 'handlers', i, platform));
    if (steps.length)
      planned.push({ role: role.role, section: role.section, title: role.title, title_ja: role.title_ja, description: role.description, steps, handlers });
  }
  return { lab: lab.name, platform, roles: planned };
}

export interface Selection {
  from?: string;
  until?: string;
  only?: string[];
  /** A memo section ("4": the whole role) or a course section ("4.4": its part of the role, course/sections.yaml). */
  section?: string;
}

/** The course section a step belongs to (course/sections.yaml); a role's bare number ("4") counts as its role's. */
export function sectionOfStep(s: PlanStep): string {
  return courseSectionOf(s.section)?.id ?? s.section.split('.')[0]!;
}

/**
 * Consecutive steps by course section: a role spanning several (section 4) in its parts. A step of the role's bare
 * number (its closing checks) stays with the part it stands in.
 */
export function courseParts(steps: PlanStep[]): { id: string; steps: PlanStep[] }[] {
  const parts: { id: string; steps: PlanStep[] }[] = [];
  for (const s of steps) {
    const of = courseSectionOf(s.section)?.id;
    const last = parts.at(-1);
    if (last && (of === undefined || of === last.id)) last.steps.push(s);
    else parts.push({ id: of ?? s.section.split('.')[0]!, steps: [s] });
  }
  return parts;
}

/** The steps a run covers (--section, --from, --until, --only); unknown ids and sections are bad input. */
export function selectSteps(plan: Plan, sel: Selection): Set<string> {
  const all = plan.roles.flatMap((r) => r.steps.map((s) => s.id));
  if (sel.section !== undefined) {
    const id = sel.section;
    const role = plan.roles.find((r) => String(r.section) === id.split('.')[0]);
    const part = id.includes('.') ? role?.steps.filter((s) => inCourseSection(s.section, id)) : role?.steps;
    if (!role || !part?.some((s) => s.section !== String(role.section))) {
      throw new InputError(
        `--section ${sel.section}: no such section in the plan for ${plan.platform}`,
        `Sections in this plan: ${plan.roles.map((r) => `${r.section} (${r.title})`).join(', ')}; parts of a section: ${courseSections()
          .filter((c) => c.id.includes('.'))
          .map((c) => c.id)
          .join(', ')}. The lab file's sections: chooses them.`,
      );
    }
    return new Set(part.map((s) => s.id));
  }
  const check = (id: string, flag: string) => {
    if (!all.includes(id))
      throw new InputError(
        `${flag} ${id}: no such step in the plan for ${plan.platform}`,
        `Steps: ${all.join(', ')}. \`npm run lab:up -- --dry-run\` lists them.`,
      );
  };
  if (sel.only?.length) {
    sel.only.forEach((id) => check(id, '--only'));
    return new Set(sel.only);
  }
  if (sel.from) check(sel.from, '--from');
  if (sel.until) check(sel.until, '--until');
  const start = sel.from ? all.indexOf(sel.from) : 0;
  const end = sel.until ? all.indexOf(sel.until) : all.length - 1;
  if (end < start) throw new InputError(`--until ${sel.until} comes before --from ${sel.from}`, 'Steps run in memo order; swap them.');
  return new Set(all.slice(start, end + 1));
}

/** The sections (course parts within section 4) before the selected steps with a step this lab host never finished. */
export function earlierSectionsNotRun(plan: Plan, selected: Set<string>, finished: Set<string>): string[] {
  const steps = plan.roles.flatMap((r) => r.steps);
  const first = steps.findIndex((s) => selected.has(s.id));
  const out: string[] = [];
  for (const s of steps.slice(0, Math.max(0, first))) {
    const id = sectionOfStep(s);
    if (!finished.has(s.id) && !out.includes(id)) out.push(id);
  }
  return out;
}
