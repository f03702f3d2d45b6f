/** The class's plan, flags, roster and layer clones, without booting a lab (the real class is test/integration/class.test.ts). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLearners, checkListen, portPlan } from '../../src/class/plan.js';
import { checkClassName, readRoster, type Roster, rosterFile, writeRoster } from '../../src/class/roster.js';
import { cloneLab } from '../../src/drivers/container/clone.js';
import { layout } from '../../src/drivers/container/disk.js';
import { gc, readStack } from '../../src/drivers/container/layers.js';
import { InputError, LabError } from '../../src/errors.js';
import { labState } from '../../src/lab/state.js';

const root = join(import.meta.dirname, '../..');
const home = mkdtempSync(join(tmpdir(), 'plab-class-'));
const env = { ...process.env, POSTFIX_LAB_HOME: home, NO_COLOR: '1' };
const labFile = join(root, 'labs/debian12-container.yaml');

function cli(command: string, ...args: string[]) {
  const r = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), command, ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** class:up refused: exit 2, an error and a hint, no stack trace, and nothing made under the state home. */
function refused(args: string[], message: RegExp) {
  const before = readdirSync(home);
  const r = cli('class:up', '--lab', labFile, '--class', 'cltu', '--base-port', '24500', ...args);
  expect(r.err).toMatch(message);
  expect(r.err).toMatch(/\nhint: /);
  expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  expect(r.code).toBe(2);
  expect(readdirSync(home)).toEqual(before);
  return r;
}

describe('the port plan', () => {
  const ports = [25, 587, 465, 10025].map((guest, i) => ({ guest, host: 13000 + i }));
  it('gives each learner ssh first, then the lab file ports, stride 10 from the base port', () => {
    const p = portPlan({ cls: 'clt', learners: 3, basePort: 44000, ports });
    expect(p.map((l) => l.lab)).toEqual(['clt-01', 'clt-02', 'clt-03']);
    expect(p[0]!.forwards.map((f) => [f.service, f.guest, f.host])).toEqual([
      ['ssh', 22, 44000],
      ['smtp', 25, 44001],
      ['submission', 587, 44002],
      ['smtps', 465, 44003],
      ['deux', 10025, 44004],
    ]);
    expect(p[2]!.forwards.map((f) => f.host)).toEqual([44020, 44021, 44022, 44023, 44024]);
    const all = p.flatMap((l) => l.forwards.map((f) => f.host));
    expect(new Set(all).size).toBe(all.length);
  });
  it('refuses a plan that would go above port 65535, saying the highest base port that fits', () => {
    expect(() => portPlan({ cls: 'clt', learners: 10, basePort: 65500, ports })).toThrow(/ports up to 65594, above 65535[\s\S]*/);
    try {
      portPlan({ cls: 'clt', learners: 10, basePort: 65500, ports });
    } catch (e) {
      expect((e as InputError).hint).toMatch(/at most 65441/);
    }
  });
});

