/**
 * Corrupt or partial state, with the real container driver (one lab, nmst): a journal line cut short, a garbage
 * lab.json, a stale PID file, a disk deleted by hand, a garbage driver file. Each gives a clear message or is
 * repaired by the next lab:up (never a stack trace), and lab:down always cleans the lab up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/drivers/local/processes.js';
import { Journal } from '../../src/runbook/journal.js';
import { removeInside } from '../../src/lab/names.js';
import { jsonState } from '../../src/lab/state.js';
import { cleanError, labCli, repo } from '../helpers/lab-cli.js';
import { removeScratch } from '../helpers/scratch.js';

const isRoot = process.getuid?.() === 0;
const name = 'nmst';
const scratch = mkdtempSync(join(tmpdir(), 'plab-nm-state-'));
const home = join(scratch, 'home');
const env = { POSTFIX_LAB_HOME: home, POSTFIX_LAB_ROLES: join(repo, 'test/fixtures/faults-roles') };
const labFile = join(scratch, 'lab.yaml');
const dir = join(home, name);
const cli = (script: string, ...args: string[]) => labCli(env, script, ...args, '--lab', labFile);

async function status(): Promise<{ name: string; state: string; detail?: string } | undefined> {
  const r = await labCli(env, 'lab-status', '--json');
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as { labs: { name: string; state: string; detail?: string }[] }).labs.find((l) => l.name === name);
}

async function upOk(): Promise<string> {
  const r = await cli('lab-up');
  expect(r.err + r.out).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
  expect(r.code, r.err).toBe(0);
  return r.out + r.err;
}

// the container driver needs root (network namespaces, overlay mounts, systemd-nspawn)
describe.skipIf(!isRoot)('damaged lab state, with the real container driver', () => {
  let sleeper: ChildProcess | undefined;
  beforeAll(async () => {
    writeFileSync(labFile, `name: ${name}\ndriver: container\nplatform: debian12\nports:\n  - { guest: 22, host: 21010 }\nsections: [1]\n`);
    await upOk();
  }, 600_000);
  afterAll(async () => {
    if (sleeper?.pid && isAlive(sleeper.pid)) process.kill(sleeper.pid, 'SIGKILL');
    await cli('lab-down');
    removeScratch(scratch);
  }, 300_000);

  it('a journal line cut short is skipped: the run it ended resumes, and the next record starts on its own line', async () => {
    const file = join(dir, 'journal.jsonl');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length - 20)); // the last record ("end"), cut mid-line
    const out = await upOk();
    // without its "end" record the last run looks interrupted: this one resumes, skipping what that run finished
    expect(out).toMatch(/resuming \(finished steps are skipped\)[\s\S]*recap: ok=0 changed=0 skipped=1 failed=0/);
    const recs = new Journal(file).records();
    expect(recs.at(-1)).toMatchObject({ type: 'end', result: 'ok' });
    expect(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .filter((l) => {
          try {
            JSON.parse(l);
            return false;
          } catch {
            return true;
          }
        }),
    ).toHaveLength(1);
  }, 300_000);

  it('a garbage lab.json is reported by lab:status and rewritten by lab:up', async () => {
    writeFileSync(join(dir, 'lab.json'), '{"name": "nmst", "dri');
    const s = await status();
    expect(s).toMatchObject({ state: 'unknown' });
    expect(s?.detail).toMatch(/lab\.json is damaged \(not valid JSON \(cut short or overwritten\)\): `npm run lab:down -- --name nmst` removes the lab/);
    const v = await cli('verify');
    expect(v.code).toBe(1);
    expect(cleanError(v.err)).toBe(true);
    expect(v.err).toMatch(/^error: lab nmst: .*lab\.json is damaged \(not valid JSON/m);
    await upOk();
    expect(jsonState<{ driver: string }>(join(dir, 'lab.json')).value).toMatchObject({ driver: 'container' });
    expect(await status()).toMatchObject({ state: 'running' });
  }, 300_000);

  it('a stale PID file (an unrelated live process) is not taken for the lab, nor signalled', async () => {
    expect((await cli('lab-halt')).code).toBe(0);
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(join(dir, 'driver', 'nspawn.pid'), `${sleeper.pid}\n`);
    expect(await status()).toMatchObject({ state: 'stopped' });
    await upOk();
    expect(await status()).toMatchObject({ state: 'running' });
    expect(isAlive(sleeper.pid)).toBe(true);
    process.kill(sleeper.pid!, 'SIGKILL');
  }, 300_000);

  it('a disk deleted by hand: lab:status says so, lab:up makes a fresh lab host with a new journal', async () => {
    expect((await cli('lab-halt')).code).toBe(0);
    removeInside(home, join(dir, 'driver', 'disk'));
    expect(await status()).toMatchObject({ state: 'leftover', detail: 'an incomplete lab (no disk yet)' });
    const out = await upOk();
    expect(out).toMatch(/a new lab host was created: starting a new journal/);
    expect(out).toMatch(/marker .*changed|changed.*marker|1 changed|changed=1/);
    expect(await status()).toMatchObject({ state: 'running' });
  }, 300_000);

  it('lab:down cleans up a running lab whose driver file and lab.json are garbage', async () => {
    writeFileSync(join(dir, 'driver', 'container.json'), 'garbage');
    writeFileSync(join(dir, 'lab.json'), '');
    const r = await cli('lab-down');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/lab\.json is damaged \(empty\); using the lab file's driver/);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`/run/netns/postfix-lab-${name}`)).toBe(false);
    expect(await status()).toBeUndefined();
    const again = await cli('lab-down'); // nothing left: still fine
    expect(again.code).toBe(0);
  }, 300_000);

  it('errors on damaged state stay clean: lab:ssh of a lab with no SSH target', async () => {
    const r = await labCli(env, 'lab-ssh', '--name', name);
    expect(r.code).toBe(2);
    expect(cleanError(r.err)).toBe(true);
  }, 60_000);
});
