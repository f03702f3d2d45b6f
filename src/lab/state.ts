/** Where a lab keeps its state: .lab/<name>/ (gitignored). Secret files are 0600, folders 0700. */
import { randomInt } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../schemas.js';
import { InputError } from '../errors.js';
import { checkLabName, isLabName } from './names.js';

export interface LabState {
  name: string;
  /** The state home all labs live in (POSTFIX_LAB_HOME): every removal is proven inside it. */
  root: string;
  dir: string;
  journalFile: string;
  logsDir: string;
  /** Driver-owned files (rootfs, pids, ...). */
  driverDir: string;
  credentialsFile: string;
  knownHostsFile: string;
  /** Facts the driver records (driver name, platform, ssh target) so that status/ssh work without the lab file. */
  metaFile: string;
}

export function stateRoot(): string {
  return resolve(process.env.POSTFIX_LAB_HOME ?? join(repoRoot, '.lab'));
}

/** A lab's paths. The name is checked first (the one rule for lab names): it never walks out of `root`. */
export function labState(name: string, root = stateRoot(), from = 'lab name'): LabState {
  checkLabName(name, from);
  const dir = join(root, name);
  return {
    name,
    root,
    dir,
    journalFile: join(dir, 'journal.jsonl'),
    logsDir: join(dir, 'logs'),
    driverDir: join(dir, 'driver'),
    credentialsFile: join(dir, 'credentials.json'),
    knownHostsFile: join(dir, 'known_hosts.json'),
    metaFile: join(dir, 'lab.json'),
  };
}

/**
 * The lab's folder must be a real folder of the state home: a symbolic link (to anywhere) is refused before
 * anything is written or removed through it.
 */
export function checkOwnFolder(s: LabState): void {
  const st = lstatSync(s.dir, { throwIfNoEntry: false });
  if (!st) return;
  let where = s.dir;
  try {
    where = realpathSync(s.dir);
  } catch {
    /* a dangling link */
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new InputError(
      `the state folder of lab ${s.name}, ${s.dir}, is ${st.isSymbolicLink() ? `a symbolic link (to ${where})` : 'not a folder'}; refusing to use it`,
      `A lab keeps its state in a real folder of ${s.root}. Move ${s.dir} away by hand (nothing outside ${s.root} is touched), then run the command again.`,
    );
  }
}

export function ensureStateDirs(s: LabState): void {
  checkOwnFolder(s);
  for (const d of [s.dir, s.logsDir, s.driverDir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
}

export function listLabs(root = stateRoot()): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isLabName(d.name))
    .map((d) => d.name)
    .sort();
}

/** Write a file atomically with the given mode (0600 for anything secret). */
export function writePrivate(path: string, content: string, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A JSON state file: absent (no value, no error), or damaged (an error saying how: unreadable, not JSON, cut short). */
export function jsonState<T>(path: string): { value?: T; error?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? {} : { error: `unreadable: ${code ?? String(e)}` };
  }
  try {
    const value = JSON.parse(text) as T;
    return value && typeof value === 'object' ? { value } : { error: 'not a JSON object' };
  } catch {
    return { error: text.trim() ? 'not valid JSON (cut short or overwritten)' : 'empty' };
  }
}

export interface Credentials {
  user: string;
  password: string;
  [secret: string]: string;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A secret a learner types: 24 letters and digits (about 143 bits); no '-' or '_' that a CLI could take for a flag. */
export function generatePassword(length = 24): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[randomInt(ALNUM.length)];
  return out;
}

/** The lab's credentials file: generated once per lab, 0600, never printed. An existing lab keeps its password. */
export function ensureCredentials(s: LabState, user: string): Credentials {
  const existing = readJson<Credentials>(s.credentialsFile);
  if (existing && existing.user === user && existing.password) return existing;
  const creds: Credentials = { ...existing, user, password: generatePassword() };
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  writePrivate(s.credentialsFile, JSON.stringify(creds, null, 2) + '\n');
  return creds;
}
