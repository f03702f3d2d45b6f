/**
 * A forwarded port already taken by another program, with the real container driver (one lab, nmpt): lab:up, and
 * the boot after lab:halt, stop with an error naming the port and the program that holds it (PID and command
 * line), and leave the lab not running and consistent; once the program is gone, lab:up works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitExit } from '../../src/drivers/local/processes.js';
import { cleanError, labCli, repo } from '../helpers/lab-cli.js';
import { removeScratch } from '../helpers/scratch.js';

const isRoot = process.getuid?.() === 0;
const name = 'nmpt';
const scratch = mkdtempSync(join(tmpdir(), 'plab-nm-ports-'));
const env = { POSTFIX_LAB_HOME: join(scratch, 'home'), POSTFIX_LAB_ROLES: join(repo, 'test/fixtures/faults-roles') };
const labFile = join(scratch, 'lab.yaml');
const SSH_PORT = 21020;
const SMTP_PORT = 21021;
const cli = (script: string, ...args: string[]) => labCli(env, script, ...args, '--lab', labFile);

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port, timeout: 1000 });
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });

/** Another program on the port: a small Node listener of our own, stopped by its PID. */
async function squat(port: number): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 1e6)`, 'plab-squatter'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100 && !(await answers(port)); i++) await sleep(50);
  return c;
}

async function release(c: ChildProcess): Promise<void> {
  if (!c.pid || c.exitCode !== null || c.signalCode !== null) return;
  c.kill('SIGTERM');
  await waitExit(c.pid, 5000);
}

async function state(): Promise<string | undefined> {
  const r = await labCli(env, 'lab-status', '--json');
  return (JSON.parse(r.out) as { labs: { name: string; state: string }[] }).labs.find((l) => l.name === name)?.state;
}

function refusedFor(r: { code: number | null; err: string }, port: number, guest: number, pid: number): void {
  expect(r.code).toBe(2);
  expect(cleanError(r.err)).toBe(true);
  expect(r.err).toMatch(
    new RegExp(
      `^error: host port ${port} on 127\\.0\\.0\\.1 \\(forwarded to the lab's port ${guest}\\) is already in use by PID ${pid} \\(node -e .*plab-squatter\\) listening on 127\\.0\\.0\\.1; the lab was not started\\n`,
      'm',
    ),
  );
  expect(r.err).toMatch(/hint: Stop what listens there, or change ports\[\]\.host in .*lab\.yaml; then run `npm run lab:up` again\./);
}

// the container driver needs root (network namespaces, overlay mounts, systemd-nspawn)
describe.skipIf(!isRoot)('a forwarded port taken by another program, with the real container driver', () => {
  const squatters: ChildProcess[] = [];
  beforeAll(() => {
    writeFileSync(
      labFile,
      `name: ${name}\ndriver: container\nplatform: debian12\nports:\n  - { guest: 22, host: ${SSH_PORT} }\n  - { guest: 25, host: ${SMTP_PORT} }\nsections: [1]\n`,
    );
  });
  afterAll(async () => {
    for (const c of squatters) await release(c);
    await cli('lab-down');
    removeScratch(scratch);
  }, 300_000);

  it('at the first lab:up: names the port and the program, and boots nothing', async () => {
    const c = await squat(SMTP_PORT);
    squatters.push(c);
    const r = await cli('lab-up');
    refusedFor(r, SMTP_PORT, 25, c.pid!);
    expect(existsSync(`/run/netns/postfix-lab-${name}`)).toBe(false);
    expect(await state()).toBeUndefined(); // no lab yet: nothing half-made to see
    expect(await answers(SSH_PORT)).toBe(false);
    await release(c);
    const ok = await cli('lab-up');
    expect(ok.code, ok.err).toBe(0);
    expect(await state()).toBe('running');
    expect(await answers(SSH_PORT)).toBe(true);
  }, 300_000);

  it('at the boot after lab:halt: the same error, and the lab stays halted with its disk', async () => {
    expect((await cli('lab-halt')).code).toBe(0);
    const c = await squat(SSH_PORT);
    squatters.push(c);
    const r = await cli('lab-up');
    refusedFor(r, SSH_PORT, 22, c.pid!);
    expect(await state()).toBe('stopped');
    expect(existsSync(`/run/netns/postfix-lab-${name}`)).toBe(false);
    await release(c);
    const ok = await cli('lab-up');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/recap: ok=1 changed=0/); // the same lab host, not a new one
    expect(await state()).toBe('running');
  }, 300_000);
});
