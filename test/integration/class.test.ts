/**
 * A real class of two container labs made by class:up at the start of section 4.1 (sections 1-3 built: the mail
 * user's password and the TLS key exist in the checkpoint, so re-keying them is proven, not only the SSH host keys).
 * Boots three labs (the base and two clones): run it under the heavy lock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSHD_DROP_IN, sshdDropIn } from '../../src/class/login.js';
import { classBreak, classDown, classReset, classStatus } from '../../src/class/ops.js';
import { classReport } from '../../src/class/report.js';
import { formatClassTable } from '../../src/output/class-report.js';
import type { Roster } from '../../src/class/roster.js';
import { classUp } from '../../src/class/up.js';
import { withDiskMounted } from '../../src/drivers/container/clone.js';
import { withSession } from '../../src/lab/session.js';
import { type Credentials, labState, readJson } from '../../src/lab/state.js';
import { Emitter } from '../../src/output/events.js';
import { verifyLab } from '../../src/verify/index.js';

const isRoot = process.getuid?.() === 0;
const repo = join(import.meta.dirname, '../..');
const home = mkdtempSync(join(tmpdir(), 'plab-class-'));
/** The class's name and first port (POSTFIX_LAB_TEST_CLASS, POSTFIX_LAB_TEST_PORT: another session's labs keep to theirs). */
const CLS = process.env.POSTFIX_LAB_TEST_CLASS ?? 'clti';
const PORT = Number(process.env.POSTFIX_LAB_TEST_PORT ?? 24100);
let roster: Roster;
let progress = '';

/** What must differ between labs, read on each running clone. */
const SECRETS =
  'sudo cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2; sudo getent shadow learner | cut -d: -f2; sudo sha256sum /etc/ssl/private/ssl-cert-snakeoil.key | cut -d" " -f1; cat /etc/machine-id';

/** Log in to 127.0.0.1:port as `user` with a password only (ssh2, no key, no agent): the lab's host name, or 'refused'. */
async function passwordLogin(port: number, user: string, password: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const r = await new Promise<string>((resolve, reject) => {
      const c = new Client();
      c.on('ready', () =>
        c.exec('hostname', (err, ch) => {
          if (err) return reject(err);
          let out = '';
          ch.on('data', (d: Buffer) => (out += d.toString()));
          ch.on('close', () => {
            c.end();
            resolve(out.trim());
          });
        }),
      );
      c.on('error', (e: Error & { level?: string }) => (e.level === 'client-authentication' ? resolve('refused') : reject(e)));
      c.connect({ host: '127.0.0.1', port, username: user, password, tryKeyboard: false, readyTimeout: 20_000 });
    }).catch((e: Error) => (attempt < 5 ? `retry: ${e.message}` : Promise.reject(e)));
    if (!r.startsWith('retry: ')) return r;
    await new Promise((w) => setTimeout(w, 1000)); // sshd re-executing after a reload
  }
}

/** From inside lab 01: whether its own sshd and lab 02's answer on their namespace addresses (port 22). */
async function reachFrom01(): Promise<{ own: string; other: string }> {
  const [a, b] = roster.learners as [Roster['learners'][0], Roster['learners'][0]];
  const addr = (lab: string) => readJson<{ ssh: { host: string } }>(labState(lab).metaFile)!.ssh.host;
  const probe = (h: string) => `timeout 4 bash -c 'exec 3<>/dev/tcp/${h}/22' 2>/dev/null && echo open || echo closed`;
  return withSession({ labFile: a.labFile, events: new Emitter() }, async (s) => {
    const own = (await s.host.exec(probe(addr(a.lab)), {})).stdout.trim();
    const other = (await s.host.exec(probe(addr(b.lab)), {})).stdout.trim();
    return { own, other };
  });
}

const sshPassword = (l: Roster['learners'][0]) => readFileSync(l.passwordFile!, 'utf8').trim();

