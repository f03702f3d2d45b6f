/** npm run verify: acceptance checks against a running lab, per memo section. */
import { randomBytes } from 'node:crypto';
import { InputError, LabError } from '../errors.js';
import type { Host } from '../host.js';
import { checkOwnFolder, type Credentials, jsonState, labState, readJson } from '../lab/state.js';
import { type LabMeta, type LabRef, openLab } from '../lab/ops.js';
import { connectSsh } from '../ssh/executor.js';
import { type Check, loadChecks, type CheckFile } from './load.js';
import { checkKinds } from './kinds/index.js';
import { inCourseSection } from '../course/sections.js';
import { limiter } from '../limiter.js';
import { runChecks, type CheckResult } from './runner.js';
import { checkSeconds, SLOW_S, type VerifyContext } from './types.js';

export interface VerifyOptions extends LabRef {
  /** A memo section ("3") or a course part ("4.4"); `sections` for several. */
  section?: string;
  sections?: string[];
  /** Of these sections, only the quick checks: the slow probes (SLOW_S and more) are left out and listed as not run. */
  quick?: string[];
  checksDir?: string;
  onResult?: (r: CheckResult) => void;
  /** Inject a host (tests). */
  host?: Host;
  /** Where the labs' state folders live (default: POSTFIX_LAB_HOME or .lab/). */
  stateRoot?: string;
}

export interface VerifyReport {
  files: CheckFile[];
  results: CheckResult[];
  /** The slow probes of `quick` sections, left out. */
  notRun: Pick<CheckResult, 'id' | 'section' | 'title'>[];
  summary: { pass: number; fail: number; inconclusive: number };
  durationMs: number;
}

export async function verifyLab(o: VerifyOptions): Promise<VerifyReport> {
  const t0 = Date.now();
  const lab = openLab(o);
  const state = labState(lab.name, o.stateRoot);
  checkOwnFolder(state);
  const { value: meta, error: damaged } = jsonState<LabMeta>(state.metaFile);
  if (damaged)
    throw new LabError(`lab ${lab.name}: ${state.metaFile} is damaged (${damaged})`, 'Run `npm run lab:up`: it checks the lab and writes the file again.');
  if (!meta?.ssh)
    throw new InputError(
      `lab ${lab.name} has not been brought up on this machine (no ${state.metaFile})`,
      'Run `npm run lab:up` first, or name the lab with --name / --lab.',
    );
  const creds = readJson<Credentials>(state.credentialsFile);
  if (!creds)
    throw new InputError(
      `lab ${lab.name} has no credentials file ${state.credentialsFile}`,
      "Run `npm run lab:up`: it generates the lab mail user's password.",
    );
  const vars = { ...(lab.params as unknown as Record<string, string | number | boolean>), platform: lab.platform, lab_name: lab.name, mail_user: creds.user };
  const wanted = o.sections ?? (o.section === undefined ? undefined : [o.section]);
  const inWanted = (section: string) => !wanted || wanted.some((w) => (w.includes('.') ? inCourseSection(section, w) : section.split('.')[0] === w));
  const files = loadChecks(lab.platform, vars, o.checksDir)
    .map((f) => ({ ...f, checks: f.checks.filter((c) => inWanted(c.section)) }))
    .filter((f) => f.checks.length);
  const slow = (c: Check) => !!o.quick?.some((q) => inCourseSection(c.section, q)) && checkSeconds(c, checkKinds[c.kind]) >= SLOW_S;
  const notRun = files.flatMap((f) => f.checks.filter(slow)).map(({ id, section, title }) => ({ id, section, title }));
  if (wanted && !files.length)
    throw new InputError(`no checks for section ${wanted.join(', ')}`, 'Sections are 1 to 4, or a part of one (4.1, 4.2, 4.4, 4.5, 4.6).');
  const target = meta.ssh;
  let hostP: Promise<Host> | undefined = o.host ? Promise.resolve(o.host) : undefined;
  const ssh = () => (hostP ??= connectSsh(target, { knownHostsFile: state.knownHostsFile }));
  const limit = limiter(6);
  const ctx: VerifyContext = {
    platform: lab.platform,
    ssh,
    // Generous: a VM under software emulation (TCG) runs `postfix check` in over 30 s.
    exec: (command, stdin) => limit(async () => (await ssh()).exec(command, { sudo: target.sudo, stdin, timeoutMs: 90_000 })),
    read: (path) => limit(async () => (await ssh()).get(path, { sudo: true })),
    endpoint: (guest) => {
      const fwd = lab.ports.find((p) => p.guest === guest);
      return fwd ? { host: '127.0.0.1', port: fwd.host } : { host: target.host, port: guest };
    },
    credentials: { user: creds.user, password: creds.password },
    token: () => `plab-${randomBytes(6).toString('hex')}`,
  };
  try {
    const results = await runChecks(
      files.flatMap((f) => f.checks.filter((c) => !slow(c))),
      ctx,
      8,
      o.onResult,
    );
    const summary = { pass: 0, fail: 0, inconclusive: 0 };
    for (const r of results) summary[r.status] += 1;
    return { files, results, notRun, summary, durationMs: Date.now() - t0 };
  } finally {
    if (hostP && !o.host) await (await hostP.catch(() => undefined))?.close();
  }
}
