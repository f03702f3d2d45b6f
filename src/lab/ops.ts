/** What the lab:* commands do, as library functions; src/cli/ only parses flags and calls these. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { getDriver } from '../drivers/index.js';
import type { DriverContext, LabStatus, SnapshotAction } from '../drivers/types.js';
import type { SshTarget } from '../ssh/target.js';
import { type Recap, runPlan } from '../runbook/engine.js';
import { InputError, LabError } from '../errors.js';
import type { Emitter } from '../output/events.js';
import type { Host } from '../host.js';
import { Journal } from '../runbook/journal.js';
import { type DriverName, type Lab, loadLab, type Platform, resolveDriver } from './lab-file.js';
import { makePlan, type Plan, type Selection } from '../runbook/plan.js';
import { loadRoles } from '../runbook/load.js';
import { connectSsh } from '../ssh/executor.js';
import { keysFile } from '../ssh/known-hosts.js';
import {
  checkOwnFolder,
  ensureCredentials,
  ensureStateDirs,
  jsonState,
  labState,
  type LabState,
  listLabs,
  readJson,
  stateRoot,
  writePrivate,
} from './state.js';
import { checkLabName, checkSnapshotName, removeInside } from './names.js';
import { lockLab } from './lock.js';
import { answers, reopen, swappableHost, waitForBoot } from './connection.js';
import { checkpointHook, checkpointsByDefault, restoreSnapshot, saveSnapshot } from './checkpoints.js';

export interface LabRef {
  labFile?: string;
  name?: string;
  platform?: Platform;
}

export interface LabMeta {
  name: string;
  driver: DriverName;
  platform: Platform;
  labFile: string;
  ports: Lab['ports'];
  ssh?: SshTarget;
  credentialsFile: string;
}

export function openLab(ref: LabRef): Lab {
  const file = resolve(ref.labFile ?? 'lab.yaml');
  if (ref.name !== undefined) checkLabName(ref.name, '--name'); // before any path is made from it
  if (!ref.labFile && ref.name) {
    // --name alone addresses a lab that exists: use the lab file it was made from.
    const meta = readJson<LabMeta>(labState(ref.name).metaFile);
    if (meta && existsSync(meta.labFile)) return loadLab(meta.labFile, { name: ref.name, platform: ref.platform });
  }
  return loadLab(file, { name: ref.name, platform: ref.platform });
}

export function planLab(lab: Lab, rolesDir?: string): Plan {
  return makePlan(lab, loadRoles(rolesDir));
}

function driverContext(lab: Lab, state: LabState, events: Emitter): DriverContext {
  return { lab, state, progress: (message) => events.emit({ event: 'info', message }) };
}

export interface UpOptions extends LabRef {
  selection?: Selection;
  events: Emitter;
  rolesDir?: string;
  /** Provision only these steps' host; used by tests to inject a host. */
  connect?: (t: SshTarget, s: LabState) => Promise<Host>;
  /** Ctrl-C: stop the running step's remote commands and end the run there (resumable). */
  signal?: AbortSignal;
  /** Take no checkpoints at section starts (a test wants the run alone). */
  noCheckpoints?: boolean;
  /** End the run at the start of this course section, after its checkpoint (`course start`). */
  stopAt?: string;
}

export async function labUp(o: UpOptions): Promise<Recap> {
  const lab = openLab(o);
  const plan = planLab(lab, o.rolesDir);
  const { driver: driverName, why } = resolveDriver(lab);
  o.events.emit({ event: 'info', message: `driver: ${driverName} (${why})` });
  const state = labState(lab.name);
  ensureStateDirs(state);
  const unlock = lockLab(state.dir, lab.name);
  try {
    return await provision(o, lab, plan, state, driverName);
  } finally {
    unlock();
  }
}

