/** Driver registry. Drivers load on demand: a lab pays only for the driver it uses. */
import type { DriverName } from '../lab/lab-file.js';
import { existingHostsDriver } from './existing-hosts.js';
import type { Driver } from './types.js';

export async function getDriver(name: DriverName): Promise<Driver> {
  switch (name) {
    case 'ssh':
      return existingHostsDriver;
    case 'container':
      return (await import('./container/index.js')).containerDriver;
    case 'vagrant':
      return (await import('./vagrant/index.js')).vagrantDriver;
  }
}
