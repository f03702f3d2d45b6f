/**
 * A session on a lab that exists: the lab lock held, the host booted if it was halted (never created), one SSH
 * connection. Check mode and the course work through it; lab:up has its own path because it may create the host.
 */
import { getDriver } from '../drivers/index.js';
import type { Driver, DriverContext } from '../drivers/types.js';
import { InputError, LabError } from '../errors.js';
import type { Host } from '../host.js';
import type { Emitter } from '../output/events.js';
import { makePlan, type Plan } from '../runbook/plan.js';
import { loadRoles } from '../runbook/load.js';
import { Journal } from '../runbook/journal.js';
import { connectSsh } from '../ssh/executor.js';
import type { SshTarget } from '../ssh/target.js';
import type { DriverName, Lab } from './lab-file.js';
import { lockLab } from './lock.js';
import { type LabMeta, type LabRef, openLab } from './ops.js';
import { reopen, waitForBoot } from './connection.js';
import { checkOwnFolder, type Credentials, jsonState, labState, type LabState, readJson } from './state.js';

export interface Session {
  lab: Lab;
  plan: Plan;
  state: LabState;
  driverName: DriverName;
  driver: Driver;
  ctx: DriverContext;
  target: SshTarget;
  host: Host;
  journal: Journal;
  secrets: Record<string, string>;
  events: Emitter;
  /** Connect again after the driver stopped and booted the lab (a checkpoint). */
  reconnect(): Promise<void>;
}

export interface SessionOptions extends LabRef {
  events: Emitter;
  rolesDir?: string;
  connect?: (t: SshTarget, s: LabState) => Promise<Host>;
}

/** The lab, its state and its driver, without touching the host (for commands that only read the lab's files). */
export async function labOnDisk(o: SessionOptions): Promise<{ lab: Lab; state: LabState; meta: LabMeta; driver: Driver; ctx: DriverContext }> {
  const lab = openLab(o);
  const state = labState(lab.name);
  checkOwnFolder(state);
  const { value: meta, error } = jsonState<LabMeta>(state.metaFile);
  if (error)
    throw new LabError(`lab ${lab.name}: ${state.metaFile} is damaged (${error})`, 'Run `npm run lab:up`: it checks the lab and writes the file again.');
  if (!meta) throw new InputError(`lab ${lab.name} has not been brought up on this machine (no ${state.metaFile})`, 'Run `npm run lab:up` first.');
  const driver = await getDriver(meta.driver);
  const ctx: DriverContext = { lab, state, progress: (message) => o.events.emit({ event: 'info', message }) };
  return { lab, state, meta, driver, ctx };
}

export async function withSession<T>(o: SessionOptions, fn: (s: Session) => Promise<T>): Promise<T> {
  const { lab, state, meta, driver, ctx } = await labOnDisk(o);
  const unlock = lockLab(state.dir, lab.name);
  let host: Host | undefined;
  let session: Session | undefined;
  try {
    const st = await driver.status(ctx);
    if (st.state === 'absent')
      throw new InputError(`lab ${lab.name} does not exist any more (its ${meta.driver} host is gone)`, 'Run `npm run lab:up` to make it again.');
    const up = await driver.up(ctx);
    const target = up.targets[0];
    if (!target || up.created)
      throw new LabError(`lab ${lab.name}: the driver made a new host instead of booting the old one`, 'Run `npm run lab:up` to build it.');
    const creds = readJson<Credentials>(state.credentialsFile);
    if (!creds) throw new InputError(`lab ${lab.name} has no credentials file ${state.credentialsFile}`, 'Run `npm run lab:up`: it generates them.');
    const connect = o.connect ?? ((t: SshTarget, s: LabState) => connectSsh(t, { knownHostsFile: s.knownHostsFile }));
    host = await connect(target, state);
    await waitForBoot(host, o.events);
    session = {
      lab,
      plan: makePlan(lab, loadRoles(o.rolesDir)),
      state,
      driverName: meta.driver,
      driver,
      ctx,
      target,
      host,
      journal: new Journal(state.journalFile),
      secrets: { mail_password: creds.password },
      events: o.events,
      reconnect: async () => {
        session!.host = await reopen(session!.host, () => connect(target, state), o.events);
      },
    };
    return await fn(session);
  } finally {
    await (session?.host ?? host)?.close().catch(() => undefined);
    unlock();
  }
}
