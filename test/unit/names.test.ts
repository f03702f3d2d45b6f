/** One rule for user-given names, and removals that never leave their folder: the rule, and each removal site. */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { layout } from '../../src/drivers/container/disk.js';
import { restoreSnapshot, saveSnapshot } from '../../src/drivers/container/layers.js';
import { pruneImages } from '../../src/drivers/container/image.js';
import { installationKey, labRef } from '../../src/drivers/container/lifecycle.js';
import { shutdown } from '../../src/drivers/container/nspawn.js';
import { removeTree } from '../../src/drivers/container/sys.js';
import { verifiedCache } from '../../src/drivers/vagrant/images.js';
import { vagrantDriver } from '../../src/drivers/vagrant/index.js';
import { InputError } from '../../src/errors.js';
import { Emitter } from '../../src/output/events.js';
import { Journal } from '../../src/runbook/journal.js';
import { loadLab } from '../../src/lab/lab-file.js';
import { labLifecycle } from '../../src/lab/ops.js';
import { checkLabName, checkSnapshotName, PathOutside, provenInside, removeInside } from '../../src/lab/names.js';
import { loadSchema } from '../../src/schemas.js';
import { ensureCredentials, generatePassword, jsonState, labState } from '../../src/lab/state.js';
import { removeScratch } from '../helpers/scratch.js';

const scratch = mkdtempSync(join(tmpdir(), 'plab-names-'));
afterAll(() => removeScratch(scratch));
let n = 0;

/** A state home and, beside it, an "outside" folder with a sentinel that must survive. */
function world() {
  const dir = join(scratch, `w${++n}`);
  const home = join(dir, 'home');
  const outside = join(dir, 'outside');
  mkdirSync(home, { recursive: true });
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'sentinel'), 'keep me\n');
  writeFileSync(join(outside, 'sub', 'sentinel'), 'keep me too\n');
  const intact = () => {
    expect(readFileSync(join(outside, 'sentinel'), 'utf8')).toBe('keep me\n');
    expect(readFileSync(join(outside, 'sub', 'sentinel'), 'utf8')).toBe('keep me too\n');
  };
  return { dir, home, outside, intact };
}

const catchErr = (f: () => unknown): Error => {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
};
const rejection = async (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('did not reject');
    },
    (e: Error) => e,
  );

