/** What the lab:* commands do, as library functions; scripts/ only parse flags and call these. */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { getDriver } from './drivers/index.js';
import type { DriverContext, LabStatus, SshTarget } from './drivers/types.js';
import { runPlan, type Recap } from './engine.js';
import { InputError, LabError } from './errors.js';
import { Emitter } from './events.js';
import type { Host } from './host.js';
import { Journal } from './journal.js';
import { lockLab } from './lab-lock.js';
import { loadLab, resolveDriver, type DriverName, type Lab, type Platform } from './lab-file.js';
import { makePlan, type Plan, type Selection } from './plan.js';
import { loadRoles } from './roles.js';
import { connectSsh } from './ssh/executor.js';
import { keysFile } from './ssh/known-hosts.js';
import { ensureCredentials, ensureStateDirs, labState, listLabs, readJson, stateRoot, writePrivate, type LabState } from './state.js';

export interface LabRef { labFile?: string; name?: string; platform?: Platform }

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
  const journal = new Journal(state.journalFile);
  if (up.created) {
    journal.reset();
    rmSync(state.knownHostsFile, { force: true });
    rmSync(keysFile(state.knownHostsFile), { force: true });
    o.events.emit({ event: 'info', message: 'a new lab host was created: starting a new journal' });
  }
  const target = up.targets[0];
  if (!target) throw new LabError(`driver ${driverName} returned no host for lab ${lab.name}`, 'This is a bug in the driver.');
  const meta: LabMeta = { name: lab.name, driver: driverName, platform: lab.platform, labFile: resolve(lab.file), ports: lab.ports, ssh: target, credentialsFile: state.credentialsFile };
  writePrivate(state.metaFile, JSON.stringify(meta, null, 2) + '\n');
  const host = await (o.connect ?? ((t, s) => connectSsh(t, { knownHostsFile: s.knownHostsFile, onEvent: (m) => o.events.emit({ event: 'info', message: m }) })))(target, state);
  try {
    await waitForBoot(host, o.events);
    return await runPlan(plan, {
      host, platform: lab.platform, sudo: target.sudo, journal, logsDir: state.logsDir, artifactsDir: lab.params.artifacts,
      secrets: { mail_password: creds.password }, events: o.events, selection: o.selection, signal: o.signal,
    });
  } finally {
    await host.close();
  }
}

/**
 * SSH answers before systemd has started every unit: a step that checks a service right after boot would see it
 * "inactive" and start it itself. Wait for the boot to finish (any driver; a no-op on a running host).
 */
async function waitForBoot(host: Host, events: Emitter): Promise<void> {
  const t0 = Date.now();
  const r = await host.exec('command -v systemctl >/dev/null || exit 0; systemctl is-system-running --wait', { timeoutMs: 300_000 });
  const state = r.stdout.trim();
  if (Date.now() - t0 > 1000) events.emit({ event: 'info', message: `${host.name} finished booting (${state || 'no systemd'})` });
  if (state === 'degraded') events.emit({ event: 'info', message: `${host.name}: some units failed at boot (systemctl --failed on the host lists them)` });
}

export async function labLifecycle(action: 'halt' | 'down', o: LabRef & { events: Emitter }): Promise<void> {
  const lab = openLab(o);
  const meta = readJson<LabMeta>(labState(lab.name).metaFile);
  const driver = await getDriver(meta?.driver ?? resolveDriver(lab).driver);
  const state = labState(lab.name);
  const ctx = driverContext(lab, state, o.events);
  await driver[action](ctx);
  if (action === 'down') {
    rmSync(state.dir, { recursive: true, force: true });
    o.events.emit({ event: 'info', message: `lab ${lab.name} removed` });
  } else {
    o.events.emit({ event: 'info', message: `lab ${lab.name} halted; \`npm run lab:up\` boots it again` });
  }
}

export interface StatusEntry extends LabStatus { credentialsFile?: string }

export async function labStatus(o: LabRef & { events: Emitter }): Promise<StatusEntry[]> {
  const names = o.name ? [o.name] : listLabs();
  const out: StatusEntry[] = [];
  for (const name of names) {
    const state = labState(name);
    const meta = readJson<LabMeta>(state.metaFile);
    if (!meta) {
      if (o.name) throw new InputError(`no lab named ${name} under ${stateRoot()}`, `Labs here: ${listLabs().join(', ') || 'none'}. \`npm run lab:up -- --name ${name}\` creates it.`);
      continue;
    }
    let status: LabStatus;
    try {
      const lab = loadLab(meta.labFile, { name, platform: meta.platform });
      const driver = await getDriver(meta.driver);
      status = await driver.status(driverContext(lab, state, o.events));
    } catch (e) {
      status = { name, driver: meta.driver, platform: meta.platform, state: 'unknown', ssh: meta.ssh, ports: meta.ports,
        detail: e instanceof LabError ? e.message : String(e) };
    }
    out.push({ ...status, ssh: status.ssh ?? meta.ssh, credentialsFile: meta.credentialsFile });
  }
  return out;
}

/** The shape `lab:status --json` prints. */
export function statusJson(entries: StatusEntry[]): string {
  return JSON.stringify({
    labs: entries.map((e) => ({
      name: e.name, driver: e.driver, platform: e.platform, state: e.state,
      ssh: e.ssh ? { host: e.ssh.host, port: e.ssh.port, user: e.ssh.user, identityFile: e.ssh.identityFile } : null,
      ports: e.ports.map((p) => ({ guest: p.guest, host: p.host })),
      credentialsFile: e.credentialsFile ?? null,
      ...(e.detail ? { detail: e.detail } : {}),
    })),
  }, null, 2);
}

export async function labSnapshot(action: 'save' | 'restore' | 'list', name: string | undefined, o: LabRef & { events: Emitter }): Promise<string[]> {
  const lab = openLab(o);
  const state = labState(lab.name);
  const meta = readJson<LabMeta>(state.metaFile);
  const driverName = meta?.driver ?? resolveDriver(lab).driver;
  const driver = await getDriver(driverName);
  if (!driver.snapshot) throw new InputError(`the ${driverName} driver has no snapshots`, 'Snapshots exist for the container and vagrant drivers.');
  if (action !== 'list' && !name) throw new InputError(`lab:snapshot ${action} needs a snapshot name`, `Example: npm run lab:snapshot -- ${action} before-section-4`);
  return driver.snapshot(driverContext(lab, state, o.events), action, name);
}
