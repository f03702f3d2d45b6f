import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LabError } from '../../src/errors.js';
import { whileFrozen } from '../../src/drivers/container/freeze.js';

// a cgroup folder as the kernel shows it: cgroup.freeze written by us, cgroup.events reporting whether it took
const dirs: string[] = [];
function cgroup(events: string): string {
  const d = mkdtempSync(join(tmpdir(), 'postfix-lab-freeze-'));
  dirs.push(d);
  writeFileSync(join(d, 'cgroup.freeze'), '0');
  writeFileSync(join(d, 'cgroup.events'), events);
  return join(d, 'cgroup.freeze');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('holding a lab still for a snapshot', () => {
  it('runs the copy only once the cgroup reports frozen, and thaws it afterwards', async () => {
    const f = cgroup('populated 1\nfrozen 1\n');
    const seen = await whileFrozen('l', f, async () => readFileSync(f, 'utf8'));
    expect(seen).toBe('1');
    expect(readFileSync(f, 'utf8')).toBe('0');
  });

  it('thaws the lab when the copy fails', async () => {
    const f = cgroup('populated 1\nfrozen 1\n');
    await expect(whileFrozen('l', f, async () => Promise.reject(new Error('copy failed')))).rejects.toThrow('copy failed');
    expect(readFileSync(f, 'utf8')).toBe('0');
  });

  it('gives up with a hint, copying nothing, when the lab does not freeze in time', async () => {
    const f = cgroup('populated 1\nfrozen 0\n');
    let copied = false;
    const e = await whileFrozen(
      'l',
      f,
      async () => {
        copied = true;
      },
      50,
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).message).toMatch(/lab l could not be held still/);
    expect((e as LabError).hint).toMatch(/lab:halt/);
    expect(copied).toBe(false);
    expect(readFileSync(f, 'utf8')).toBe('0');
  });
});
