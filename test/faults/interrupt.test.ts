/**
 * Ctrl-C during a long step (a real SIGINT to a lab:up process) and two lab:up on one lab at once, over a real
 * OpenSSH server.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabError } from '../../src/errors.js';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import { labUp } from '../../src/lab/ops.js';
import { startSshd, type SshdFixture } from '../helpers/sshd.js';
import { faultRoles, scratchOf } from './fixtures.js';

let sshd: SshdFixture;
const home = mkdtempSync(join(tmpdir(), 'plab-faults-int-'));
let labFile: string;
let rolesDir: string;
const used: string[] = [];
const repo = join(import.meta.dirname, '../..');

beforeAll(async () => {
  process.env.POSTFIX_LAB_HOME = home;
  sshd = await startSshd();
  rolesDir = faultRoles(home);
  labFile = join(home, 'lab.yaml');
  writeFileSync(
    labFile,
    [
      'name: flt',
      'driver: ssh',
      'platform: debian12',
      'hosts:',
      `  - { name: mail, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, identityFile: ${sshd.identityFile} }`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await sshd?.stop();
  for (const n of used) rmSync(scratchOf(n), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  delete process.env.POSTFIX_LAB_HOME;
});

function fresh(name: string): string {
  used.push(name);
  rmSync(scratchOf(name), { recursive: true, force: true });
  mkdirSync(scratchOf(name), { recursive: true });
  return scratchOf(name);
}

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

/** Processes on this machine (the lab host here) still running the long step's command. */
function stillRunning(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .flatMap((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(`${dir}/long-starts`) ? [Number(e)] : [];
      } catch {
        return [];
      }
    });
}

async function up(name: string, during?: (e: EngineEvent) => void) {
  const events: EngineEvent[] = [];
  const recap = await labUp({
    labFile,
    name,
    rolesDir,
    events: new Emitter().on((e) => {
      events.push(e);
      during?.(e);
    }),
  });
  return { recap, events, status: (id: string) => events.filter((e) => e.event === 'step' && e.id === id).map((e) => (e as { status: string }).status) };
}

describe('Ctrl-C during a long step', () => {
  it('stops the remote command, records the run as stopped at that step, and the next run resumes there', async () => {
    const dir = fresh('flt-ctrlc');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'test/faults/lab-up-child.ts')], {
      cwd: repo,
      env: { ...process.env, FLT_LAB: labFile, FLT_NAME: 'flt-ctrlc', FLT_ROLES: rolesDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: EngineEvent[] = [];
    let sentAt = 0;
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, i)) as EngineEvent;
        buf = buf.slice(i + 1);
        out.push(e);
        if (e.event === 'step-start' && e.id === 'long-step') {
          setTimeout(() => {
            sentAt = Date.now();
            child.kill('SIGINT');
          }, 1000);
        }
      }
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(Date.now() - sentAt).toBeLessThan(2500); // it did not wait for the 3 s command to finish
    expect(out.at(-1)).toMatchObject({
      event: 'done',
      interrupted: true,
      failedStep: 'long-step',
      message: expect.stringMatching(/interrupted \(Ctrl-C\) at step long-step/),
    });
    expect(lines(`${dir}/long-starts`)).toHaveLength(1);
    expect(lines(`${dir}/long-runs`)).toEqual([]);
    expect(stillRunning(dir)).toEqual([]);
    const journal = readFileSync(join(home, 'flt-ctrlc', 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal.at(-1)).toMatchObject({ type: 'end', result: 'failed', failedStep: 'long-step' });
    expect(existsSync(join(home, 'flt-ctrlc', 'lock'))).toBe(false);

    const next = await up('flt-ctrlc');
    expect(next.events.find((e) => e.event === 'run')).toMatchObject({ resuming: true, from: 'long-step' });
    expect(next.recap).toMatchObject({ failed: 0 });
    expect(next.status('long-step')).toEqual(['changed']);
    expect(lines(`${dir}/long-runs`)).toEqual(['run']);
    expect((await up('flt-ctrlc')).recap).toMatchObject({ failed: 0, changed: 0 });
  });
});

describe('two lab:up on one lab at once', () => {
  it("the second refuses at once, naming the first one's PID; the first finishes", async () => {
    fresh('flt-lock');
    let second: Promise<unknown> | undefined;
    let refusedInMs = Infinity;
    const first = up('flt-lock', (e) => {
      if (e.event === 'step-start' && e.id === 'long-step') {
        const t0 = Date.now();
        second = up('flt-lock').catch((err: unknown) => {
          refusedInMs = Date.now() - t0;
          return err;
        });
      }
    });
    expect((await first).recap).toMatchObject({ failed: 0 });
    const err = await second;
    expect(refusedInMs).toBeLessThan(1000); // at once, not after the first one's 3 s step
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toBe(`lab flt-lock is busy: lab:up (PID ${process.pid}) is running on it`);
    expect((err as LabError).hint).toContain(`kill -INT ${process.pid}`);
  });

  it('a lock left by a process that is gone is taken over', async () => {
    fresh('flt-stale');
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    mkdirSync(join(home, 'flt-stale'), { recursive: true });
    writeFileSync(join(home, 'flt-stale', 'lock'), `${dead.pid} 1 lab:up\n`);
    expect((await up('flt-stale')).recap).toMatchObject({ failed: 0 });
    expect(existsSync(join(home, 'flt-stale', 'lock'))).toBe(false);
  });
});
