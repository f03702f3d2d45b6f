/**
 * Layered snapshots on a real debian12 container lab (root; run under the heavy lock): files, deletes of base-image
 * files, whiteouts and opaque folders across layers (one saved stopped, one saved running); restore of each snapshot; removal of unreferenced layers; an
 * old-format (copied upper) snapshot; a layers folder leading outside refused.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layout } from '../../src/drivers/container/disk.js';
import { containerDriver as driver } from '../../src/drivers/container/index.js';
import { readStack } from '../../src/drivers/container/layers.js';
import { PathOutside } from '../../src/lab/names.js';
import { bareLab } from '../helpers/bare-lab.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const lab = bareLab('ly');
const { root, ctx, sh } = lab;
const d = layout(ctx.state.driverDir, root);
const snap = (action: 'save' | 'restore' | 'delete', n: string) => driver.snapshot!(ctx, action, n);

describe.skipIf(!isRoot)('layered snapshots on a real container lab', () => {
  beforeAll(() => lab.up(), 300_000);
  afterAll(() => lab.down(), 120_000);

  it('restores each snapshot with its files, deletes, whiteouts and opaque folders across layers', async () => {
    await sh('rm /etc/issue.net; mkdir -p /srv/d; echo 1 > /srv/d/one; echo A > /root/m');
    await driver.halt(ctx);
    await snap('save', 'A'); // layer 1 (a stopped lab's upper, frozen): a base file deleted (whiteout), a folder made
    await lab.up();
    await sh('rm -r /srv/d; mkdir /srv/d; echo 2 > /srv/d/two; echo again > /etc/issue.net; echo B > /root/m');
    await snap('save', 'B'); // layer 2 (a running lab's upper, copied): the folder recreated (opaque), the deleted base file back
    await sh('rm /etc/issue.net; echo after > /root/after');
    await snap('restore', 'A');
    expect(await sh('cat /root/m; ls /srv/d; test -e /etc/issue.net || echo no-issue; test -e /root/after || echo no-after')).toBe(
      'A\none\nno-issue\nno-after\n',
    );
    await snap('restore', 'B');
    expect(await sh('cat /root/m; ls /srv/d; cat /etc/issue.net; test -e /root/after || echo no-after')).toBe('B\ntwo\nagain\nno-after\n');
    expect(readStack(d).layers).toHaveLength(2);
  }, 300_000);

  it('removes layers no snapshot refers to', async () => {
    const before = readdirSync(d.layers).sort();
    await snap('delete', 'B');
    await snap('restore', 'A');
    const after = readdirSync(d.layers);
    expect(after).toEqual(readStack(d).layers);
    expect(after.length).toBe(before.length - 1);
  }, 300_000);

  it('restores an old-format snapshot (a copied upper)', async () => {
    await sh('echo old > /root/m');
    await driver.halt(ctx);
    mkdirSync(join(d.snapshots, 'old'), { recursive: true });
    // what the copy-based snapshot made: the merged writable data (here: the stack and upper of a one-layer lab)
    await run('cp', ['-a', join(d.layers, readStack(d).layers[0]!), join(d.snapshots, 'old', 'upper')]);
    // the upper over it, as overlayfs merges them: an entry of the upper replaces the layer's (a whiteout or a file
    // over a folder, a folder over a file), then it is copied
    const merge = `cd ${d.upper} && find . -mindepth 1 ! -type d -print0 | (cd ${join(d.snapshots, 'old', 'upper')} && xargs -0r rm -rf --) && find . -mindepth 1 -type d -print0 | (cd ${join(d.snapshots, 'old', 'upper')} && xargs -0r sh -c 'for p; do [ -d "$p" ] || rm -f -- "$p"; done' sh)`;
    await run('sh', ['-c', merge]);
    await run('cp', ['-a', `${d.upper}/.`, join(d.snapshots, 'old', 'upper')]);
    writeFileSync(join(d.snapshots, 'old', 'snapshot.json'), '{"name":"old","taken":"2026-01-01T00:00:00Z"}\n');
    await driver.up(ctx);
    await sh('echo new > /root/m');
    await snap('restore', 'old');
    expect(await sh('cat /root/m; ls /srv/d')).toBe('old\none\n');
  }, 300_000);

  it('refuses a layers folder that leads outside the state home', async () => {
    const outside = mkdtempSync('/tmp/postfix-lab-ly-out-');
    writeFileSync(join(outside, 'keep'), 'x');
    await driver.halt(ctx);
    renameSync(d.layers, join(root, 'layers-real')); // the lab is removed afterwards
    symlinkSync(outside, d.layers);
    await expect(snap('save', 'C')).rejects.toBeInstanceOf(PathOutside);
    expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('x');
    rmSync(outside, { recursive: true });
  }, 300_000);
});
