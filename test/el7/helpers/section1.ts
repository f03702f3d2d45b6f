/**
 * Runs the el7 section-1 steps of the plan (as makePlan renders them for el7) on this machine, as the build user in a
 * scratch home: check, apply if needed, check again, like the engine. The lab host's paths are mapped into the
 * scratch home: /home/<build user> is the home, /usr/local/sbin/ is <home>/sbin/ (nothing is written outside it).
 */
import { chownSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makePlan, type Plan, type PlanStep } from '../../../src/runbook/plan.js';
import { allSteps, labFor, roles } from '../../helpers/runbook.js';
import { asBuildUser, BUILD_USER, buildIds, EL7_DIR, scratchHome, TARBALL, VDA_STANDIN, type Ran } from './sources.js';

/** A stand-in for the sleep patch (no public copy exists): -p0, like the real one; changes a comment only. */
export const SLEEP_STANDIN = `--- src/smtpd/smtpd_check.c.orig
+++ src/smtpd/smtpd_check.c
@@ -1,3 +1,4 @@
+/* postfix-lab: test stand-in for postfix-2.9-sleep.patch */
 /*++
 /* NAME
 /*	smtpd_check 3
`;

/** Debian's /bin/sh is dash, which has no pushd (the EL7 spec's %prep uses it); EL7's /bin/sh is bash. */
export const DEBIAN_ONLY_MACROS = '%_buildshell /bin/bash\n';

export function el7Plan(): Plan {
  const lab = labFor('el7', false);
  return makePlan({ ...lab, params: { ...lab.params, build_user: BUILD_USER } }, roles, 'el7');
}

export interface StepRun {
  before?: Ran;
  applied?: Ran;
  after?: Ran;
  changed: boolean;
}

export class Section1 {
  readonly home = scratchHome();
  readonly plan = el7Plan();

  constructor(readonly sources: string) {
    this.mkdir(join(this.home, 'sbin'));
  }

  step(id: string): PlanStep {
    const s = allSteps(this.plan).find((x) => x.id === id);
    if (!s) throw new Error(`the el7 plan has no step ${id}`);
    return s;
  }

  params<T = Record<string, string>>(id: string): T {
    return this.step(id).params as T;
  }

  /** A lab-host path or command with the lab host's paths mapped into the scratch home. */
  local(s: string): string {
    return s.replaceAll(`/home/${BUILD_USER}`, this.home).replaceAll('/usr/local/sbin/', `${this.home}/sbin/`);
  }

  sh(cmd: string, env?: Record<string, string>, timeoutMs?: number): Ran {
    return asBuildUser(this.home, this.local(cmd), { env, timeoutMs });
  }

  /** A command step: its check (unless/creates), its run when needed, its check again; a readonly one just runs. */
  command(id: string, env?: Record<string, string>): StepRun {
    const p = this.params<{ run: string; unless?: string; creates?: string; readonly?: boolean; user?: string }>(id);
    if (p.user !== undefined && p.user !== BUILD_USER) throw new Error(`${id} runs as ${p.user}, not the build user`);
    if (p.readonly) {
      const applied = this.sh(p.run, env);
      return { applied, changed: false };
    }
    const check = p.unless ?? `test -e '${p.creates}'`;
    const before = this.sh(check, env);
    if (before.code === 0) return { before, changed: false };
    const applied = this.sh(p.run, env);
    return { before, applied, after: this.sh(check, env), changed: true };
  }

  /** A file step: its rendered content at its (mapped) path, with its mode; owned by the build user. */
  file(id: string, extra = ''): string {
    const p = this.params<{ path: string; content: string; mode?: string }>(id);
    const path = this.local(p.path);
    this.write(path, p.content + extra, Number.parseInt(p.mode ?? '0644', 8));
    return path;
  }

  /** Where a download step puts its file (mapped). */
  dest(id: string): string {
    return this.local(this.params(id).dest!);
  }

  write(path: string, content: string | Buffer, mode = 0o644): void {
    this.mkdir(dirname(path));
    writeFileSync(path, content, { mode });
    const { uid, gid } = buildIds();
    chownSync(path, uid, gid);
  }

  mkdir(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const { uid, gid } = buildIds();
    chownSync(dir, uid, gid);
  }

  /** The vault SRPM's stand-in: an SRPM built with rpmbuild -bs from the EL7 2.10.1-7 spec and sources. */
  buildSrpm(): Ran {
    const src = join(this.home, 'srpm-src');
    this.mkdir(src);
    for (const f of readdirSync(join(this.sources, EL7_DIR))) copyFileSync(join(this.sources, EL7_DIR, f), join(src, f));
    copyFileSync(join(this.sources, TARBALL), join(src, TARBALL));
    asBuildUser(this.home, `chmod -R u+w ${src}`);
    const out = join(this.home, 'srpm-out');
    const r = asBuildUser(
      this.home,
      `rpmbuild -bs --define '_sourcedir ${src}' --define '_srcrpmdir ${out}' --define 'dist .el7' ${src}/postfix.spec` +
        ` && cp ${out}/postfix-2.10.1-7.el7.src.rpm '${this.dest('srpm-download')}'`,
    );
    rmSync(src, { recursive: true, force: true });
    return r;
  }

  /** The two patches where their download steps put them: the VDA refresh and the synthetic sleep patch. */
  putPatches(): void {
    this.write(this.dest('vda-patch-download'), readFileSync(join(this.sources, VDA_STANDIN)));
    this.write(this.dest('sleep-patch-download'), SLEEP_STANDIN);
  }

  /** rpm's own %prep of the edited spec (what rpmbuild -bb does first), as the build user. */
  prep(): Ran {
    return this.sh("rpmbuild -bp --nodeps --define 'dist .el7.centos' ~/rpmbuild/SPECS/postfix.spec");
  }

  /** The tree %prep left in ~/rpmbuild/BUILD. */
  tree(): string {
    return join(this.home, 'rpmbuild', 'BUILD', 'postfix-2.10.1');
  }

  /** Every section-1 step up to the patched, prepared tree; throws at the first that fails. */
  prepareAll(): void {
    const must = (what: string, r: Ran | undefined) => {
      if (r && r.code !== 0) throw new Error(`${what} failed:\n${r.out}`);
    };
    must('rpmbuild-tree', this.command('rpmbuild-tree').applied);
    this.file('rpmmacros', DEBIAN_ONLY_MACROS);
    this.file('patch-dry-run-script');
    this.file('spec-add-patches-script');
    this.mkdir(dirname(this.dest('srpm-download')));
    must('the SRPM stand-in', this.buildSrpm());
    must('srpm-install', this.command('srpm-install').applied);
    this.putPatches();
    must('patch-dry-run', this.command('patch-dry-run').applied);
    must('spec-add-patches', this.command('spec-add-patches').applied);
    must('rpmbuild -bp', this.prep());
  }

  cleanup(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}