describe('class flags', () => {
  it('takes 1 to 99 learners and nothing else', () => {
    expect(checkLearners('3')).toBe(3);
    for (const bad of ['0', '100', '2.5', 'ten', '', undefined]) expect(() => checkLearners(bad)).toThrow(InputError);
  });
  it('takes an IP address to listen on', () => {
    expect(checkListen('0.0.0.0')).toBe('0.0.0.0');
    expect(() => checkListen('localhost')).toThrow(/not an IP address/);
  });
  it('takes class names by the lab name rule, short enough for <class>-base', () => {
    expect(checkClassName('clt')).toBe('clt');
    expect(() => checkClassName('Bad_Name')).toThrow(/not a valid lab name/);
    expect(() => checkClassName('a'.repeat(27))).toThrow(/too long for a class name/);
  });
  it('exits 2 with nothing created on bad --learners', () => refused(['--learners', 'many'], /--learners: "many" is not a number of learners/));
  it('exits 2 with nothing created on an unknown section', () => refused(['--learners', '2', '--section', '7'], /there is no course section "7"/));
  it('exits 2 with nothing created on an unknown --learner-login', () =>
    refused(['--learners', '2', '--learner-login', 'passwd'], /--learner-login: "passwd" is not a way to log in/));
  it('exits 2 with nothing created on a bad class name', () => refused(['--learners', '2', '--class', '../x'], /is not a valid lab name/));
  it('exits 2 with nothing created when a lab of the class name exists', () => {
    mkdirSync(join(home, 'cltu-02'));
    try {
      refused(['--learners', '2'], /a lab named cltu-02 already exists on this machine/);
    } finally {
      spawnSync('rmdir', [join(home, 'cltu-02')]);
    }
  });

  describe('a port in use', () => {
    let server: Server;
    beforeAll(() => new Promise<void>((r) => (server = createServer().listen({ host: '127.0.0.1', port: 24512 }, r))));
    afterAll(() => new Promise<void>((r) => server.close(() => r())));
    it('exits 2 naming the port, whose it is in the plan and who holds it, nothing created', () => {
      const r = refused(
        ['--learners', '2'],
        /host port 24512 \(learner 02's submission, forwarded to cltu-02:587\) on 127\.0\.0\.1 is already in use by PID \d+/,
      );
      expect(r.err).toMatch(/--base-port/);
    });
  });
});

describe('the roster', () => {
  const roster = (): Roster => ({
    class: 'cltr',
    created: '2026-12-02T00:00:00.000Z',
    platform: 'debian12',
    section: '2',
    listen: '127.0.0.1',
    learners: [
      {
        learner: '01',
        lab: 'cltr-01',
        labFile: '/x/cltr-01.yaml',
        ssh: 'ssh -p 44000 vagrant@127.0.0.1',
        ports: { ssh: 44000, smtp: 44001 },
        credentials: '/x/c.json',
        handout: '/x/h, "q".html',
      },
    ],
  });
  it('is written as JSON and CSV, both 0600, and read back', () => {
    process.env.POSTFIX_LAB_HOME = home;
    mkdirSync(join(home, 'class-cltr'), { recursive: true });
    writeRoster(roster());
    expect(readRoster('cltr')).toEqual(roster());
    const csv = readFileSync(join(home, 'class-cltr', 'roster.csv'), 'utf8');
    expect(csv).toBe(
      'learner,lab,ssh,port_ssh,port_smtp,lab_file,credentials,password_file,handout\n01,cltr-01,ssh -p 44000 vagrant@127.0.0.1,44000,44001,/x/cltr-01.yaml,/x/c.json,,"/x/h, ""q"".html"\n',
    );
    for (const f of ['roster.json', 'roster.csv']) expect(statSync(join(home, 'class-cltr', f)).mode & 0o777).toBe(0o600);
  });
  it('says how to make the class when there is none, or when it is damaged', () => {
    process.env.POSTFIX_LAB_HOME = home;
    expect(() => readRoster('nosuch')).toThrow(LabError);
    try {
      readRoster('nosuch');
    } catch (e) {
      expect((e as LabError).message).toMatch(/no class named nosuch/);
      expect((e as LabError).hint).toMatch(/npm run class:up -- --learners N --class nosuch/);
    }
    mkdirSync(join(home, 'class-cltd'), { recursive: true });
    writeFileSync(rosterFile('cltd'), '{"class":');
    expect(() => readRoster('cltd')).toThrow(/not valid JSON/);
  });
  it('exits with the hint from class:status when the class does not exist', () => {
    const r = cli('class:status', '--class', 'nosuch');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: there is no class named nosuch[\s\S]*hint: Run `npm run class:up/);
  });
});

describe('layer clones', () => {
  /** A stopped container lab with one checkpoint of one layer: usr/ (shared) and etc/ (copied). */
  function source() {
    const h = mkdtempSync(join(tmpdir(), 'plab-clone-'));
    const s = labState('clts', h);
    const d = layout(s.driverDir, h);
    const layer = join(d.layers, 'layer0001');
    for (const p of ['usr/bin', 'etc', 'var/lib/apt', 'var/lib/postfix']) mkdirSync(join(layer, p), { recursive: true });
    writeFileSync(join(layer, 'usr/bin/prog'), 'program');
    writeFileSync(join(layer, 'var/lib/apt/list'), 'lists');
    writeFileSync(join(layer, 'etc/mailname'), 'mail');
    writeFileSync(join(layer, 'var/lib/postfix/master.lock'), 'lock');
    mkdirSync(d.upper, { recursive: true });
    mkdirSync(join(d.snapshots, 'start-2'), { recursive: true });
    writeFileSync(d.stack, JSON.stringify({ layers: ['layer0001'] }));
    writeFileSync(join(d.snapshots, 'start-2', 'snapshot.json'), JSON.stringify({ name: 'start-2', taken: 'x', layers: ['layer0001'] }));
    mkdirSync(join(s.dir, 'snapshots'), { recursive: true });
    writeFileSync(join(s.dir, 'snapshots', 'start-2.journal.jsonl'), '{"type":"run"}\n');
    writeFileSync(join(s.driverDir, 'container.json'), JSON.stringify({ name: 'clts', netns: 'x', baseKey: 'k', mirror: 'm', created: 'x' }));
    return { h, s, d, layer };
  }

  it("shares the bulk of a layer's files by hard links, copies what daemons open, and keeps the checkpoint", async () => {
    const { h, s, layer } = source();
    const c = labState('clts-01', h);
    await cloneLab(s, c, { from: 'start-2', carry: [], ports: [{ guest: 22, host: 44000 }] });
    const cl = join(layout(c.driverDir, h).layers, 'layer0001');
    expect(statSync(join(cl, 'usr/bin/prog')).ino).toBe(statSync(join(layer, 'usr/bin/prog')).ino);
    expect(statSync(join(cl, 'var/lib/apt/list')).ino).toBe(statSync(join(layer, 'var/lib/apt/list')).ino);
    expect(statSync(join(cl, 'etc/mailname')).nlink).toBe(1);
    expect(statSync(join(cl, 'var/lib/postfix/master.lock')).nlink).toBe(1);
    expect(readStack(layout(c.driverDir, h))).toEqual({ layers: ['layer0001'] });
    expect(readFileSync(c.journalFile, 'utf8')).toBe('{"type":"run"}\n');
    expect(JSON.parse(readFileSync(join(c.driverDir, 'container.json'), 'utf8'))).toMatchObject({ name: 'clts-01', booted: true, baseKey: 'k' });
  });

  it("never loses a layer another lab uses when the source's GC runs or the source or a clone is removed", async () => {
    const { h, s, d } = source();
    const [a, b] = [labState('clts-01', h), labState('clts-02', h)];
    for (const c of [a, b]) await cloneLab(s, c, { from: 'start-2', carry: [], ports: [] });
    // the source drops its checkpoint and its stack: its GC removes the layer ...
    writeFileSync(d.stack, JSON.stringify({ layers: [] }));
    spawnSync('rm', ['-rf', join(d.snapshots, 'start-2')]);
    expect(await gc(d)).toEqual(['layer0001']);
    // ... and lab:down of the source and of one clone removes their folders
    spawnSync('rm', ['-rf', s.dir, a.dir]);
    expect(existsSync(s.dir) || existsSync(a.dir)).toBe(false);
    const left = join(layout(b.driverDir, h).layers, 'layer0001');
    expect(readFileSync(join(left, 'usr/bin/prog'), 'utf8')).toBe('program');
    expect(readFileSync(join(left, 'etc/mailname'), 'utf8')).toBe('mail');
    expect(await gc(layout(b.driverDir, h))).toEqual([]);
  });
});

describe("a learner's handout", () => {
  it("is the course's handout rendered with that learner's lab file (its own ports)", async () => {
    const { writeLearnerHandout } = await import('../../src/class/up.js');
    const dir = mkdtempSync(join(tmpdir(), 'plab-handout-'));
    const file = join(dir, 'cltu-01.yaml');
    writeFileSync(file, readFileSync(labFile, 'utf8').replace('name: debian12', 'name: cltu-01').replace('host: 13525', 'host: 44001'));
    const index = await writeLearnerHandout(file, join(dir, 'handout'));
    expect(index).toBe(join(dir, 'handout', 'index.html'));
    const html = readFileSync(index, 'utf8');
    expect(html).toMatch(/44001/);
    expect(html).not.toMatch(/13525/);
  });
});

describe('class progress', () => {
  const sink = (isTTY: boolean) => {
    const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
    let text = '';
    s.on('data', (d) => (text += d.toString()));
    s.isTTY = isTTY;
    s.columns = 80;
    return { s, text: () => text };
  };
  it('prints a plain line per change when not on a terminal, nothing for a repeat', async () => {
    const { Board } = await import('../../src/class/board.js');
    const o = sink(false);
    const b = new Board(o.s, false);
    b.set('clt-01', 'cloning');
    b.set('clt-02', 'cloning');
    b.set('clt-01', 'cloning');
    b.set('clt-01', 'ready');
    expect(o.text()).toBe('clt-01: cloning\nclt-02: cloning\nclt-01: ready\n');
  });
  it('redraws one line per lab in place on a terminal', async () => {
    const { Board } = await import('../../src/class/board.js');
    const o = sink(true);
    const b = new Board(o.s, true);
    b.set('clt-01', 'cloning');
    b.set('clt-02', 'cloning');
    b.set('clt-01', 'ready');
    const last = o.text().split('\x1b[2A').pop()!;
    expect(last).toBe('\x1b[2Kclt-01  ready\n\x1b[2Kclt-02  cloning\n');
  });
});
