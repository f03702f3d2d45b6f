/** npm run box:build: build the Vagrant box with Packer (cached with its sha256), then add it to Vagrant. */
import { addBox, buildBox, packerSource } from '../drivers/vagrant/box.js';
import { checkVagrant } from '../drivers/vagrant/prereqs.js';
import type { Accelerator } from '../drivers/vagrant/settings.js';
import type { Opts } from './table.js';

export async function boxBuild(opts: Opts): Promise<number> {
  const o = opts as {
    platform: 'el7' | 'debian12';
    provider: 'virtualbox' | 'libvirt';
    name?: string;
    accelerator?: Accelerator;
    iso?: string;
    rebuild?: boolean;
    add: boolean;
  };
  const progress = (m: string) => process.stderr.write(`box:build: ${m}\n`);
  packerSource(o.platform, o.provider);
  if (o.add) await checkVagrant(o.provider, 'adding the box to Vagrant');
  const box = await buildBox({ ...o, progress });
  if (o.add) await addBox(box.name, box.file, progress);
  process.stdout.write(
    `${box.file}\nsha256 ${box.sha256}\n${box.built ? `built in ${box.seconds.toFixed(0)} s` : 'from the cache'}${o.add ? `; added as ${box.name} (${o.provider})` : ''}\n`,
  );
  return 0;
}
