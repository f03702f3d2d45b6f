/**
 * `course start` on a real debian12 container lab (root; run under the heavy lock): the learner's lab saved and the
 * checkpoint restored with one stop (a kill) and one boot. Afterwards the lab is at the checkpoint and served as
 * before (the forwarder watches the new boot, the network namespace is made afresh as a reboot would), and the
 * learner's snapshot, restored, brings back a file they wrote by hand (OpenSSH, as lab:ssh does) just before the
 * start, without a sync: the kill loses nothing that was written.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshArgs } from '../../src/cli/ssh-args.js';
import { courseStart } from '../../src/course/ops.js';
import { forwarderPid } from '../../src/drivers/container/forward.js';
import { portHolder } from '../../src/drivers/container/holder.js';
import { netnsName } from '../../src/drivers/container/network.js';
import { nspawnPid } from '../../src/drivers/container/nspawn.js';
import { restoreSnapshot } from '../../src/lab/checkpoints.js';
import { labLifecycle, type LabMeta } from '../../src/lab/ops.js';
import { labOnDisk } from '../../src/lab/session.js';
import { labState, readJson } from '../../src/lab/state.js';
import { Emitter } from '../../src/output/events.js';
import { writeContainerLab } from '../helpers/container-lab.js';

const isRoot = process.getuid?.() === 0;
const home = mkdtempSync(join(tmpdir(), 'plab-cstart-'));
const labFile = join(home, 'lab.yaml');
const name = 'fb-start';
const ports: [number, number, number, number] = [43150, 43151, 43152, 43153];
const o = () => ({ labFile, events: new Emitter() });

/** A command on the lab as the learner runs it: OpenSSH with the lab's key and pinned host key (lab:ssh). */
function byHand(command: string): string {
  const meta = readJson<LabMeta>(labState(name).metaFile)!;
  const r = spawnSync('ssh', sshArgs(meta.ssh!, name, [command]), { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, `${command}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const ip = (...args: string[]) => spawnSync('ip', ['-n', netnsName(name), ...args], { encoding: 'utf8' }).stdout;
const forwarderWatch = () => readJson<{ labs: Record<string, { watch: number }> }>('/run/postfix-lab/forwarder.json')?.labs[labState(name).driverDir]?.watch;

describe.skipIf(!isRoot)('course start on a real container lab: one stop, one boot', () => {
  beforeAll(async () => {
    process.env.POSTFIX_LAB_HOME = home;
    writeContainerLab(labFile, { name, ports, sections: [1] });
    // no lab yet: it is built up to the start of section 1, where lab:up takes checkpoint start-1
    expect((await courseStart({ ...o(), section: '1' })).from).toBe('built');
  }, 600_000);

  afterAll(async () => {
    await labLifecycle('down', o()).catch(() => undefined);
    delete process.env.POSTFIX_LAB_HOME;
    rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it("is at the checkpoint after the start, and the learner's snapshot brings back what they wrote by hand just before", async () => {
    const state = labState(name);
    const mark = `written by hand ${Date.now()}`;
    byHand(`echo '${mark}' > ~/by-hand.txt && sudo cp ~/by-hand.txt /etc/by-hand.txt`); // no sync: the start's kill follows at once
    ip('addr', 'add', '192.0.2.7/32', 'dev', 'lo'); // run-time state of the lab's network, which a reboot resets
    const journalBefore = readFileSync(state.journalFile, 'utf8');

    const start = await courseStart({ ...o(), section: '1' });
    expect(start.from).toBe('checkpoint');
    expect(start.saved).toMatch(/^mine-\d{8}-\d{6}$/);
    // at the checkpoint: neither file, the checkpoint's journal, a fresh network namespace
    expect(byHand('cat ~/by-hand.txt /etc/by-hand.txt 2>/dev/null; true')).toBe('');
    expect(readFileSync(state.journalFile, 'utf8')).toBe(readFileSync(join(state.dir, 'snapshots', 'start-1.journal.jsonl'), 'utf8'));
    expect(ip('-4', '-o', 'addr', 'show', 'dev', 'lo')).not.toContain('192.0.2.7');
    // served as before: the forwarder holds the lab's ports and watches the new boot (not the process that started it)
    const nspawn = nspawnPid(state.driverDir, netnsName(name));
    expect(nspawn).toBeDefined();
    expect(forwarderWatch()).toBe(nspawn);
    expect(portHolder(ports[0])?.pid).toBe(forwarderPid(state.driverDir));

    const { driver, ctx } = await labOnDisk(o());
    await restoreSnapshot({ driver, ctx, state }, start.saved!);
    expect(byHand('cat ~/by-hand.txt /etc/by-hand.txt')).toBe(`${mark}\n${mark}\n`);
    expect(readFileSync(state.journalFile, 'utf8')).toBe(journalBefore);
    expect((await driver.status(ctx)).state).toBe('running');
    expect(forwarderWatch()).toBe(nspawnPid(state.driverDir, netnsName(name)));
  }, 300_000);
});
