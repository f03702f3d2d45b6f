/** Layered container snapshots: the stack bookkeeping, crash settling, gc and the mount option limit (no mounts). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layout } from '../../src/drivers/container/disk.js';
import { deleteSnapshot, gc, listSnapshots, readStack, restoreSnapshot, saveSnapshot, settleDisk, stackPaths } from '../../src/drivers/container/layers.js';
import { checkedOverlayOptions, layersThatFit, settle, unreferenced } from '../../src/drivers/container/stack.js';
import { LabError } from '../../src/errors.js';
import { PathOutside } from '../../src/lab/names.js';

function disk() {
  const home = mkdtempSync(join(tmpdir(), 'ly-layers-'));
  const d = layout(join(home, 'lab', 'driver'), home);
  mkdirSync(d.upper, { recursive: true });
  return { home, d };
}
const write = (dir: string, f: string, s: string) => writeFileSync(join(dir, f), s);

describe('snapshot stack bookkeeping', () => {
  it('settles a freeze by whether its rename happened, and a restore forwards', () => {
    const s = { layers: ['b0000000'], pending: { op: 'freeze' as const, id: 'a0000000' } };
    expect(settle(s, { layerExists: () => false })).toEqual({ do: 'drop-intent', record: { layers: ['b0000000'] } });
    expect(settle(s, { layerExists: () => true })).toEqual({ do: 'finish-freeze', record: { layers: ['a0000000', 'b0000000'] } });
    expect(settle({ layers: ['x0000000'], pending: { op: 'restore', layers: ['b0000000'] } }, { layerExists: () => true })).toEqual({
      do: 'finish-restore',
      record: { layers: ['b0000000'] },
    });
    expect(settle({ layers: [] }, { layerExists: () => true }).do).toBe('nothing');
  });

  it('keeps every layer a stack, an intent or a snapshot refers to', () => {
    const stack = { layers: ['s1000000'], pending: { op: 'freeze' as const, id: 'p1000000' } };
    const snaps = [
      { name: 'A', taken: '', layers: ['a1000000', 's1000000'] },
      { name: 'old', taken: '' },
    ];
    expect(unreferenced(['a1000000', 's1000000', 'p1000000', 'zz000000', 'q.tmp'], stack, snaps)).toEqual(['q.tmp', 'zz000000']);
  });

  it('refuses a stack too deep for one page of mount options, saying how many layers fit', () => {
    const p = { base: '/var/lib/postfix-lab/images/abc/rootfs', upper: '/work/.lab/x/driver/disk/upper', work: '/work/.lab/x/driver/disk/work' };
    const layer = '/work/.lab/x/driver/layers/mx5c5snmajh';
    const fit = layersThatFit(p, layer);
    expect(fit).toBeGreaterThan(40);
    expect(() => checkedOverlayOptions({ ...p, layers: Array(fit).fill(layer) })).not.toThrow();
    expect(() => checkedOverlayOptions({ ...p, layers: Array(fit + 1).fill(layer) })).toThrow(LabError);
    expect(() => checkedOverlayOptions({ ...p, layers: Array(fit + 1).fill(layer) })).toThrow(new RegExp(`about ${fit} layers fit`));
  });
});

describe('layered snapshots on disk folders', () => {
  it('save freezes the upper (moved, not copied), restore swaps the stack, gc removes what nothing refers to', async () => {
    const { d } = disk();
    write(d.upper, 'f', 'A');
    await saveSnapshot(d, 'A');
    const [a] = readStack(d).layers;
    expect(readFileSync(join(d.layers, a!, 'f'), 'utf8')).toBe('A');
    expect(existsSync(join(d.upper, 'f'))).toBe(false);
    write(d.upper, 'f', 'B');
    await saveSnapshot(d, 'B');
    expect(readStack(d).layers).toHaveLength(2);
    write(d.upper, 'g', 'later');
    await restoreSnapshot(d, 'A');
    expect(readStack(d).layers).toEqual([a]);
    expect(existsSync(join(d.upper, 'g'))).toBe(false);
    expect(listSnapshots(d)).toEqual(['A', 'B']);
    await deleteSnapshot(d, 'B');
    expect(listSnapshots(d)).toEqual(['A']);
    expect(await gc(d)).toEqual([]); // B's own layer went with it
    expect(existsSync(d.layers) && (await import('node:fs')).readdirSync(d.layers)).toEqual([a]);
  });

  it('an interrupted save (intent written, upper moved, no new record) is finished with the data kept', async () => {
    const { d } = disk();
    write(d.upper, 'f', 'data');
    mkdirSync(join(d.layers, 'abcdef12'), { recursive: true });
    writeFileSync(d.stack, JSON.stringify({ layers: [], pending: { op: 'freeze', id: 'abcdef12' } }));
    (await import('node:fs')).renameSync(d.upper, join(d.layers, 'abcdef12', 'x')); // stand-in: the data sits in the layer
    await settleDisk(d);
    expect(readStack(d)).toEqual({ layers: ['abcdef12'] });
    expect(existsSync(d.upper)).toBe(true);
    expect(readFileSync(join(d.layers, 'abcdef12', 'x', 'f'), 'utf8')).toBe('data');
  });

  it('converts an old-format (copied upper) snapshot on restore', async () => {
    const { d } = disk();
    mkdirSync(join(d.snapshots, 'old', 'upper'), { recursive: true });
    write(join(d.snapshots, 'old', 'upper'), 'f', 'old');
    writeFileSync(join(d.snapshots, 'old', 'snapshot.json'), '{"name":"old","taken":"t"}\n');
    expect(listSnapshots(d)).toEqual(['old']);
    await restoreSnapshot(d, 'old');
    const [l] = readStack(d).layers;
    expect(readFileSync(join(d.layers, l!, 'f'), 'utf8')).toBe('old');
    expect(existsSync(join(d.snapshots, 'old', 'upper'))).toBe(false);
    expect(listSnapshots(d)).toEqual(['old']);
  });

  it('a layers folder that leads outside is refused; a planted symlink layer is removed, its target untouched', async () => {
    const { home, d } = disk();
    const outside = mkdtempSync(join(tmpdir(), 'ly-outside-'));
    write(outside, 'keep', 'x');
    symlinkSync(outside, d.layers);
    await expect(saveSnapshot(d, 'A')).rejects.toBeInstanceOf(PathOutside);
    expect(existsSync(d.upper)).toBe(true); // nothing moved
    const { d: d2 } = disk();
    mkdirSync(d2.layers, { recursive: true });
    symlinkSync(outside, join(d2.layers, 'evil0000'));
    expect(await gc(d2)).toEqual(['evil0000']);
    expect(readFileSync(join(outside, 'keep'), 'utf8')).toBe('x');
    writeFileSync(d2.stack, JSON.stringify({ layers: ['evil0000'] }));
    symlinkSync(outside, join(d2.layers, 'evil0000'));
    expect(() => stackPaths(d2, readStack(d2))).toThrow(/missing or not a folder/); // never mounted as a layer
    expect(home).toBeTruthy();
  });
});
