/**
 * The el7 configuration against real Postfix 2.10.1: every el7 postconf and master step of the plan, for the main
 * instance and postfix-deux, applied to EL7's stock main.cf/master.cf with 2.10.1's own postconf, must leave no
 * unused (unknown) parameter, no malformed master.cf entry, and every value reading back as the runbook sets it.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../src/runbook/kinds/index.js';
import { editMaster, type MasterParams } from '../../src/runbook/kinds/master.js';
import { differences, parseMainCf, parseSettings, type PostconfParams } from '../../src/runbook/kinds/postconf.js';
import { allSteps } from '../helpers/runbook.js';
import { built, BUILD_TIMEOUT_MS } from './helpers/build.js';
import { el7Plan } from './helpers/section1.js';
import { asBuildUser, BUILD_USER, cannotRun, EL7_DIR, ensureBuildUser, findSources, scratchHome, type Ran } from './helpers/sources.js';

const { dir: sources, missing } = findSources();
const blocked = sources ? cannotRun() : missing;
const plan = el7Plan();
const steps = allSteps(plan);
const postconfSteps = steps.filter((s) => s.kind === 'postconf');
const masterSteps = steps.filter((s) => s.kind === 'master');
// What postfix-install writes into main.cf (postfix-install, "Save the installation parameters to main.cf").
const INSTALL_PARAMS = [
  'daemon_directory',
  'data_directory',
  'command_directory',
  'queue_directory',
  'mail_owner',
  'setgid_group',
  'sendmail_path',
  'mailq_path',
  'newaliases_path',
  'html_directory',
  'manpage_directory',
  'sample_directory',
  'readme_directory',
];

// The only skip: without the el7 sources (or root and the rpm tools) there is no Postfix 2.10.1 to check against.
describe.skipIf(!!blocked)(`el7 configuration against Postfix 2.10.1${blocked ? ` (skipped: ${blocked})` : ''}`, { timeout: 300_000 }, () => {
  let home = '';
  let cache = '';
  const dirs: Record<string, string> = {};
  const sh = (cmd: string): Ran => asBuildUser(home, cmd, { env: { PATH: `${home}/bin:/usr/bin:/bin` } });
  const dirOf = (instance?: string) => dirs[instance ?? 'postfix']!;
  /** The step's command as the plan renders it, run on the instance's directory here (what postmulti -x does). */
  const local = (cmd: string) =>
    cmd
      .replace(/^postmulti -i (\S+) -x postconf /, (_, i: string) => `postconf -c ${dirOf(i)} `)
      .replace(/^postconf (?!-c )/, `postconf -c ${dirOf()} `)
      .replace(/\/etc\/(postfix[a-z0-9-]*)\/main\.cf/g, (_, i: string) => join(dirOf(i === 'postfix' ? undefined : i), 'main.cf'));

  beforeAll(() => {
    ensureBuildUser();
    cache = built(sources!, (l) => console.log(l)).dir;
    home = scratchHome('plab-el7-postconf-');
    // 2.10.1's postconf; postfix and postlog stand-ins for what postmulti-script calls beyond postconf.
    mkdirSync(join(home, 'bin'));
    copyFileSync(join(cache, 'vda', 'bin', 'postconf'), join(home, 'bin', 'postconf'));
    writeFileSync(join(home, 'bin', 'postfix'), '#!/bin/sh\necho "postfix $*" >> "$HOME/postfix-calls"\n', { mode: 0o755 });
    writeFileSync(join(home, 'bin', 'postlog'), '#!/bin/sh\nshift 4; echo "postlog: $*" >&2\n', { mode: 0o755 });
    const stock = join(home, 'usr-libexec-postfix'); // $daemon_directory: EL7 installs the stock main.cf/master.cf there too
    mkdirSync(stock);
    for (const f of ['main.cf', 'master.cf', 'postmulti-script']) copyFileSync(join(cache, 'conf', f), join(stock, f));
    dirs.postfix = join(home, 'etc', 'postfix');
    mkdirSync(dirs.postfix, { recursive: true });
    for (const f of ['main.cf', 'master.cf']) copyFileSync(join(stock, f), join(dirs.postfix, f));
    expect(spawnSync('chown', ['-R', `${BUILD_USER}:${BUILD_USER}`, home]).status).toBe(0); // copied by root, edited by the build user
  }, 2 * BUILD_TIMEOUT_MS);
  afterAll(() => {
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("starts from EL7's stock files: the config patch applied, and the install parameters the EL7 spec gives postfix-install", () => {
    const stockMain = readFileSync(join(dirs.postfix!, 'main.cf'), 'utf8');
    expect(stockMain).toMatch(/^inet_protocols = all$/m); // from postfix-2.10.0-config.patch
    const spec = asBuildUser(home, `rpmspec -P --define 'dist .el7' ${join(sources!, EL7_DIR, 'postfix.spec')}`);
    expect(spec.code, spec.stderr).toBe(0);
    const block = /sh postfix-install -non-interactive([\s\S]*?)\|\| exit 1/.exec(spec.stdout)![1]!;
    const given = new Map([...block.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const stock = sh(`postconf -c ${dirs.postfix} -h ${INSTALL_PARAMS.join(' ')}`).stdout.split('\n');
    const settings = INSTALL_PARAMS.map((n, i) => `${n} = ${given.get(n) ?? stock[i]}`);
    const r = sh(`postconf -c ${dirs.postfix} -e ${settings.map((x) => `'${x}'`).join(' ')}`);
    expect(r.code, r.stderr).toBe(0);
    expect(sh(`postconf -c ${dirs.postfix} -h sendmail_path`).stdout.trim()).toBe('/usr/sbin/sendmail.postfix');
  });

  it("creates postfix-deux with 2.10.1's own postmulti-script, as the plan's postmulti steps ask", () => {
    const init = steps.find((s) => s.id === 'postmulti-init')!.params.run as string;
    const create = steps.find((s) => s.id === 'deux-create')!.params.run as string;
    expect(init).toBe('postmulti -e init');
    const [, name, group] = /^postmulti -I (\S+) -G (\S+) -e create$/.exec(create)!;
    dirs[name!] = join(home, 'etc', name!);
    // postmulti hands postmulti-script the new instance's directories (/etc/NAME, /var/spool/NAME, /var/lib/NAME), here under $HOME
    const env = `MAIL_CONFIG=${dirs.postfix} daemon_directory=${home}/usr-libexec-postfix command_directory=${home}/bin`;
    const script = `${home}/usr-libexec-postfix/postmulti-script`;
    const a = sh(`${env} sh ${script} -e init`);
    expect(a.code, a.out).toBe(0);
    const b = sh(
      `${env} config_directory=${dirs[name!]} queue_directory=${home}/var/spool/${name} data_directory=${home}/var/lib/${name}` +
        ` multi_instance_name=${name} multi_instance_group=${group} multi_instance_directories=${dirs[name!]} sh ${script} -e create`,
    );
    expect(b.code, b.out).toBe(0);
    expect(sh(`postconf -c ${dirs[name!]} -h multi_instance_name master_service_disable`).stdout).toBe(`${name}\ninet\n`);
  });

  it('applies every el7 postconf and master step with 2.10.1, which then reports no unused parameter and no bad master.cf entry', () => {
    expect(postconfSteps.map((s) => s.id)).toContain('deux-main');
    expect(masterSteps.map((s) => s.id)).toContain('deux-master');
    for (const s of [...postconfSteps, ...masterSteps].sort((x, y) => steps.indexOf(x) - steps.indexOf(y))) {
      if (s.kind === 'postconf') {
        for (const cmd of kinds.postconf!.describe(s.params as never, 'el7').apply) {
          const r = sh(local(cmd));
          expect({ step: s.id, code: r.code, stderr: r.stderr }).toEqual({ step: s.id, code: 0, stderr: '' });
        }
      } else {
        const p = s.params as unknown as MasterParams;
        const file = join(dirOf(p.instance), 'master.cf');
        writeFileSync(file, editMaster(readFileSync(file, 'utf8'), p.services));
      }
    }
    for (const [instance, dir] of Object.entries(dirs)) {
      const n = sh(`postconf -c ${dir} -n`);
      expect(n.code, n.stderr).toBe(0);
      expect({ instance, warnings: n.stderr.split('\n').filter(Boolean) }).toEqual({ instance, warnings: [] });
      const m = sh(`postconf -c ${dir} -M`);
      expect({ instance, code: m.code, stderr: m.stderr }).toEqual({ instance, code: 0, stderr: '' });
      for (const s of masterSteps.filter((x) => dirOf((x.params as unknown as MasterParams).instance) === dir)) {
        for (const svc of (s.params as unknown as MasterParams).services.filter((x) => x.state !== 'absent')) {
          expect(m.stdout, `${s.id}: ${svc.service}/${svc.type}`).toMatch(new RegExp(`^${svc.service.replace(/[.[\]]/g, '\\$&')}\\s+${svc.type}\\s`, 'm'));
        }
      }
    }
  });

  it('lets 2.10.1 read a main.cf the postconf step just edited at once (the step sets its mtime back), where it would nap', () => {
    const p: PostconfParams = { set: { smtpd_client_message_rate_limit: '120' } };
    const [edit, settle] = kinds.postconf!.describe(p as never, 'el7').apply;
    expect(settle).toMatch(/^touch /);
    // With -vv, 2.10.1's config reader logs each 300 ms nap ("pausing to let .../main.cf cool down", src/util/dict.c).
    const naps = () => {
      const r = sh(`postconf -vv -c ${dirOf()} -n smtpd_client_message_rate_limit`);
      expect(r.stdout).toBe('smtpd_client_message_rate_limit = 120\n');
      return r.stderr.split('\n').filter((l) => l.includes('cool down')).length;
    };
    expect(sh(local(edit!)).code).toBe(0);
    const hot = naps();
    expect(sh(local(edit!)).code).toBe(0);
    expect(sh(local(settle!)).code).toBe(0);
    expect({ hot: hot > 0, settled: naps() }).toEqual({ hot: true, settled: 0 });
  });

  it("reads back every value the el7 postconf steps set, as 2.10.1 prints it, and the steps' own checks pass", () => {
    for (const s of postconfSteps) {
      const p = s.params as unknown as PostconfParams;
      // The step's own check reads main.cf (no Postfix process); a learner asks `postconf -n NAMES`: both must agree.
      const file = readFileSync(join(dirOf(p.instance), 'main.cf'), 'utf8');
      expect({ step: s.id, differences: differences(p, parseMainCf(file)) }).toEqual({ step: s.id, differences: [] });
      const [asked] = kinds.postconf!.learner(p as never, 'el7').check;
      const out = sh(local(asked!));
      expect({ step: s.id, differences: differences(p, parseSettings(out.stdout)) }).toEqual({ step: s.id, differences: [] });
      const set = Object.entries(p.set ?? {});
      if (!set.length) continue;
      const got = sh(`postconf -c ${dirOf(p.instance)} -h ${set.map(([n]) => n).join(' ')}`);
      expect(got.stderr).toBe('');
      const norm = (v: string) => v.trim().replace(/\s+/g, ' ');
      expect(
        got.stdout
          .replace(/\n$/, '')
          .split('\n')
          .map((v, i) => `${s.id}: ${set[i]![0]} = ${norm(v)}`),
      ).toEqual(set.map(([n, v]) => `${s.id}: ${n} = ${norm(v)}`));
    }
  });
});