function sshLab(w: { home: string }, name: string): string {
  const file = join(w.home, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ndriver: ssh\nplatform: debian12\nhosts:\n  - { name: mail, address: 127.0.0.1, port: 1, user: root }\n`);
  return file;
}

describe('the one rule for names', () => {
  const description = (loadSchema('lab') as { properties: { name: { description: string } } }).properties.name.description;

  it.each(['..', '../x', '/abs', 'a/b', 'a\nb', 'a\0b', '', 'Upper', '-x', 'x'.repeat(32)])(
    "refuses the lab name %j with exit 2 and the lab file's wording",
    (bad) => {
      const e = catchErr(() => checkLabName(bad));
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).exitCode).toBe(2);
      expect(e.message).toBe(`--name: ${JSON.stringify(bad)} is not a valid lab name`);
      expect((e as InputError).hint).toContain(description);
    },
  );

  it("says the same for a lab file's name and for --name, and checks --name before any path is made", () => {
    const w = world();
    const file = join(w.home, 'bad.yaml');
    writeFileSync(file, 'name: "../x"\ndriver: ssh\nplatform: debian12\nhosts: [{ name: mail, address: h, user: root }]\n');
    const fromFile = catchErr(() => loadLab(file)) as InputError;
    expect(fromFile.message).toMatch(/bad\.yaml:1:7: "\.\.\/x" is not a valid value for name/);
    const fromFlag = catchErr(() => loadLab(sshLab(w, 'nmok'), { name: '../x' })) as InputError;
    expect(fromFlag.hint).toContain(description);
    expect(fromFile.hint).toContain(description);
    expect(() => labState('..')).toThrow(InputError);
    expect(checkLabName('nm-lab-1')).toBe('nm-lab-1');
  });

  it('refuses snapshot names that could leave the snapshot folder', () => {
    for (const bad of ['../../etc', '..', 'a/b', '/abs', '.hidden', 'a..b', 'x\ny'])
      expect(() => checkSnapshotName(bad)).toThrow(/is not a valid snapshot name/);
    expect(checkSnapshotName('before-section-4.v2')).toBe('before-section-4.v2');
  });

  it('refuses a lab file with two hosts of the same name, at the line of the second', () => {
    const w = world();
    const file = join(w.home, 'two.yaml');
    writeFileSync(
      file,
      'name: nmtwo\ndriver: ssh\nplatform: debian12\nhosts:\n  - { name: mail, address: a, user: root }\n  - { name: mail, address: b, user: root }\n',
    );
    expect(catchErr(() => loadLab(file)).message).toMatch(/two\.yaml:6:\d+: host name "mail" is used twice \(also hosts\[0\]\)/);
  });
});

describe('removeInside: only what is really inside its folder', () => {
  it('removes a path inside, and nothing when it is absent', () => {
    const w = world();
    mkdirSync(join(w.home, 'lab', 'logs'), { recursive: true });
    removeInside(w.home, join(w.home, 'lab'));
    expect(existsSync(join(w.home, 'lab'))).toBe(false);
    expect(provenInside(w.home, join(w.home, 'nope', 'deeper'))).toBeUndefined();
  });

  it('refuses .., an absolute path elsewhere and the root itself, touching nothing', () => {
    const w = world();
    for (const p of [join(w.home, '..', 'outside'), w.outside, w.home, join(w.home, 'a', '..', '..', 'outside')]) {
      expect(() => removeInside(w.home, p)).toThrow(PathOutside);
    }
    w.intact();
  });

  it('refuses a path whose folder is a symbolic link leading out, and removes a link itself without following it', () => {
    const w = world();
    symlinkSync(w.outside, join(w.home, 'lab'));
    const e = catchErr(() => removeInside(w.home, join(w.home, 'lab', 'sub')));
    expect(e).toBeInstanceOf(PathOutside);
    expect(e.message).toMatch(/is really .*outside, outside .*home \(a symbolic link leads out\)/);
    expect(() => removeInside(w.home, join(w.home, 'lab', 'sub', 'deeper', 'x'))).toThrow(PathOutside);
    w.intact();
    removeInside(w.home, join(w.home, 'lab'));
    expect(lstatSync(join(w.home, 'lab'), { throwIfNoEntry: false })).toBeUndefined();
    w.intact();
  });

  it('the test cleanup helper removes only inside the temp folder', () => {
    expect(() => removeScratch('/etc/hostname')).toThrow(PathOutside);
  });
});

describe('each removal site refuses to leave its folder', () => {
  it('lab:down refuses a lab folder that is a symbolic link, and removes a real one', async () => {
    const w = world();
    process.env.POSTFIX_LAB_HOME = w.home;
    try {
      const file = sshLab(w, 'nmsym');
      symlinkSync(w.outside, join(w.home, 'nmsym'));
      const e = await rejection(labLifecycle('down', { labFile: file, events: new Emitter() }));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(/state folder of lab nmsym, .* is a symbolic link \(to .*outside\); refusing/);
      w.intact();
      mkdirSync(join(w.home, 'nmreal', 'logs'), { recursive: true });
      await labLifecycle('down', { labFile: sshLab(w, 'nmreal'), events: new Emitter() });
      expect(existsSync(join(w.home, 'nmreal'))).toBe(false);
    } finally {
      delete process.env.POSTFIX_LAB_HOME;
    }
  });

  it('container driver: removeTree refuses a folder reached through a symbolic link', async () => {
    const w = world();
    symlinkSync(w.outside, join(w.home, 'nmct'));
    const e = await rejection(removeTree(w.home, join(w.home, 'nmct', 'driver')));
    expect(e).toBeInstanceOf(PathOutside);
    expect(await rejection(removeTree(w.home, w.outside))).toBeInstanceOf(PathOutside);
    w.intact();
  });

  it('container snapshots: save and restore refuse a snapshot or disk folder that leads out', async () => {
    const w = world();
    const driverDir = join(w.home, 'nmsnap', 'driver');
    const d = layout(driverDir, w.home);
    mkdirSync(d.upper, { recursive: true });
    symlinkSync(w.outside, d.snapshots);
    expect(await rejection(saveSnapshot(d, 'sub'))).toBeInstanceOf(PathOutside);
    w.intact();
    const d2 = layout(join(w.home, 'nmsnap2', 'driver'), w.home);
    mkdirSync(join(d2.snapshots, 's1', 'upper'), { recursive: true });
    mkdirSync(join(w.home, 'nmsnap2', 'driver'), { recursive: true });
    symlinkSync(w.outside, join(w.home, 'nmsnap2', 'driver', 'disk'));
    expect(await rejection(restoreSnapshot(d2, 's1'))).toBeInstanceOf(PathOutside);
    w.intact();
  });

  it('container stop: the PID file is removed only inside the state home', async () => {
    const w = world();
    symlinkSync(w.outside, join(w.home, 'nmstop'));
    writeFileSync(join(w.outside, 'nspawn.pid'), '1\n');
    const e = await rejection(shutdown({ home: w.home, dir: join(w.home, 'nmstop'), netns: `postfix-lab-nmstop-${process.pid}`, machine: 'nmstop' }, 100));
    expect(e).toBeInstanceOf(PathOutside);
    expect(readFileSync(join(w.outside, 'nspawn.pid'), 'utf8')).toBe('1\n');
  });

  it('container key pair: a .keys folder that leads out is refused before anything is written there', async () => {
    const w = world();
    symlinkSync(w.outside, join(w.home, '.keys'));
    const r = labRef(labState('nmkey', w.home));
    expect(await rejection(installationKey(r))).toBeInstanceOf(PathOutside);
    w.intact();
    expect(existsSync(join(w.outside, 'vagrant_ed25519'))).toBe(false);
  });

  it("image cache pruning removes an unused image's link, never what it points to", async () => {
    const w = world();
    const env = { lib: process.env.POSTFIX_LAB_LIB_DIR, cache: process.env.POSTFIX_LAB_CACHE_DIR };
    process.env.POSTFIX_LAB_LIB_DIR = join(w.home, 'lib');
    process.env.POSTFIX_LAB_CACHE_DIR = join(w.home, 'cache');
    try {
      mkdirSync(join(w.home, 'lib', 'images'), { recursive: true });
      mkdirSync(join(w.home, 'cache', 'images'), { recursive: true });
      writeFileSync(join(w.outside, 'image.json'), '{}');
      const old = new Date(Date.now() - 3 * 86400_000);
      utimesSync(join(w.outside, 'image.json'), old, old);
      symlinkSync(w.outside, join(w.home, 'lib', 'images', '0123456789abcdef'));
      symlinkSync(join(w.outside, 'sentinel'), join(w.home, 'cache', 'images', '0123456789abcdef.tar.zst'));
      await pruneImages(new Set());
      expect(lstatSync(join(w.home, 'lib', 'images', '0123456789abcdef'), { throwIfNoEntry: false })).toBeUndefined();
      expect(lstatSync(join(w.home, 'cache', 'images', '0123456789abcdef.tar.zst'), { throwIfNoEntry: false })).toBeUndefined();
      w.intact();
      expect(existsSync(join(w.outside, 'image.json'))).toBe(true);
    } finally {
      if (env.lib === undefined) delete process.env.POSTFIX_LAB_LIB_DIR;
      else process.env.POSTFIX_LAB_LIB_DIR = env.lib;
      if (env.cache === undefined) delete process.env.POSTFIX_LAB_CACHE_DIR;
      else process.env.POSTFIX_LAB_CACHE_DIR = env.cache;
    }
  });

  it('vagrant driver: lab:down removes a driver folder link, not its target; a bad cache entry outside the cache is refused', async () => {
    const w = world();
    const lab = loadLab(sshLab(w, 'nmvg'));
    const state = labState('nmvg', w.home);
    mkdirSync(state.dir, { recursive: true });
    symlinkSync(w.outside, state.driverDir);
    await vagrantDriver.down({ lab, state, progress: () => undefined });
    expect(lstatSync(state.driverDir, { throwIfNoEntry: false })).toBeUndefined();
    w.intact();
    const env = process.env.POSTFIX_LAB_CACHE_DIR;
    process.env.POSTFIX_LAB_CACHE_DIR = join(w.home, 'vcache');
    try {
      writeFileSync(join(w.outside, 'sentinel.sha256'), '0'.repeat(64));
      expect(await rejection(verifiedCache(join(w.outside, 'sentinel')))).toBeInstanceOf(PathOutside);
      w.intact();
    } finally {
      if (env === undefined) delete process.env.POSTFIX_LAB_CACHE_DIR;
      else process.env.POSTFIX_LAB_CACHE_DIR = env;
    }
  });
});

describe('generated secrets and damaged state files', () => {
  it('generates passwords of 24 letters and digits, and an existing lab keeps its own', () => {
    for (let i = 0; i < 500; i++) expect(generatePassword()).toMatch(/^[A-Za-z0-9]{24}$/);
    const w = world();
    const s = labState('nmcred', w.home);
    const fresh = ensureCredentials(s, 'learner');
    expect(fresh.password).toMatch(/^[A-Za-z0-9]{24}$/);
    writeFileSync(s.credentialsFile, JSON.stringify({ user: 'learner', password: '-old_Base64url-pw' }));
    expect(ensureCredentials(s, 'learner').password).toBe('-old_Base64url-pw');
  });

  it('a journal line cut short by a crash loses only itself: the next record starts on its own line', () => {
    const w = world();
    const file = join(w.home, 'journal.jsonl');
    const j = new Journal(file);
    j.append({ type: 'run', runId: 'r1', at: 'now', platform: 'debian12', steps: 2 });
    j.append({ type: 'step', runId: 'r1', id: 'one', status: 'changed', at: 'now' });
    writeFileSync(file, readFileSync(file, 'utf8') + '{"type":"step","runId":"r1","id":"tw');
    j.append({ type: 'step', runId: 'r1', id: 'three', status: 'ok', at: 'now' });
    expect(j.records().map((r) => (r.type === 'step' ? r.id : r.type))).toEqual(['run', 'one', 'three']);
    expect(j.resumeState()).toMatchObject({ resuming: true, done: new Set(['one', 'three']) });
  });

  it('tells an absent state file from a damaged one', () => {
    const w = world();
    const f = join(w.home, 'lab.json');
    expect(jsonState(f)).toEqual({});
    writeFileSync(f, '{"name": "nm');
    expect(jsonState(f).error).toMatch(/not valid JSON/);
    writeFileSync(f, '');
    expect(jsonState(f).error).toBe('empty');
    mkdirSync(join(w.home, 'dir.json'));
    expect(jsonState(join(w.home, 'dir.json')).error).toMatch(/unreadable: EISDIR/);
  });
});
