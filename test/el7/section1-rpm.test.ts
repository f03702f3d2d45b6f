/**
 * el7 section 1 for real, as far as this machine allows: the plan's own section-1 commands run with Debian's
 * rpm/rpmbuild/rpmspec against Postfix 2.10.1 and the EL7 2.10.1-7 spec and patches, as an unprivileged build user.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../src/runbook/kinds/index.js';
import { FakeHost } from '../helpers/fake-host.js';
import { built, BUILD_TIMEOUT_MS } from './helpers/build.js';
import { DEBIAN_ONLY_MACROS, Section1 } from './helpers/section1.js';
import { BUILD_USER, buildIds, cannotRun, ensureBuildUser, findSources, VDA_STANDIN } from './helpers/sources.js';

const { dir: sources, missing } = findSources();
const blocked = sources ? cannotRun() : missing;
// The only skip: without the el7 sources (or root and the rpm tools) there is nothing real to run these steps on.
describe.skipIf(!!blocked)(`el7 section 1 with real EL7 sources${blocked ? ` (skipped: ${blocked})` : ''}`, { timeout: 300_000 }, () => {
  let s: Section1;
  beforeAll(() => {
    ensureBuildUser();
    s = new Section1(sources!);
  });
  afterAll(() => s?.cleanup());
  const spec = () => join(s.home, 'rpmbuild', 'SPECS', 'postfix.spec');

  it('installs the SRPM, adds both patches to the spec, which parses and %prep-applies every patch with fuzz 0; a second run changes nothing', () => {
    const tree = s.command('rpmbuild-tree');
    expect(tree.changed).toBe(true);
    expect(tree.after!.code, tree.applied!.out).toBe(0);
    s.file('rpmmacros', DEBIAN_ONLY_MACROS);
    s.file('patch-dry-run-script');
    s.file('spec-add-patches-script');
    expect(s.buildSrpm().code).toBe(0);

    const install = s.command('srpm-install');
    expect(install.applied!.code, install.applied!.out).toBe(0);
    expect(install.after!.code).toBe(0);
    s.putPatches();

    const dry = s.command('patch-dry-run');
    expect(dry.applied!.code, dry.applied!.out).toBe(0);
    expect(dry.applied!.out).toContain('postfix-vda-v13-2.10.0.patch (-p1) and postfix-2.9-sleep.patch (-p0) apply cleanly with --fuzz=0');
    const mode = statSync(spec()).mode & 0o7777;
    const add = s.command('spec-add-patches');
    expect(add.applied!.code, add.applied!.out).toBe(0);
    expect(add.after!.code, "the step's own check passes after it ran").toBe(0);
    expect(statSync(spec()).mode & 0o7777, 'postfix.spec keeps its mode').toBe(mode);
    expect(statSync(spec()).uid).toBe(buildIds().uid);
    const text = readFileSync(spec(), 'utf8');
    // the patches go after the last top-level %patch (%patch12), never into the pflogsumm pushd/popd block
    expect(text).toMatch(/^%patch12 -p1 -b \.kernel-4-fix\n%patch100 -p1 -b \.vda\n%patch101 -p0 -b \.sleep$/m);

    const parsed = s.sh("rpmspec -P --define 'dist .el7.centos' ~/rpmbuild/SPECS/postfix.spec");
    expect(parsed.code, parsed.stderr).toBe(0);
    expect(parsed.stdout).toMatch(/^Release: 7\.el7\.centos\.vda1$/m);

    const prep = s.prep();
    expect(prep.code, prep.out.slice(-2000)).toBe(0);
    const patches = prep.out.match(/^\+ \/usr\/bin\/patch .* --fuzz=0$/gm) ?? [];
    expect(patches.length, 'the 8 EL7 patches, VDA and sleep').toBe(10);
    expect(patches.at(-2)).toMatch(/-p1 -b --suffix \.vda --fuzz=0$/);
    expect(patches.at(-1)).toMatch(/-p0 -b --suffix \.sleep --fuzz=0$/);
    expect(prep.out).not.toMatch(/with fuzz|FAILED|rejects/);

    // second run: every step's check passes, nothing runs again, the spec is byte for byte the same
    for (const id of ['rpmbuild-tree', 'srpm-install', 'spec-add-patches']) expect(s.command(id).changed, id).toBe(false);
    expect(s.command('patch-dry-run').applied!.code).toBe(0);
    expect(s.sh(s.params('spec-add-patches').run!).code).toBe(0);
    expect(readFileSync(spec(), 'utf8')).toBe(text);
  });

  it(
    "compiles VDA into virtual(8): the runbook's proof counts its parameters, and fails on a virtual built without it",
    () => {
      const b = built(sources!, (l) => console.log(l));
      console.log(`el7 build: ${b.cold ? `cold, ${b.seconds} s` : 'warm (cached)'} in ${b.dir}`);
      const proof = s.params('vda-compiled-in').run!;
      expect(proof).toContain('/usr/libexec/postfix/virtual');
      const withVda = s.sh(proof.replaceAll('/usr/libexec/postfix/', `${b.dir}/vda/libexec/`));
      expect(withVda.code).toBe(0);
      expect(Number(withVda.stdout.trim())).toBeGreaterThanOrEqual(1);
      const without = s.sh(proof.replaceAll('/usr/libexec/postfix/', `${b.dir}/stock/libexec/`));
      expect(without.code, 'the step fails without VDA').not.toBe(0);
      expect(without.stdout.trim()).toBe('0');
    },
    2 * BUILD_TIMEOUT_MS,
  );

  it('rebuilds when a patch changes after the build: the inputs recorded next to the RPMs no longer match', () => {
    // rpmbuild -bb itself cannot run here (EL7 build dependencies): a stand-in on PATH writes the RPM it would.
    s.write(
      join(s.home, 'shim', 'rpmbuild'),
      `#!/bin/sh\nmkdir -p ~/rpmbuild/RPMS/x86_64 && : > ~/rpmbuild/RPMS/x86_64/postfix-2.10.1-7.el7.centos.vda1.x86_64.rpm\n`,
      0o755,
    );
    const env = { PATH: `${s.home}/shim:/usr/sbin:/usr/bin:/sbin:/bin` };
    const first = s.command('rpmbuild-postfix', env);
    expect(first.changed).toBe(true);
    expect(first.applied!.code, first.applied!.out).toBe(0);
    expect(first.after!.code).toBe(0);
    expect(s.command('rpmbuild-postfix', env).changed).toBe(false);
    const vda = s.dest('vda-patch-download');
    const original = readFileSync(vda);
    writeFileSync(vda, Buffer.concat([original, Buffer.from('\n')]));
    expect(s.command('rpmbuild-postfix', env).changed, 'a refreshed patch is built again').toBe(true);
    writeFileSync(vda, original);
    expect(s.command('rpmbuild-postfix', env).changed).toBe(true); // back to the old bytes: also a change since the last build
  });

  it('installs unless the installed postfix is the very RPM built last (same SIGMD5), even with the same Release', () => {
    // yum cannot run here: the check is real rpm on a stand-in package, with its database in the scratch home.
    const spec1 = join(s.home, 'stand-in.spec');
    s.write(spec1, 'Name: postfix\nVersion: 2.10.1\nRelease: 7.el7.centos.vda1\nSummary: stand-in\nLicense: IPL\n%description\nstand-in\n%files\n');
    s.write(join(s.home, 'rpmdb-shim', 'rpm'), '#!/bin/sh\nexec /usr/bin/rpm --dbpath "$HOME/rpmdb" "$@"\n', 0o755);
    const env = { PATH: `${s.home}/rpmdb-shim:/usr/bin:/bin` };
    const build = () => s.sh(`sleep 1 && rpmbuild -bb --target x86_64 ${spec1}`);
    expect(build().code).toBe(0);
    expect(s.sh('mkdir -p ~/rpmdb && rpm --initdb', env).code).toBe(0);
    const unless = s.params('el7-install-built-postfix').unless!;
    expect(s.sh(unless, env).code, 'nothing installed yet').not.toBe(0);
    const rpm = '~/rpmbuild/RPMS/x86_64/postfix-2.10.1-7.el7.centos.vda1.x86_64.rpm';
    expect(s.sh(`rpm -i --justdb --nodeps ${rpm}`, env).code).toBe(0);
    expect(s.sh(unless, env).code, 'the built RPM is the installed one').toBe(0);
    expect(build().code).toBe(0);
    expect(s.sh(unless, env).code, 'rebuilt with the same version-release: installed again').not.toBe(0);
  });

  it('stops at patch-dry-run when a context line is wrong or a patch file is missing, and says which and where', () => {
    const vda = s.dest('vda-patch-download');
    const original = readFileSync(vda, 'utf8');
    const specBefore = readFileSync(spec(), 'utf8');
    // one context line of the first hunk of virtual.c changed
    const broken = original.replace(/(\+\+\+ [^\n]*src\/virtual\/virtual\.c[^\n]*\n@@[^\n]*\n) ([^\n]*)/, '$1 $2 (changed)');
    expect(broken).not.toBe(original);
    writeFileSync(vda, broken);
    const bad = s.command('patch-dry-run').applied!;
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(
      /postfix-lab: postfix-vda-v13-2\.10\.0\.patch does not apply to postfix-2\.10\.1 with -p1 --fuzz=0: refresh it against 2\.10\.1/,
    );
    writeFileSync(vda, original);

    const sleep = s.dest('sleep-patch-download');
    const sleepText = readFileSync(sleep, 'utf8');
    s.sh(`rm -f '${sleep}'`);
    const gone = s.command('patch-dry-run').applied!;
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(
      `postfix-lab: the patch file postfix-2.9-sleep.patch is missing: expected it at ${s.home}/rpmbuild/SOURCES/postfix-2.9-sleep.patch`,
    );
    expect(gone.stderr).not.toMatch(/does not apply|refresh it/);
    s.write(sleep, sleepText);
    expect(readFileSync(spec(), 'utf8'), 'nothing after the failed step changed').toBe(specBefore);
  });

  it('refuses a VDA patch that is not the pinned one, with the hashes and what to do', async () => {
    const p = s.params<{ url: string; sha256: string; md5: string; dest: string }>('vda-patch-download');
    const artifacts = join(s.home, 'artifacts');
    s.write(join(artifacts, 'postfix-vda-v13-2.10.0.patch'), readFileSync(join(sources!, VDA_STANDIN)));
    const host = new FakeHost();
    const ctx = {
      stepId: 'vda-patch-download',
      phase: 'check' as const,
      host,
      platform: 'el7' as const,
      sudo: false,
      timeoutMs: 5000,
      artifactsDir: artifacts,
      log: () => {},
      secrets: {},
      fetchUrl: async () => {
        throw new Error('no network in this test');
      },
    };
    const err = await kinds.download!.apply(p as never, ctx, { ok: false }).then(
      () => undefined,
      (e: Error & { hint?: string }) => e,
    );
    if (!err) throw new Error('the download step accepted a file that is not the pinned one');
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(
      /postfix-vda-v13-2\.10\.0\.patch has sha256 b14626eed189[0-9a-f]{52}, expected 6208021eb0b37ac6482e334e538ed5700cc22c4d4dd66ed9e975ae5f20bf935f/,
    );
    expect(err.hint).toMatch(/NOT the 01e1b031d79b85f3cb67d98ceddd775d its publisher gave/);
    expect(err.hint).toMatch(/Replace it with the right one, or delete it/);
    expect(host.files.size, 'nothing was uploaded').toBe(0);
    expect(BUILD_USER).toBe(s.params('rpmbuild-postfix').user);
  });
});
