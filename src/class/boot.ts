/**
 * A clone's first boot for class:up: the lab lock, the driver's up (disk, network, nspawn, forwarder, sshd), one SSH
 * connection (which pins the lab's host key), the wait for the boot to finish, and the lab's own name asked back.
 * What `withSession` does less the runbook's plan and journal, which a boot does not need (loading the roles costs
 * each of ten learners CPU the class is short of).
 */
import { LabError } from '../errors.js';
import { waitForBoot } from '../lab/connection.js';
import { lockLab } from '../lab/lock.js';
import { labOnDisk } from '../lab/session.js';
import { Emitter } from '../output/events.js';
import { connectSsh } from '../ssh/executor.js';
import type { SshTarget } from '../ssh/target.js';

export async function bootClone(labFile: string, name: string): Promise<SshTarget> {
  const events = new Emitter();
  const { lab, state, driver, ctx } = await labOnDisk({ labFile, events });
  const unlock = lockLab(state.dir, lab.name);
  try {
    const up = await driver.up(ctx);
    const target = up.targets[0];
    if (!target || up.created)
      throw new LabError(`lab ${name}: the driver made a new host instead of booting the clone`, 'Run class:down, then class:up again.');
    const host = await connectSsh(target, { knownHostsFile: state.knownHostsFile });
    try {
      await waitForBoot(host, events);
      const r = await host.exec('hostname', {});
      if (r.stdout.trim() !== name) throw new LabError(`lab ${name} booted as ${r.stdout.trim()}`, 'Run class:up again.');
    } finally {
      await host.close().catch(() => undefined);
    }
    return target;
  } finally {
    unlock();
  }
}
