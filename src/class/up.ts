/**
 * class:up: the lab built once (the class's base lab, with lab:up's checkpoints) to the start of a section, then
 * one copy-on-write clone of that checkpoint per learner (src/drivers/container/clone.ts), each re-keyed before its
 * first boot (rekey.ts), with its own lab file, state folder, network namespace and ports from the plan (plan.ts),
 * checked free before anything is made. A failed learner's lab is removed and made once more, then reported; the
 * others go on. The roster names what is whose.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { cloneLab, layerOnSnapshots, snapshotView } from '../drivers/container/clone.js';
import { netnsName, registryEntry } from '../drivers/container/network.js';
import { InputError, LabError } from '../errors.js';
import { isCheckpoint, checkpointName, saveSnapshot } from '../lab/checkpoints.js';
import { type Lab, loadLab, resolveDriver } from '../lab/lab-file.js';
import { labLifecycle, labUp, type LabMeta } from '../lab/ops.js';
import { labOnDisk } from '../lab/session.js';
import { ensureCredentials, labState, writePrivate } from '../lab/state.js';
import type { HandoutInput } from '../course/handout/index.js';
import type { Role } from '../runbook/load.js';
import { Emitter } from '../output/events.js';
import { findSection, sectionsBefore } from '../course/sections.js';
import { fingerprintSha256, readPins } from '../ssh/known-hosts.js';
import { readYaml } from '../yaml-load.js';
import { Board } from './board.js';
import { bootClone } from './boot.js';
import { baseLab, checkLearners, checkListen, type LearnerPlan, portPlan, reachAt } from './plan.js';
import { checkPlanFree } from './ports.js';
import { checkLearnerLogin, type LearnerLogin, learnerSshCommand, loginNote, PASSWORD_FILE, usesPassword } from './login.js';
import { hasTls, makeKeys, rekeyEdit } from './rekey.js';
import { checkClassName, classDir, type Roster, type RosterEntry, rosterFile, writeRoster } from './roster.js';

export interface ClassUpOptions {
  cls?: string;
  learners: unknown;
  labFile?: string;
  section?: string;
  listen?: string;
  basePort?: number;
  /** --learner-login: key (default), password or both. */
  learnerLogin?: string;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
}

export interface ClassUpResult {
  roster: Roster;
  failed: { learner: string; lab: string; error: string }[];
  durationMs: number;
}

/** The section the class starts at: a course section's id, or 'done' (the finished lab). */
export function checkClassSection(s: string | undefined): string {
  if (s === undefined) return '1';
  return s === 'done' ? s : findSection(s).id;
}

/** Every name the class would take must be free: its folder, its base and learners' labs (here and machine-wide). */
export function checkNamesFree(cls: string, labs: string[]): void {
  if (existsSync(classDir(cls)))
    throw new InputError(
      `class ${cls} already exists (${classDir(cls)})${existsSync(rosterFile(cls)) ? '' : ', left by an interrupted class:up'}; nothing was created`,
      `\`npm run class:down${cls === 'class' ? '' : ` -- --class ${cls}`}\` removes it first, or give this class another name (--class NAME).`,
    );
  for (const lab of labs) {
    const s = labState(lab, undefined, '--class');
    if (existsSync(s.dir) || registryEntry(netnsName(lab)))
      throw new InputError(
        `a lab named ${lab} already exists on this machine (${existsSync(s.dir) ? s.dir : 'in the container registry'}); the class would need that name, so nothing was created`,
        `Take it down (npm run lab:down -- --name ${lab}) or give the class another name (--class NAME).`,
      );
  }
}

/** A lab file for one of the class's labs: the trainer's lab file with its own name, ports and the container driver. */
function writeLabFile(dir: string, source: Lab, name: string, ports: { guest: number; host: number }[], listen = '127.0.0.1'): string {
  const raw = { ...(readYaml(source.file).data as Record<string, unknown>) };
  const params = { ...((raw.params as Record<string, unknown>) ?? {}), artifacts: source.params.artifacts };
  const file = join(dir, `${name}.yaml`);
  const container = { ...((raw.container as Record<string, unknown>) ?? {}), ...(listen !== '127.0.0.1' ? { listen } : {}) };
  const body = { ...raw, name, driver: 'container', ports: ports.map((p) => ({ guest: p.guest, host: p.host })), params, container };
  writeFileSync(file, `# ${name}: made by class:up from ${resolve(source.file)}\n${stringify(body)}`, { mode: 0o644 });
  return file;
}

const quiet = () => new Emitter();

/**
 * Build the base lab up to the section (or finished); returns the snapshot the clones start from, the ones they keep,
 * and the base's halt, under way (the clones need only its frozen layers, so they are made while it stops).
 */
