/**
 * Saving a running container lab (root; run under the heavy lock): the lab is held still for the copy, never
 * stopped, and the snapshot is that instant: what the lab writes afterwards (in place, by rename, a real dpkg
 * install) is gone after a restore, the files the snapshot shares by hard links included. A lab left frozen by an
 * interrupted save runs again on the next lab:up.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freezeFile } from '../../src/drivers/container/freeze.js';
import { containerDriver as driver } from '../../src/drivers/container/index.js';
import { labRef } from '../../src/drivers/container/lifecycle.js';
import { bareLab } from '../helpers/bare-lab.js';

const isRoot = process.getuid?.() === 0;
const lab = bareLab('lv');
const { ctx, said, sh } = lab;

// a package of our own, so that the lab's real dpkg writes its status, info files and /usr after the save
const PACKAGE = [
  'mkdir -p /root/p/DEBIAN /root/p/usr/share/live-probe',
  'printf "Package: live-probe\\nVersion: 1\\nArchitecture: all\\nMaintainer: lab <lab@lab.example>\\nDescription: probe\\n" > /root/p/DEBIAN/control',
  'echo probe > /root/p/usr/share/live-probe/a',
  'dpkg-deb -b /root/p /root/live-probe.deb >/dev/null',
].join('; ');
const STATE =
  'cat /proc/sys/kernel/random/boot_id; cat /srv/l/f /var/log/live.log /var/lib/dpkg/live-mark; sha256sum < /var/lib/dpkg/status; dpkg -s live-probe >/dev/null 2>&1 && echo installed || echo absent';

describe.skipIf(!isRoot)('a running container lab saved as it runs', () => {
  beforeAll(() => lab.up(), 300_000);
  afterAll(() => lab.down(), 120_000);

  it('keeps the lab running, and a restore brings back that instant, whatever the lab wrote afterwards', async () => {
    await sh(`${PACKAGE}; mkdir -p /srv/l; echo before > /srv/l/f; echo before > /var/log/live.log; echo before > /var/lib/dpkg/live-mark`);
    await sh('nohup sleep 600 >/dev/null 2>&1 &');
    const sleeper = (await sh('pgrep -xf "sleep 600"')).trim();
    const at = await sh(STATE);
    expect(at).toMatch(/before\nbefore\nbefore\n[0-9a-f]{64} {2}-\nabsent\n$/);
    said.length = 0;
    await driver.snapshot!(ctx, 'save', 'L');
    expect(said.join('\n')).not.toMatch(/stopping|booting/);
    // never stopped: the same boot, and a process started before the save still runs
    expect((await sh('cat /proc/sys/kernel/random/boot_id')).trim()).toBe(at.split('\n')[0]);
    expect(await sh(`kill -0 ${sleeper} && echo alive`)).toBe('alive\n');
    // afterwards: appends in place (a copied folder and var/log), a replace by rename in a linked folder, a real install
    await sh(
      'echo after >> /srv/l/f; echo after >> /var/log/live.log; echo after > /var/lib/dpkg/live-mark.new && mv /var/lib/dpkg/live-mark.new /var/lib/dpkg/live-mark',
    );
    await sh('dpkg -i /root/live-probe.deb >/dev/null');
    expect(await sh(`${STATE}; cat /usr/share/live-probe/a`)).toMatch(/installed\nprobe\n$/);
    await driver.snapshot!(ctx, 'restore', 'L');
    const back = (await sh(`${STATE}; test -e /usr/share/live-probe || echo no-files`)).split('\n');
    expect(back.slice(1).join('\n')).toBe(`${at.split('\n').slice(1, -1).join('\n')}\nno-files\n`);
  }, 300_000);

  it('runs a lab an interrupted save left frozen again on the next up', async () => {
    const freeze = freezeFile(labRef(ctx.state).netns);
    expect(freeze).toBeDefined();
    writeFileSync(freeze!, '1'); // what a save killed between freeze and thaw leaves
    said.length = 0;
    await driver.up(ctx);
    expect(said.join('\n')).toMatch(/left frozen by an interrupted snapshot/);
    expect(readFileSync(freeze!, 'utf8').trim()).toBe('0');
    expect(await sh('echo answers')).toBe('answers\n');
  }, 300_000);
});