function banner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    s.setTimeout(20_000, () => {
      s.destroy();
      reject(new Error(`no banner on ${port} in 20 s: ${got}`));
    });
    s.on('data', (d) => {
      got += d.toString();
      if (/^220 .*\r\n/m.test(got)) {
        s.end('QUIT\r\n');
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

// skipped unless root: the container driver makes namespaces, overlay mounts and runs systemd-nspawn
describe.skipIf(!isRoot)('a class of real container labs (as root)', () => {
  beforeAll(async () => {
    process.env.POSTFIX_LAB_HOME = home;
    const out = new PassThrough();
    out.on('data', (d) => (progress += d.toString()));
    const r = await classUp({
      cls: CLS,
      learners: 2,
      labFile: join(repo, 'labs/debian12-container.yaml'),
      section: '4.1',
      basePort: PORT,
      learnerLogin: 'both',
      out,
    });
    expect(r.failed).toEqual([]);
    roster = r.roster;
  }, 1_200_000);
  afterAll(async () => {
    await classDown(CLS, new PassThrough()).catch(() => undefined);
    delete process.env.POSTFIX_LAB_HOME;
    rmSync(home, { recursive: true, force: true });
  }, 300_000);

  it('makes one line of progress per lab and a roster of both learners with their own ports', () => {
    expect(progress).toMatch(
      new RegExp(`^${CLS}-01: ready \\(clone [\\d.]+s, re-key [\\d.]+s, boot [\\d.]+s, handout [\\d.]+s\\): ssh ${PORT}, smtp ${PORT + 1}`, 'm'),
    );
    expect(progress).toMatch(new RegExp(`^${CLS}-02: ready \\(.*\\): ssh ${PORT + 10}, smtp ${PORT + 11}`, 'm'));
    expect(roster.learners.map((l) => [l.learner, l.lab, l.ports.ssh, l.ports.smtp])).toEqual([
      ['01', `${CLS}-01`, PORT, PORT + 1],
      ['02', `${CLS}-02`, PORT + 10, PORT + 11],
    ]);
    expect(statSync(join(home, `class-${CLS}`, 'roster.json')).mode & 0o777).toBe(0o600);
  });

  it('gives no two labs (the base included) the same SSH host key, mail password, TLS key or machine id', async () => {
    const seen: string[][] = [];
    for (const l of roster.learners) {
      seen.push(await withSession({ labFile: l.labFile, events: new Emitter() }, async (s) => (await s.host.exec(SECRETS, {})).stdout.trim().split('\n')));
    }
    const base = labState(`${CLS}-base`);
    seen.push(
      await withDiskMounted(base, async (root) => {
        const r = spawnSync(
          'sh',
          [
            '-c',
            SECRETS.replace(/sudo /g, '')
              .replace(/\/etc\//g, `${root}/etc/`)
              .replace('getent shadow learner', `grep ^learner: ${root}/etc/shadow`),
          ],
          {
            encoding: 'utf8',
          },
        );
        return r.stdout.trim().split('\n');
      }),
    );
    for (const row of seen) expect(row).toHaveLength(4);
    for (let k = 0; k < 4; k++) expect(new Set(seen.map((row) => row[k])).size).toBe(3);
    const pw = roster.learners.map((l) => readJson<Credentials>(l.credentials)!.password);
    expect(new Set(pw).size).toBe(2);
    for (const l of roster.learners) expect(statSync(l.credentials).mode & 0o777).toBe(0o600);
  });

  it("keeps lab 01 out of lab 02's network namespace", async () => {
    expect(await reachFrom01()).toEqual({ own: 'open', other: 'closed' });
  });

  it("answers SMTP on each learner's own port, and the roster's ssh command reaches that learner's lab by its pinned key", async () => {
    for (const l of roster.learners) {
      expect(await banner(l.ports.smtp!)).toMatch(/^220 mail\.lab\.example ESMTP/m);
      const r = spawnSync('sh', ['-c', `${l.ssh} -o BatchMode=yes hostname`], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stdout.trim()).toBe(l.lab);
      expect(r.status).toBe(0);
    }
  });

  it("passes verify's section 1 and 3 checks on a clone, SMTP AUTH with that clone's own password", async () => {
    const l = roster.learners[1]!;
    const r = await verifyLab({ labFile: l.labFile, sections: ['1', '3'] });
    const failing = r.results.filter((x) => x.status !== 'pass').map((x) => `${x.id}: ${x.status}`);
    expect(failing).toEqual([]);
    expect(r.summary.pass).toBeGreaterThan(10);
  });

  it("lets learner 01 log in to their lab with their own password, and refuses learner 02's, the mail user's and a lab without --learner-login", async () => {
    const [a, b] = roster.learners as [Roster['learners'][0], Roster['learners'][0]];
    expect(roster.learnerLogin).toBe('both');
    for (const l of roster.learners) {
      expect(l.passwordFile).toBe(join(home, `class-${CLS}`, l.learner, 'ssh-password'));
      expect(statSync(l.passwordFile!).mode & 0o777).toBe(0o600);
      expect(sshPassword(l)).toMatch(/^[A-Za-z0-9]{24}$/);
    }
    expect(sshPassword(a)).not.toBe(sshPassword(b));
    // never the password itself in the roster, the progress, the handout or the labs' logs
    const logs = roster.learners.flatMap((l) =>
      existsSync(labState(l.lab).logsDir) ? readdirSync(labState(l.lab).logsDir).map((f) => join(labState(l.lab).logsDir, f)) : [],
    );
    const shown = [join(home, `class-${CLS}`, 'roster.json'), join(home, `class-${CLS}`, 'roster.csv'), a.handout, ...logs].map((f) => readFileSync(f, 'utf8'));
    for (const text of [...shown, progress]) for (const l of roster.learners) expect(text).not.toContain(sshPassword(l));
    expect(readFileSync(a.handout, 'utf8')).toContain(`with the password in ${a.passwordFile}`);

    expect(await passwordLogin(a.ports.ssh!, 'vagrant', sshPassword(a))).toBe(a.lab);
    expect(await passwordLogin(a.ports.ssh!, 'vagrant', sshPassword(b))).toBe('refused');
    const mail = readJson<Credentials>(a.credentials)!;
    expect(await passwordLogin(a.ports.ssh!, mail.user, mail.password)).toBe('refused');
    // lab 01's sshd as a class without --learner-login has it (vagrant's password still set): refused, then back
    const dropIn = (text: string) =>
      withSession({ labFile: a.labFile, events: new Emitter() }, async (x) => {
        await x.host.put(`/${SSHD_DROP_IN}`, text, { sudo: true, mode: 0o644, owner: 'root', group: 'root' });
        const r = await x.host.exec('systemctl reload ssh', { sudo: true });
        expect(r.code, r.stderr).toBe(0);
      });
    await dropIn(sshdDropIn('key'));
    try {
      expect(await passwordLogin(a.ports.ssh!, 'vagrant', sshPassword(a))).toBe('refused');
    } finally {
      await dropIn(sshdDropIn('both'));
    }
    expect(await passwordLogin(a.ports.ssh!, 'vagrant', sshPassword(a))).toBe(a.lab);
  });

  it('shows every learner running in class:status', async () => {
    const rows = await classStatus(CLS);
    expect(rows.map((r) => [r.lab, r.state])).toEqual([
      [`${CLS}-01`, 'running'],
      [`${CLS}-02`, 'running'],
    ]);
    expect(readFileSync(join(home, `class-${CLS}`, `${CLS}-01.yaml`), 'utf8')).toContain(`host: ${PORT + 1}`);
  });

  it("class:report: each learner's row comes from that learner's lab, a cell per section", async () => {
    const cells = (r: Awaited<ReturnType<typeof classReport>>, learner: string) =>
      Object.fromEntries(r.rows.find((x) => x.learner === learner)!.cells.map((c) => [c.section, c.state]));
    const all = await classReport({ class: CLS });
    expect(all.rows.map((r) => [r.learner, r.lab, r.error ?? '', r.current])).toEqual([
      ['01', `${CLS}-01`, '', '4.1'],
      ['02', `${CLS}-02`, '', '4.1'],
    ]);
    for (const l of ['01', '02'])
      expect(cells(all, l), formatClassTable(all)).toMatchObject({ '1': 'passed', '2': 'passed', '3': 'passed', '4.1': 'failing', '4.4': 'not started' });
    // Dovecot stopped on learner 01's lab only (its socket too, or a connection would start it again): section 3
    // fails there and nowhere else.
    const l1 = roster.learners[0]!;
    await withSession({ labFile: l1.labFile, events: new Emitter() }, (x) => x.host.exec('systemctl stop dovecot.socket dovecot.service', { sudo: true }));
    try {
      const one = await classReport({ class: CLS });
      expect(cells(one, '01')['3'], formatClassTable(one)).toBe('failing');
      expect(cells(one, '02')['3'], formatClassTable(one)).toBe('passed');
      expect(formatClassTable(one)).toMatch(new RegExp(`^01\\s+${CLS}-01\\s+4\\.1\\s+passed \\d\\d:\\d\\d\\s+passed \\d\\d:\\d\\d\\s+\\d+ failing`, 'm'));
    } finally {
      await withSession({ labFile: l1.labFile, events: new Emitter() }, (x) => x.host.exec('systemctl start dovecot.socket dovecot.service', { sudo: true }));
    }
  }, 300_000);

  it('class:break sets one challenge on every lab; class:reset takes every lab to the start of a section, each one saved first', async () => {
    const failing = async (labFile: string) => (await verifyLab({ labFile, section: '1' })).results.filter((x) => x.status !== 'pass').map((x) => x.id);
    expect(await classBreak(CLS, 'no-ldap-maps', new PassThrough())).toBe(0);
    for (const l of roster.learners) expect((await failing(l.labFile)).join(' ')).toMatch(/postfix-ldap/);
    expect(await classReset(CLS, '2', new PassThrough())).toBe(0);
    for (const l of roster.learners) {
      // the checkpoint it went back to has the lab's own keys too: same pinned host key (a changed one is refused),
      // its own name (and the session waits for the boot to finish before verify looks at its services)
      const name = await withSession({ labFile: l.labFile, events: new Emitter() }, async (x) => (await x.host.exec('hostname', {})).stdout.trim());
      expect(name).toBe(l.lab);
      expect(await failing(l.labFile)).toEqual([]);
      const snaps = readFileSync(join(labState(l.lab).dir, 'course.jsonl'), 'utf8');
      expect(snaps).toMatch(/"type":"start","section":"2".*"saved":"mine-/);
    }
    expect((await classStatus(CLS)).map((r) => [r.lab, r.state, r.section])).toEqual([
      [`${CLS}-01`, 'running', '2'],
      [`${CLS}-02`, 'running', '2'],
    ]);
  });

  it("keeps each learner's password through class:reset (it is in every checkpoint)", async () => {
    const [a, b] = roster.learners as [Roster['learners'][0], Roster['learners'][0]];
    expect(await passwordLogin(a.ports.ssh!, 'vagrant', sshPassword(a))).toBe(a.lab);
    expect(await passwordLogin(b.ports.ssh!, 'vagrant', sshPassword(b))).toBe(b.lab);
    expect(await passwordLogin(b.ports.ssh!, 'vagrant', sshPassword(a))).toBe('refused');
  });
});
