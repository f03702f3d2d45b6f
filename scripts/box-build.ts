// npm run box:build -- --platform el7|debian12 --provider virtualbox|libvirt: build the Vagrant box with Packer
// (cached with its sha256), then add it to Vagrant. Parse flags, call the library, set process.exitCode.
import { Command, Option } from 'commander';
import { main } from '../src/cli/main.js';
import { addBox, buildBox, packerSource } from '../src/drivers/vagrant/box.js';
import { checkVagrant } from '../src/drivers/vagrant/prereqs.js';
import type { Accelerator } from '../src/drivers/vagrant/settings.js';

await main(async () => {
  const cmd = new Command('box:build')
    .description('Build the lab\'s Vagrant box with Packer (cached with its checksum) and add it to Vagrant.')
    .addOption(new Option('--platform <platform>', 'what the box runs').choices(['el7', 'debian12']).makeOptionMandatory())
    .addOption(new Option('--provider <provider>', 'Vagrant provider').choices(['virtualbox', 'libvirt']).makeOptionMandatory())
    .option('--name <box>', 'add the box under this name (default postfix-lab/centos-7.9 or postfix-lab/debian-12)')
    .addOption(new Option('--accelerator <accel>', 'QEMU accelerator for libvirt boxes (default: POSTFIX_LAB_ACCEL or tcg)').choices(['tcg', 'kvm', 'hvf', 'whpx']))
    .option('--iso <file>', 'el7: a local copy of CentOS-7-x86_64-Minimal-2009.iso (checked against its sha256)')
    .option('--rebuild', 'build again even when a cached box matches')
    .option('--no-add', 'only build (or find) the box file; do not add it to Vagrant')
    .option('--debug', 'show stack traces')
    .exitOverride();
  cmd.parse(process.argv.slice(2), { from: 'user' });
  const o = cmd.opts<{ platform: 'el7' | 'debian12'; provider: 'virtualbox' | 'libvirt'; name?: string; accelerator?: Accelerator; iso?: string; rebuild?: boolean; add: boolean }>();
  const progress = (m: string) => process.stderr.write(`box:build: ${m}\n`);
  packerSource(o.platform, o.provider);
  if (o.add) await checkVagrant(o.provider, 'adding the box to Vagrant');
  const box = await buildBox({ ...o, progress });
  if (o.add) await addBox(box.name, box.file, progress);
  process.stdout.write(`${box.file}\nsha256 ${box.sha256}\n${box.built ? `built in ${box.seconds.toFixed(0)} s` : 'from the cache'}${o.add ? `; added as ${box.name} (${o.provider})` : ''}\n`);
});
