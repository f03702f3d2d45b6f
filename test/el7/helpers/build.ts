/**
 * Postfix 2.10.1 compiled from the tree the el7 section-1 steps prepared (EL7 patches + VDA + sleep stand-in), once:
 * cached under /var/cache/postfix-lab/el7-build/<key>/ (key: the hashes of the sources and of this recipe), built
 * in a temporary directory next to it and renamed into place, so a half-built or concurrent build is never used.
 *   vda/libexec/virtual, vda/bin/postconf   built with the VDA patch (what the rebuilt EL7 RPM ships)
 *   stock/libexec/virtual                   the same tree with the VDA patch reversed
 *   conf/main.cf, conf/master.cf, conf/postmulti-script   EL7's stock files (the config patch applied by %prep)
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Section1, SLEEP_STANDIN } from './section1.js';
import { sourcesKey } from './sources.js';

export const CACHE_ROOT = process.env.POSTFIX_LAB_EL7_CACHE ?? '/var/cache/postfix-lab/el7-build';

/**
 * On Debian 12 only (none of it is needed on EL7): makedefs in 2.10.1, even with EL7's kernel-4 fix, knows Linux
 * 1-4 only, so this 6.x kernel is reported as 2.6; gcc 12 needs -fcommon; glibc 2.36 has no NIS and has closefrom.
 */
export const MAKEFILES = "setarch x86_64 --uname-2.6 make -f Makefile.init makefiles CCARGS='-fcommon -DNO_NIS -DUSE_SASL_AUTH -DHAS_CLOSEFROM'";
const DIRS = ['src/util', 'src/global', 'src/xsasl', 'src/master', 'src/virtual', 'src/postconf'];
const RECIPE = [MAKEFILES, DIRS.join(' '), SLEEP_STANDIN, 'stock: patch -R the VDA patch, rebuild util global master virtual', 'v1'].join('\n');

/** A cold build takes about 3 minutes on 2 busy cores; give each stage far more before calling it hung. */
export const BUILD_TIMEOUT_MS = 1_800_000;

export interface Built {
  dir: string;
  cold: boolean;
  seconds: number;
}

export function built(sources: string, log: (l: string) => void = () => {}): Built {
  const started = Date.now();
  const dir = join(CACHE_ROOT, sourcesKey(sources, RECIPE));
  if (existsSync(join(dir, 'complete'))) return { dir, cold: false, seconds: 0 };
  mkdirSync(CACHE_ROOT, { recursive: true });
  const tmp = mkdtempSync(join(CACHE_ROOT, '.building-'));
  const s = new Section1(sources);
  try {
    s.prepareAll();
    const tree = s.tree();
    const make = (dirs: string[]) => dirs.map((d) => `make -j2 -C ${d} update >/dev/null`).join(' && ');
    const must = (what: string, cmd: string) => {
      log(`el7 build: ${what}`);
      const r = s.sh(`cd ${tree} && ${cmd}`, undefined, BUILD_TIMEOUT_MS);
      if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.out.split('\n').slice(-30).join('\n')}`);
    };
    must('makefiles', `${MAKEFILES} >/dev/null`);
    must(`make update in ${DIRS.join(' ')} (with VDA)`, make(DIRS));
    const put = (from: string, to: string) => {
      mkdirSync(join(tmp, to, '..'), { recursive: true });
      copyFileSync(join(tree, from), join(tmp, to));
    };
    put('libexec/virtual', 'vda/libexec/virtual');
    put('bin/postconf', 'vda/bin/postconf');
    for (const f of ['main.cf', 'master.cf', 'postmulti-script']) put(`conf/${f}`, `conf/${f}`);
    const vda = s.dest('vda-patch-download');
    must('the stock tree (VDA patch reversed)', `patch -R -p1 --fuzz=0 --batch < '${vda}' >/dev/null && ${make(DIRS.slice(0, 5))}`);
    put('libexec/virtual', 'stock/libexec/virtual');
    writeFileSync(join(tmp, 'complete'), `${new Date().toISOString()}\n`);
    chmodSync(tmp, 0o755); // mkdtemp makes it 0700: the build user runs the binaries
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, 'complete'))) throw e; // another run published the same key first: use that one
    }
    return { dir, cold: true, seconds: Math.round((Date.now() - started) / 1000) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    s.cleanup();
  }
}
