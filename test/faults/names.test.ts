/**
 * Hostile names through the real CLI: every lifecycle command, given a lab or snapshot name that would walk out of
 * its folder (or a lab folder that is a symbolic link leading out), exits 2 with a hint, and nothing anywhere in a
 * scratch tree of sentinel files (the state home included) changes.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/schemas.js';
import { removeScratch } from '../helpers/scratch.js';

const repo = join(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'plab-nm-names-'));
const home = join(scratch, 'home');
const labs = join(scratch, 'labs');
const env = { ...process.env, POSTFIX_LAB_HOME: home, NO_COLOR: '1' };
const description = (loadSchema('lab') as { properties: { name: { description: string } } }).properties.name.description;

/** Names that must never become a path: each would reach outside the state home (or address it as a whole). */
const HOSTILE = ['..', '../x', '../nmok', '/abs', 'a/b', 'nm\nb', '.', ''];
/** The commands that remove or create get every hostile name; the others (each a few seconds to start) a few. */
const FEW = ['..', '../x', 'a/b'];

function cli(script: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'src/cli/bin.ts'), script, ...args], { cwd: repo, env });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => {
      out += d;
    });
    c.stderr.on('data', (d) => {
      err += d;
    });
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Run many CLI calls two at a time (the machine has two cores). */
async function all<T>(jobs: (() => Promise<T>)[], width = 3): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

/** Every entry under the scratch folder: path, type, mode, mtime, and content (or link target). */
function treeHash(dir = scratch): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = lstatSync(p);
      h.update(`${p}\0${st.mode}\0${st.mtimeMs}\0${st.size}\0`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

function labFile(name: string, extra = ''): string {
  const f = join(labs, `${name}.yaml`);
  writeFileSync(f, `name: ${name}\ndriver: ssh\nplatform: debian12\nhosts:\n  - { name: mail, address: 127.0.0.1, port: 1, user: root }\n${extra}`);
  return f;
}

let before: string;
let ok: string;
let sym: string;

beforeAll(() => {
  // sentinels where each hostile name would land: the scratch root (..), a sibling (../x), a folder a link leads to
  for (const d of ['x', 'outside/sub', 'labs', 'home/nmok/logs', 'home/nmok/driver/snapshots/s1/upper', 'home/a/b'])
    mkdirSync(join(scratch, d), { recursive: true });
  for (const f of ['sentinel', 'x/sentinel', 'outside/sentinel', 'outside/sub/sentinel', 'home/a/b/sentinel', 'home/nmok/logs/001-a.log'])
    writeFileSync(join(scratch, f), `${f}\n`);
  ok = labFile('nmok');
  sym = labFile('nmsym');
  writeFileSync(
    join(home, 'nmok', 'lab.json'),
    JSON.stringify({
      name: 'nmok',
      driver: 'ssh',
      platform: 'debian12',
      labFile: ok,
      ports: [],
      ssh: { name: 'mail', host: '127.0.0.1', port: 1, user: 'root', identityFile: '/nonexistent', sudo: false },
      credentialsFile: join(home, 'nmok', 'credentials.json'),
    }),
  );
  writeFileSync(join(home, 'nmok', 'journal.jsonl'), '');
  symlinkSync(join(scratch, 'outside'), join(home, 'nmsym'));
  before = treeHash();
});

afterAll(() => removeScratch(scratch));

/** Exit 2, an error line and a hint, no stack trace, and the tree exactly as it was. */
function refused(r: { code: number | null; err: string }, message: RegExp): void {
  expect(r.err).toMatch(message);
  expect(r.err).toMatch(/\nhint: \S/);
  expect(r.err).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  expect(r.err).not.toMatch(/this is unexpected/);
  expect(r.code).toBe(2);
}

const badName = (name: string) =>
  new RegExp(
    `^error: --name: ${JSON.stringify(name).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a valid lab name\\nhint: It must match .*${description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`,
  );

const COMMANDS: [string, string[], string[]][] = [
  ['lab-up', ['--lab', '{ok}'], HOSTILE],
  ['lab-down', [], HOSTILE],
  ['lab-up', ['--dry-run'], FEW],
  ['lab-halt', [], FEW],
  ['lab-status', [], FEW],
  ['lab-ssh', [], FEW],
  ['lab-snapshot', ['save', 's1'], FEW],
  ['lab-snapshot', ['restore', 's1'], FEW],
  ['lab-snapshot', ['list'], FEW],
  ['verify', [], FEW],
];

describe('hostile names through the real CLI, against a scratch state home', () => {
  it.each(COMMANDS)(
    "%s %j --name HOSTILE exits 2 with the lab file's wording and changes nothing",
    async (script, args, names) => {
      const rs = await all(names.map((name) => () => cli(script, ...args.map((a) => (a === '{ok}' ? ok : a)), '--name', name)));
      rs.forEach((r, i) => refused(r, badName(names[i]!)));
      expect(treeHash()).toBe(before);
    },
    300_000,
  );

  it('a lab file whose name holds a NUL, a newline or a slash is refused at its line', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'plab-nm-badlabs-'));
    const files = ['"nm\\0x"', '"nm\\nx"', '"../x"', '"/abs"'].map((n, i) => {
      const f = join(elsewhere, `bad${i}.yaml`);
      writeFileSync(f, `name: ${n}\ndriver: ssh\nplatform: debian12\nhosts: [{ name: mail, address: 127.0.0.1, port: 1, user: root }]\n`);
      return f;
    });
    const rs = await all(files.flatMap((f) => [() => cli('lab-up', '--lab', f), () => cli('lab-down', '--lab', f)]));
    removeScratch(elsewhere);
    for (const r of rs) refused(r, /^error: .*bad\d\.yaml:1:7: ".*" is not a valid value for name\nhint: It must match /);
    expect(treeHash()).toBe(before);
  }, 300_000);

  it('snapshot names like ../../etc are refused before the lab is even looked at', async () => {
    const rs = await all(['save', 'restore'].flatMap((a) => ['../../etc', '..', 'a/b', '/etc'].map((s) => () => cli('lab-snapshot', a, s, '--lab', ok))));
    for (const r of rs) refused(r, /^error: snapshot name: ".*" is not a valid snapshot name\nhint: It must match .*Letters, digits, dots/);
    expect(treeHash()).toBe(before);
  }, 300_000);

  it('every command refuses a lab folder that is a symbolic link leading out, and touches nothing through it', async () => {
    const calls: [string, ...string[]][] = [
      ['lab-up', '--lab', sym],
      ['lab-down', '--lab', sym],
      ['lab-halt', '--lab', sym],
      ['lab-status', '--name', 'nmsym'],
      ['lab-ssh', '--name', 'nmsym'],
      ['lab-snapshot', 'save', 's1', '--lab', sym],
      ['lab-snapshot', 'restore', 's1', '--lab', sym],
      ['lab-snapshot', 'list', '--lab', sym],
      ['verify', '--lab', sym],
    ];
    const rs = await all(
      calls.map(
        ([s, ...a]) =>
          () =>
            cli(s, ...a),
      ),
    );
    for (const r of rs) refused(r, /^error: the state folder of lab nmsym, .*\/home\/nmsym, is a symbolic link \(to .*\/outside\); refusing to use it\n/);
    expect(treeHash()).toBe(before);
  }, 300_000);

  it('lab:status of all labs skips the link and still lists the real lab', async () => {
    const r = await cli('lab-status', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { labs: { name: string }[] }).labs.map((l) => l.name)).toEqual(['nmok']);
    expect(treeHash()).toBe(before);
  }, 60_000);
});