async function buildBase(file: string, section: string, board: Board, signal?: AbortSignal): Promise<{ from: string; carry: string[]; halted: Promise<void> }> {
  const events = new Emitter().on((e) => {
    if (e.event === 'step-start') board.set('base', `building: ${e.id}`);
    if (e.event === 'info' && /^booting|^checkpoint/.test(e.message)) board.set('base', e.message);
  });
  const recap = await labUp({ labFile: file, events, signal, stopAt: section === 'done' ? undefined : section });
  if (recap.failed || recap.interrupted)
    throw new LabError(
      `the class's base lab stopped at ${recap.failedStep ?? 'a step'}${recap.interrupted ? ' (interrupted)' : ''}: ${recap.error?.message ?? ''}`,
      `Its logs are in ${labState(loadLab(file).name).logsDir}. Fix the cause, run \`npm run class:down\`, then class:up again.`,
    );
  const { driver, ctx, state } = await labOnDisk({ labFile: file, events });
  const from = section === 'done' ? 'class-done' : checkpointName(section);
  if (section === 'done') await saveSnapshot({ driver, ctx, state }, from);
  const have = await driver.snapshot!(ctx, 'list');
  if (!have.includes(from)) throw new LabError(`the base lab has no checkpoint ${from}`, 'Run class:down, then class:up again.');
  const before = section === 'done' ? null : new Set(sectionsBefore(section).map((s) => checkpointName(s.id)));
  const carry = have.filter((n) => isCheckpoint(n) && (!before || before.has(n)));
  const halted = labLifecycle('halt', { labFile: file, events: quiet() }).then(() => undefined); // only its layers are needed from here on
  halted.catch(() => undefined); // (awaited by classUp; not an unhandled rejection meanwhile)
  return { from, carry, halted };
}

interface LearnerCtx {
  cls: string;
  /** the runbook's roles, loaded once for every learner's handout */
  roles: Role[];
  dir: string;
  source: Lab;
  base: string;
  from: string;
  carry: string[];
  listen: string;
  login: LearnerLogin;
  board: Board;
}

/** One learner's lab: clone, re-key, boot, pin its host key; the roster's entry. */
async function makeLearner(c: LearnerCtx, p: LearnerPlan, labFile: string): Promise<RosterEntry> {
  const marks: number[] = [];
  const say = (next: string) => {
    marks.push(Date.now());
    c.board.set(p.lab, next);
  };
  const lab = loadLab(labFile);
  const state = labState(p.lab);
  say('cloning the checkpoint');
  await cloneLab(labState(c.base), state, { from: c.from, carry: c.carry, ports: lab.ports });
  const creds = ensureCredentials(state, lab.params.mail_user);
  const own = join(c.dir, p.learner);
  say('re-keying');
  const who = { lab: p.lab, mailHost: lab.params.hostname, mailUser: lab.params.mail_user, password: creds.password, learnerDir: own, login: c.login };
  mkdirSync(own, { recursive: true, mode: 0o700 });
  // into every checkpoint the clone has (the one it starts from last: its stack), so a restore keeps them: one
  // new layer each, written on the host
  const snaps = [...c.carry.filter((n) => n !== c.from), c.from];
  const keys = await makeKeys(who, { tls: snaps.some((n) => hasTls(snapshotView(state, n))) });
  await layerOnSnapshots(state, snaps, (_name, view) => rekeyEdit(view, who, keys));
  const meta: LabMeta = { name: p.lab, driver: 'container', platform: lab.platform, labFile, ports: lab.ports, credentialsFile: state.credentialsFile };
  writePrivate(state.metaFile, JSON.stringify(meta, null, 2) + '\n');
  say('booting');
  const target = await bootClone(labFile, p.lab);
  writePrivate(state.metaFile, JSON.stringify({ ...meta, ssh: target }, null, 2) + '\n');
  // the key the lab presented on that first connect is pinned: it must be one of those made for it
  const made = new Set(keys.hostKeys.map((k) => fingerprintSha256(Buffer.from(k.split(' ')[1] ?? '', 'base64'))));
  const pinned = Object.values(readPins(state.knownHostsFile));
  if (!pinned.length || !pinned.every((f) => made.has(f)))
    throw new LabError(`lab ${p.lab} presented a host key that was not made for it`, 'Run class:down, then class:up again.');
  const knownHosts = join(own, 'known_hosts');
  writePrivate(knownHosts, keys.hostKeys.map((k) => `${p.lab} ${k.split(' ').slice(0, 2).join(' ')}\n`).join(''), 0o644);
  const ports = Object.fromEntries(p.forwards.map((f) => [f.service, f.host]));
  const at = reachAt(c.listen, hostname());
  const keyFile = join(own, 'id_ed25519');
  const ssh = learnerSshCommand({ login: c.login, lab: p.lab, port: ports.ssh!, at, knownHosts, keyFile });
  const ownPasswordFile = join(own, PASSWORD_FILE);
  const passwordFile = usesPassword(c.login) ? ownPasswordFile : undefined;
  say('writing the handout');
  const login = loginNote(c.login, keyFile, ownPasswordFile);
  const handout = await writeLearnerHandout(labFile, join(own, 'handout'), { name: p.learner, values: { ssh, login } }, c.roles);
  marks.push(Date.now());
  const [clone, rekeyed, booted, handed] = marks.slice(1).map((m, k) => `${((m - marks[k]!) / 1000).toFixed(1)}s`);
  c.board.set(
    p.lab,
    `ready (clone ${clone}, re-key ${rekeyed}, boot ${booted}, handout ${handed}): ${p.forwards.map((f) => `${f.service} ${f.host}`).join(', ')}`,
  );
  return { learner: p.learner, lab: p.lab, labFile, ssh, ports, credentials: state.credentialsFile, ...(passwordFile ? { passwordFile } : {}), handout };
}

