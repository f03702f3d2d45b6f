/**
 * Container lab hosts, measured for real (root, Debian/Ubuntu host):
 * - build_s: the base image built cold (debootstrap + bake + compressed cache), into a scratch cache so the
 *   machine's own cache is neither used nor evicted;
 * - boot_s: `up` of a new lab to SSH-ready with the base image cached (median of 3);
 * - boot5_s: five labs brought up at once, until the last answers SSH (median of 3; target: at most 3x boot_s);
 * - down_s: `down` of one running lab (median of 3).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerDriver as driver } from '../src/drivers/container/index.js';
import { ensureBaseImage, resolveMirror } from '../src/drivers/container/image.js';
import { ensurePrerequisites } from '../src/drivers/container/prereqs.js';
import { removeTree } from '../src/drivers/container/sys.js';
import type { DriverContext } from '../src/drivers/types.js';
import { loadLab, type Lab } from '../src/lab/lab-file.js';
import { labState } from '../src/lab/state.js';

const seconds = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A real lab file, loaded the way `lab:up` loads it. */
function benchLab(root: string, name: string, hostPort: number): Lab {
  const file = join(root, `${name}.lab.yml`);
  writeFileSync(file, `name: ${name}\ndriver: container\nplatform: debian12\nports:\n  - { guest: 22, host: ${hostPort} }\n`);
  return loadLab(file);
}

export async function benchLabHosts(
  opts: { runs?: number; log?: (m: string) => void } = {},
): Promise<{ build_s: number; boot_s: number; boot5_s: number; down_s: number }> {
  const runs = opts.runs ?? 3;
  const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const root = mkdtempSync(join(tmpdir(), 'postfix-lab-bench-'));
  const tag = process.pid.toString(36);
  const labs: Lab[] = [];
  const ctx = (lab: Lab): DriverContext => ({ lab, state: labState(lab.name, root), progress: () => undefined });
  const newLab = async (i: number) => {
    const lab = benchLab(root, `bench${tag}-${i}`, await freePort());
    labs.push(lab);
    return lab;
  };
  try {
    await ensurePrerequisites(log);
    const mirror = resolveMirror(benchLab(root, 'probe', 20000));

    log('lab-hosts: building the base image cold (about a minute)');
    const scratch = mkdtempSync(join(tmpdir(), 'postfix-lab-bench-image-'));
    let build_s = Number.NaN;
    let t0 = performance.now();
    try {
      await ensureBaseImage({ mirror, progress: () => undefined, cacheDir: join(scratch, 'cache'), libDir: join(scratch, 'lib') });
      build_s = seconds(t0);
    } finally {
      await removeTree(tmpdir(), scratch);
    }
    await ensureBaseImage({ mirror, progress: log }); // the machine's cache, for the warm boots below

    const boots: number[] = [];
    const downs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const lab = await newLab(i);
      t0 = performance.now();
      await driver.up(ctx(lab));
      boots.push(seconds(t0));
      t0 = performance.now();
      await driver.down(ctx(lab));
      downs.push(seconds(t0));
      log(`lab-hosts: run ${i + 1}/${runs}: boot ${boots.at(-1)} s, down ${downs.at(-1)} s`);
    }

    const boots5: number[] = [];
    for (let i = 0; i < runs; i++) {
      const five: Lab[] = [];
      for (let j = 0; j < 5; j++) five.push(await newLab(10 * (i + 1) + j));
      t0 = performance.now();
      await Promise.all(five.map((lab) => driver.up(ctx(lab))));
      boots5.push(seconds(t0));
      await Promise.all(five.map((lab) => driver.down(ctx(lab))));
      log(`lab-hosts: run ${i + 1}/${runs}: five labs at once ${boots5.at(-1)} s`);
    }

    return { build_s, boot_s: median(boots), boot5_s: median(boots5), down_s: median(downs) };
  } finally {
    for (const lab of labs) await driver.down(ctx(lab)).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
}
