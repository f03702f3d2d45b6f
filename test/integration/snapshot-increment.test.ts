/**
 * A running container lab saved again and again (root; run under the heavy lock): each save after the first holds
 * only what changed since the one before, on that one's layers, and every save restores to exactly the lab it was:
 * files changed in place and by rename, files and folders removed (from the lab's own upper and from the base
 * image), a folder removed and made again, a package installed and removed by the lab's real dpkg.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerDriver as driver } from '../../src/drivers/container/index.js';
import { labRef } from '../../src/drivers/container/lifecycle.js';
import { bareLab } from '../helpers/bare-lab.js';

const isRoot = process.getuid?.() === 0;
const lab = bareLab('li');
const { ctx, sh } = lab;

const PACKAGE = [
  'mkdir -p /root/p/DEBIAN /root/p/usr/share/inc-probe/d',
  'printf "Package: inc-probe\\nVersion: 1\\nArchitecture: all\\nMaintainer: lab <lab@lab.example>\\nDescription: probe\\n" > /root/p/DEBIAN/control',
  'echo probe > /root/p/usr/share/inc-probe/a; echo deep > /root/p/usr/share/inc-probe/d/b',
  'dpkg-deb -b /root/p /root/inc-probe.deb >/dev/null',
].join('; ');
// what the lab looks like: every entry's path, type, mode, owner and size, and every file's content
const DIRS = '/srv/i /etc/issue.net /etc/issue /usr/share/inc-probe /usr/share/doc/sudo /var/lib/dpkg/info /var/lib/dpkg/status';
const STATE = `find ${DIRS} -xdev -printf '%p %y %m %U %s\\n' 2>/dev/null | sort; find ${DIRS} -xdev -type f -exec md5sum {} + 2>/dev/null | sort`;

const snapshotLayers = (name: string): string[] => JSON.parse(readFileSync(join(labRef(ctx.state).disk.snapshots, name, 'snapshot.json'), 'utf8')).layers;
const layerFiles = (id: string): string[] => {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      out.push(`${rel}${e.name}`);
      if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
    }
  };
  walk(join(labRef(ctx.state).disk.layers, id), '');
  return out;
};

const isWhiteout = (id: string, rel: string) => {
  const st = lstatSync(join(labRef(ctx.state).disk.layers, id, rel));
  return st.isCharacterDevice() && st.rdev === 0;
};

describe.skipIf(!isRoot)('a running container lab saved again and again', () => {
  beforeAll(() => lab.up(), 300_000);
  afterAll(() => lab.down(), 120_000);

  it('stacks only what changed on the save before, and each save restores to that instant', async () => {
    await sh(
      `${PACKAGE}; mkdir -p /srv/i/old /srv/i/re /srv/i/same; echo 1 > /srv/i/f; echo gone > /srv/i/gone; echo o > /srv/i/old/a; echo o > /srv/i/re/o; echo s > /srv/i/same/s`,
    );
    const states: Record<string, string> = {};
    await driver.snapshot!(ctx, 'save', 'A');
    states.A = await sh(STATE);
    // in place and by rename, removed from the upper and from the base image, a folder made anew, a real install
    await sh(
      'echo 2 >> /srv/i/f; rm /srv/i/gone; rm -r /srv/i/old; rm -r /srv/i/re; mkdir /srv/i/re; echo n > /srv/i/re/n; ' +
        'mkdir -p /srv/i/new/deep; echo d > /srv/i/new/deep/x; chmod 600 /srv/i/same/s; rm /etc/issue.net; ' +
        'echo x > /etc/issue.tmp && mv /etc/issue.tmp /etc/issue; dpkg -i /root/inc-probe.deb >/dev/null',
    );
    await driver.snapshot!(ctx, 'save', 'B');
    states.B = await sh(STATE);
    await sh('dpkg -r inc-probe >/dev/null; rm /usr/share/doc/sudo/copyright; echo 3 >> /srv/i/f; rm -r /srv/i/new');
    await driver.snapshot!(ctx, 'save', 'C');
    states.C = await sh(STATE);
    await driver.snapshot!(ctx, 'save', 'D'); // nothing changed since C
    expect(states.B).toMatch(/\/usr\/share\/inc-probe\/d\/b f/);
    expect(states.C).not.toMatch(/inc-probe\/a|issue\.net|doc\/sudo\/copyright /);

    // B and C each add one layer on the save before; D adds none
    const [a, b, c, dd] = ['A', 'B', 'C', 'D'].map(snapshotLayers);
    expect(b!.slice(1)).toEqual(a);
    expect(c!.slice(1)).toEqual(b);
    expect(dd).toEqual(c);
    // B's layer holds what changed (a whiteout for what went), not what did not
    const inB = layerFiles(b![0]!);
    expect(inB).toEqual(
      expect.arrayContaining(['srv/i/f', 'srv/i/re/n', 'srv/i/new/deep/x', 'srv/i/gone', 'srv/i/old', 'etc/issue.net', 'usr/share/inc-probe/d/b']),
    );
    expect(inB).not.toContain('root/p/DEBIAN/control'); // made before A, unchanged since
    for (const gone of ['srv/i/gone', 'srv/i/old', 'srv/i/re/o', 'etc/issue.net']) expect(isWhiteout(b![0]!, gone), gone).toBe(true);
    expect(layerFiles(c![0]!)).not.toContain('srv/i/same/s');

    for (const name of ['A', 'C', 'B', 'D']) {
      await driver.snapshot!(ctx, 'restore', name);
      expect(await sh(STATE), `restored ${name}`).toBe(states[name === 'D' ? 'C' : name]);
    }
  }, 600_000);
});
