/**
 * A bare debian12 container lab (no runbook) for tests of the driver itself: its own state home under /tmp, a
 * lab file, the driver's context (what it says is kept in `said`) and root commands in the lab over OpenSSH.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { containerDriver as driver } from '../../src/drivers/container/index.js';
import type { DriverContext } from '../../src/drivers/types.js';
import { loadLab } from '../../src/lab/lab-file.js';
import { labState } from '../../src/lab/state.js';
import type { SshTarget } from '../../src/ssh/target.js';

const run = promisify(execFile);

export function bareLab(prefix: string) {
  const root = mkdtempSync(`/tmp/postfix-lab-${prefix}-`);
  process.env.POSTFIX_LAB_HOME = root;
  const file = join(root, 'lab.yml');
  writeFileSync(file, `name: ${prefix}-sn${process.pid.toString(36).slice(-4)}\ndriver: container\nplatform: debian12\n`);
  const lab = loadLab(file);
  const said: string[] = [];
  const ctx: DriverContext = { lab, state: labState(lab.name, root), progress: (m) => said.push(m) };
  let t: SshTarget | undefined;
  return {
    root,
    ctx,
    said,
    /** Make or boot the lab. */
    async up(): Promise<void> {
      t = (await driver.up(ctx)).targets[0]!;
    },
    /** A root shell command in the lab; its stdout. */
    async sh(command: string): Promise<string> {
      if (!t) throw new Error('bareLab: up() first');
      const args = [
        '-i',
        t.identityFile,
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
      ];
      const { stdout } = await run('ssh', [...args, `vagrant@${t.host}`, `sudo sh -c ${JSON.stringify(command)}`]);
      return stdout;
    },
    async down(): Promise<void> {
      await driver.down(ctx).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
