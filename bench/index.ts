/** Benchmarks, reported as ratios against what users would pick instead; never timed tests. */
import { InputError } from '../src/errors.js';

const benches: Record<string, { about: string; run: () => Promise<Record<string, number>> }> = {
  'ssh-steps': {
    about: 'N trivial steps over SSH: the engine vs OpenSSH, ControlMaster, Ansible (pipelining) and one batched script',
    run: async () => (await import('./ssh-steps.js')).benchSshSteps({ counts: [20, 100] }),
  },
  'lab-hosts': {
    about: 'container lab hosts: base image build, boot to SSH-ready for 1 and 5 labs, down',
    run: async () => (await import('./lab-hosts.js')).benchLabHosts() as unknown as Promise<Record<string, number>>,
  },
  verify: {
    about: 'the whole verify suite on a finished debian12 container lab (brought up first if needed)',
    run: async () => (await import('./verify.js')).benchVerify(),
  },
};

export async function runBench(args: string[]): Promise<number> {
  const name = args.find((a) => !a.startsWith('-'));
  const bench = name ? benches[name] : undefined;
  if (!bench) {
    throw new InputError(name ? `no benchmark named ${name}` : 'name a benchmark',
      `Benchmarks: ${Object.entries(benches).map(([k, v]) => `${k} (${v.about})`).join('; ')}. Example: npm run bench -- ssh-steps`);
  }
  const result = await bench.run();
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}
