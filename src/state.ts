/** Where a lab keeps its state: .lab/<name>/ (gitignored). Secret files are 0600, folders 0700. */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './schemas.js';

export interface LabState {
  name: string;
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

export function labState(name: string, root = stateRoot()): LabState {
  const dir = join(root, name);
  return {
    name,
    dir,
    journalFile: join(dir, 'journal.jsonl'),
    logsDir: join(dir, 'logs'),
    driverDir: join(dir, 'driver'),
    credentialsFile: join(dir, 'credentials.json'),
    knownHostsFile: join(dir, 'known_hosts.json'),
    metaFile: join(dir, 'lab.json'),
  };
}

export function ensureStateDirs(s: LabState): void {
  for (const d of [s.dir, s.logsDir, s.driverDir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
}

export function listLabs(root = stateRoot()): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => d.name).sort();
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

export interface Credentials {
  user: string;
  password: string;
  [secret: string]: string;
}

/** The lab's credentials file: generated once per lab, 0600, never printed. */
export function ensureCredentials(s: LabState, user: string): Credentials {
  const existing = readJson<Credentials>(s.credentialsFile);
  if (existing && existing.user === user && existing.password) return existing;
  const creds: Credentials = { ...existing, user, password: randomBytes(18).toString('base64url') };
  mkdirSync(s.dir, { recursive: true, mode: 0o700 });
  writePrivate(s.credentialsFile, JSON.stringify(creds, null, 2) + '\n');
  return creds;
}