async function provision(o: UpOptions, lab: Lab, plan: Plan, state: LabState, driverName: DriverName): Promise<Recap> {
  const driver = await getDriver(driverName);
  const creds = ensureCredentials(state, lab.params.mail_user);
  const ctx = driverContext(lab, state, o.events);
  const up = await driver.up(ctx);
  if (!up.targets.length) throw new LabError(`driver ${driverName} returned no host for lab ${lab.name}`, 'This is a bug in the driver.');
  const hosts = up.targets.map((t, i) => hostState(state, t, i));
  if (up.created) {
    for (const h of hosts) h.journal.reset();
    removeInside(state.root, state.knownHostsFile);
    removeInside(state.root, keysFile(state.knownHostsFile));
    o.events.emit({ event: 'info', message: 'a new lab host was created: starting a new journal' });
  }
  const target = up.targets[0]!;
  const meta: LabMeta = {
    name: lab.name,
    driver: driverName,
    platform: lab.platform,
    labFile: resolve(lab.file),
    ports: lab.ports,
    ssh: target,
    credentialsFile: state.credentialsFile,
  };
  writePrivate(state.metaFile, JSON.stringify(meta, null, 2) + '\n');
  const connect = o.connect ?? ((t, s) => connectSsh(t, { knownHostsFile: s.knownHostsFile, onEvent: (m) => o.events.emit({ event: 'info', message: m }) }));
  // every host in order (the ssh driver's `hosts`); the first failure stops the run, as it does within a host
  const total: Recap = { ok: 0, changed: 0, skipped: 0, failed: 0, durationMs: 0 };
  for (const h of hosts) {
    if (hosts.length > 1)
      o.events.emit({ event: 'info', message: `host ${h.target.name} (${h.target.host}:${h.target.port}): ${h.index + 1} of ${hosts.length}` });
    let host = await connect(h.target, state);
    let recap: Recap;
    try {
      await waitForBoot(host, o.events);
      // A one-host lab on a driver with snapshots gets a checkpoint at the start of every section it builds.
      const onSection =
        hosts.length === 1 && (checkpointsByDefault(driver) || o.stopAt) && !o.noCheckpoints
          ? checkpointHook({
              stopAt: o.stopAt,
              driver,
              ctx,
              state,
              plan,
              journal: h.journal,
              reconnect: async () => {
                if (await answers(host)) return; // saved as it ran (the container driver): the connection lives on
                host = await reopen(host, () => connect(h.target, state), o.events);
                proxy.host = host;
              },
            })
          : undefined;
      // The engine holds one Host for the whole run: after a checkpoint (stop, boot) it reaches the new connection.
      const proxy = swappableHost(host);
      recap = await runPlan(plan, {
        host: proxy,
        onSection,
        platform: lab.platform,
        sudo: h.target.sudo,
        journal: h.journal,
        logsDir: h.logsDir,
        artifactsDir: lab.params.artifacts,
        secrets: { mail_password: creds.password },
        events: o.events,
        selection: o.selection,
        signal: o.signal,
      });
    } finally {
      await host.close();
    }
    if (hosts.length === 1) return recap;
    for (const k of ['ok', 'changed', 'skipped', 'failed', 'durationMs'] as const) total[k] += recap[k];
    if (recap.failed) return { ...total, failedStep: recap.failedStep && `${h.target.name}:${recap.failedStep}`, error: recap.error };
  }
  return total;
}

/** Each host of a lab has its own journal and logs; the first keeps the lab's (journal.jsonl, logs/). */
function hostState(state: LabState, target: SshTarget, index: number): { target: SshTarget; index: number; journal: Journal; logsDir: string } {
  if (index === 0) return { target, index, journal: new Journal(state.journalFile), logsDir: state.logsDir };
  return { target, index, journal: new Journal(join(state.dir, `journal-${target.name}.jsonl`)), logsDir: join(state.logsDir, target.name) };
}

