/**
 * A class: N learners' labs made from one checkpoint (class:up). Its folder .lab/class-<name>/ holds the roster
 * (roster.json, and roster.csv beside it for a spreadsheet), each learner's lab file, keys and handout. The roster
 * is the contract the other class commands (status, down, reset, break, report) read: they address each learner's
 * lab through its own lab file, like any lab.
 */
import { join } from 'node:path';
import { InputError, LabError } from '../errors.js';
import { checkLabName } from '../lab/names.js';
import { jsonState, stateRoot, writePrivate } from '../lab/state.js';
import type { LearnerLogin } from './login.js';

export interface RosterEntry {
  /** '01', '02', ... */
  learner: string;
  /** '<class>-01' */
  lab: string;
  /** Absolute path of this learner's own lab file: every existing command works with --lab labFile. */
  labFile: string;
  /** The command line the learner types to get a shell on their lab. */
  ssh: string;
  /** Host port per service: { ssh, smtp, submission, smtps, ... }. */
  ports: Record<string, number>;
  /** Path of the learner's credentials file (0600), never its content. */
  credentials: string;
  /** Path of the learner's SSH password file (0600) where the class logs in with passwords, never its content. */
  passwordFile?: string;
  /** Path of the learner's personal handout (index.html). */
  handout: string;
}

export interface Roster {
  class: string;
  created: string;
  platform: string;
  /** The course section every lab was made at the start of ('1', '2', ... or 'done'). */
  section: string;
  /** The address the class's forwarded ports bind to. */
  listen: string;
  /** How learners log in to their labs (class:up --learner-login; a roster without it: key). */
  learnerLogin?: LearnerLogin;
  learners: RosterEntry[];
}

/** The longest class name: its labs are named <class>-base and <class>-NN, and lab names have at most 31 characters. */
export const CLASS_NAME_MAX = 26;

/** A class name (the lab name rule, short enough for its labs' names); exit 2 otherwise. */
export function checkClassName(name: unknown, from = '--class'): string {
  const n = checkLabName(name, from);
  if (n.length > CLASS_NAME_MAX)
    throw new InputError(
      `${from}: "${n}" is too long for a class name (${n.length} characters)`,
      `A class's labs are named ${n}-base and ${n}-01 ...; lab names have at most 31 characters, so a class name at most ${CLASS_NAME_MAX}.`,
    );
  return n;
}

/** .lab/class-<name>/ (inside the repo's .lab, like labs' state). */
export function classDir(name: string): string {
  return join(stateRoot(), `class-${checkClassName(name)}`);
}

/** <classDir>/roster.json (roster.csv beside it). */
export function rosterFile(name: string): string {
  return join(classDir(name), 'roster.json');
}

export const rosterCsvFile = (name: string) => join(classDir(name), 'roster.csv');

const upHint = (name: string) =>
  `Run \`npm run class:up -- --learners N${name === 'class' ? '' : ` --class ${name}`}\` to make the class (\`npm run class:down\` removes what is left of one).`;

/** The class's roster; a LabError with a hint when it is missing or unreadable. */
export function readRoster(name: string): Roster {
  const file = rosterFile(name);
  const { value, error } = jsonState<Roster>(file);
  if (error) throw new LabError(`the roster of class ${name}, ${file}, is ${error}`, upHint(name));
  if (!value) throw new LabError(`there is no class named ${name} (no ${file})`, upHint(name));
  if (!Array.isArray(value.learners) || typeof value.class !== 'string')
    throw new LabError(`the roster of class ${name}, ${file}, is not a roster (no learners list)`, upHint(name));
  return value;
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** roster.csv: one row per learner; the ports one column per service (in the order of the first learner's). */
export function rosterCsv(r: Roster): string {
  const services = Object.keys(r.learners[0]?.ports ?? {});
  const head = ['learner', 'lab', 'ssh', ...services.map((s) => `port_${s}`), 'lab_file', 'credentials', 'password_file', 'handout'];
  const rows = r.learners.map((l) => [
    l.learner,
    l.lab,
    l.ssh,
    ...services.map((s) => String(l.ports[s] ?? '')),
    l.labFile,
    l.credentials,
    l.passwordFile ?? '',
    l.handout,
  ]);
  return [head, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

/** Both roster files, 0600 (they name each learner's credentials and keys). */
export function writeRoster(r: Roster): void {
  writePrivate(rosterFile(r.class), JSON.stringify(r, null, 2) + '\n');
  writePrivate(rosterCsvFile(r.class), rosterCsv(r));
}
