/** Driver registry. */
import { LabError } from '../errors.js';
import type { DriverName } from '../lab-file.js';
import { sshDriver } from './ssh.js';
import type { Driver } from './types.js';

export async function getDriver(name: DriverName): Promise<Driver> {
  switch (name) {
    case 'ssh':
      return sshDriver;
    case 'container': {
      const mod = await import('./container/index.js').catch(() => undefined) as { containerDriver?: Driver } | undefined;
      if (mod?.containerDriver) return mod.containerDriver;
      throw new LabError('the container driver is not available in this build', 'Use driver: ssh with an existing host (labs/ssh-hosts.yaml).', 2);
    }
    case 'vagrant':
      throw new LabError('the vagrant driver is not available yet in this version of postfix-lab',
        'Use the container driver (driver: container, platform debian12) or existing hosts (driver: ssh); `--dry-run --platform el7` shows the el7 plan.', 2);
  }
}