export async function labLifecycle(action: 'halt' | 'down', o: LabRef & { events: Emitter }): Promise<void> {
  const lab = openLab(o);
  const state = labState(lab.name);
  checkOwnFolder(state);
  const meta = jsonState<LabMeta>(state.metaFile);
  if (meta.error) o.events.emit({ event: 'info', message: `${state.metaFile} is damaged (${meta.error}); using the lab file's driver` });
  const driver = await getDriver(meta.value?.driver ?? resolveDriver(lab).driver);
  const ctx = driverContext(lab, state, o.events);
  await driver[action](ctx);
  if (action === 'down') {
    removeInside(state.root, state.dir);
    o.events.emit({ event: 'info', message: `lab ${lab.name} removed` });
  } else {
    o.events.emit({ event: 'info', message: `lab ${lab.name} halted; \`npm run lab:up\` boots it again` });
  }
}

export interface StatusEntry extends LabStatus {
  credentialsFile?: string;
}

export async function labStatus(o: LabRef & { events: Emitter }): Promise<StatusEntry[]> {
  const names = o.name !== undefined ? [checkLabName(o.name, '--name')] : listLabs();
  const out: StatusEntry[] = [];
  for (const name of names) {
    const state = labState(name);
    checkOwnFolder(state);
    const { value: meta, error } = jsonState<LabMeta>(state.metaFile);
    if (error) {
      out.push({
        name,
        driver: 'unknown' as DriverName,
        platform: 'unknown',
        state: 'unknown',
        ports: [],
        detail: `${state.metaFile} is damaged (${error}): \`npm run lab:down -- --name ${name}\` removes the lab`,
      });
      continue;
    }
    if (!meta) {
      if (o.name)
        throw new InputError(
          `no lab named ${name} under ${stateRoot()}`,
          `Labs here: ${listLabs().join(', ') || 'none'}. \`npm run lab:up -- --name ${name}\` creates it.`,
        );
      continue;
    }
    let status: LabStatus;
    try {
      const lab = loadLab(meta.labFile, { name, platform: meta.platform });
      const driver = await getDriver(meta.driver);
      status = await driver.status(driverContext(lab, state, o.events));
    } catch (e) {
      status = {
        name,
        driver: meta.driver,
        platform: meta.platform,
        state: 'unknown',
        ssh: meta.ssh,
        ports: meta.ports,
        detail: e instanceof LabError ? e.message : String(e),
      };
    }
    out.push({ ...status, ssh: status.ssh ?? meta.ssh, credentialsFile: meta.credentialsFile });
  }
  return out;
}

/** The shape `lab:status --json` prints. */
export function statusJson(entries: StatusEntry[]): string {
  return JSON.stringify(
    {
      labs: entries.map((e) => ({
        name: e.name,
        driver: e.driver,
        platform: e.platform,
        state: e.state,
        ssh: e.ssh ? { host: e.ssh.host, port: e.ssh.port, user: e.ssh.user, identityFile: e.ssh.identityFile } : null,
        ports: e.ports.map((p) => ({ guest: p.guest, host: p.host })),
        credentialsFile: e.credentialsFile ?? null,
        ...(e.detail ? { detail: e.detail } : {}),
      })),
    },
    null,
    2,
  );
}

export async function labSnapshot(action: SnapshotAction, name: string | undefined, o: LabRef & { events: Emitter }): Promise<string[]> {
  if (action !== 'list' && name !== undefined) checkSnapshotName(name);
  const lab = openLab(o);
  const state = labState(lab.name);
  checkOwnFolder(state);
  const meta = readJson<LabMeta>(state.metaFile);
  const driverName = meta?.driver ?? resolveDriver(lab).driver;
  const driver = await getDriver(driverName);
  if (!driver.snapshot) throw new InputError(`the ${driverName} driver has no snapshots`, 'Snapshots exist for the container and vagrant drivers.');
  if (action !== 'list' && !name)
    throw new InputError(`lab:snapshot ${action} needs a snapshot name`, `Example: npm run lab:snapshot -- ${action} before-section-4`);
  const ctx = driverContext(lab, state, o.events);
  if (action === 'list') return driver.snapshot(ctx, 'list');
  // with the journal: a restored disk and its journal must agree on which steps are done
  const place = { driver, ctx, state };
  return action === 'save' ? saveSnapshot(place, name!) : restoreSnapshot(place, name!);
}