/** The course's HTML handout rendered with the learner's own lab file (its name, ports, host names) and login; its index.html. */
export async function writeLearnerHandout(labFile: string, out: string, learner?: HandoutInput['learner'], roles?: Role[]): Promise<string> {
  const { courseSource } = await import('../cli/lesson.js');
  const { renderHandout, writeHandout } = await import('../course/handout/index.js');
  const { loadRoles } = await import('../runbook/load.js');
  const s = courseSource(labFile, undefined);
  const paths = writeHandout(out, renderHandout({ lab: s.lab, platform: s.platform, roles: roles ?? loadRoles(), checks: s.checks, facts: s.facts, learner }));
  return paths.find((f) => f.endsWith('/index.html')) ?? join(out, 'index.html');
}

async function removeLab(labFile: string): Promise<void> {
  await labLifecycle('down', { labFile, events: quiet() }).catch(() => undefined);
}

/** Run `fn` over `items`, at most `limit` at once, in order of the items. */
async function pool<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export async function classUp(o: ClassUpOptions): Promise<ClassUpResult> {
  const t0 = Date.now();
  // every input checked, and the ports, before anything is made
  const cls = checkClassName(o.cls ?? 'class');
  const learners = checkLearners(o.learners);
  const section = checkClassSection(o.section);
  const listen = checkListen(o.listen ?? '127.0.0.1');
  const login = checkLearnerLogin(o.learnerLogin);
  const source = loadLab(resolve(o.labFile ?? 'lab.yaml'));
  if (resolveDriver(source).driver !== 'container' || source.platform !== 'debian12')
    throw new InputError(
      `${source.file}: a class runs on the container driver (debian12); this lab file would use ${resolveDriver(source).driver} for ${source.platform}`,
      'Use a debian12 lab file with driver: container or auto, e.g. --lab labs/debian12-container.yaml.',
    );
  const plan = portPlan({ cls, learners, basePort: o.basePort ?? 30000, ports: source.ports });
  checkNamesFree(cls, [baseLab(cls), ...plan.map((p) => p.lab)]);
  await checkPlanFree(plan, listen, cls);

  const dir = classDir(cls);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const board = new Board(o.out);
  if (listen !== '127.0.0.1')
    o.out.write(`warning: the class's ports (learner SSH included) listen on ${listen}: anyone who reaches this machine there can try them\n`);
  const baseFile = writeLabFile(dir, source, baseLab(cls), []);
  const files = plan.map((p) => writeLabFile(dir, source, p.lab, p.forwards, listen));
  for (const p of plan) board.set(p.lab, 'waiting for the base lab');
  board.set('base', `building ${baseLab(cls)} up to ${section === 'done' ? 'the end' : `the start of section ${section}`}`);
  const tb = Date.now();
  const { from, carry, halted } = await buildBase(baseFile, section, board, o.signal);
  board.set('base', `ready in ${((Date.now() - tb) / 1000).toFixed(1)}s: checkpoint ${from} (halting; its layers are shared by the clones)`);

  const roles = (await import('../runbook/load.js')).loadRoles();
  const c: LearnerCtx = { cls, roles, dir, source, base: baseLab(cls), from, carry, listen, login, board };
  const failed: ClassUpResult['failed'] = [];
  const made = await pool(plan, 3, async (p) => {
    const file = files[plan.indexOf(p)]!;
    for (let attempt = 1; ; attempt++) {
      try {
        return await makeLearner(c, p, file);
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        await removeLab(file);
        if (attempt === 2) {
          board.set(p.lab, `FAILED: ${msg}`);
          failed.push({ learner: p.learner, lab: p.lab, error: msg });
          return undefined;
        }
        board.set(p.lab, `failed (${msg}); trying once more`);
      }
    }
  });
  await halted;
  const roster: Roster = {
    class: cls,
    created: new Date().toISOString(),
    platform: source.platform,
    section,
    listen,
    learnerLogin: login,
    learners: made.filter((e): e is RosterEntry => !!e),
  };
  writeRoster(roster);
  return { roster, failed, durationMs: Date.now() - t0 };
}
