import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The slow VM suite (Packer + Vagrant + libvirt under TCG) runs on its own: npm run test:vm (vitest.vm.config.ts).
    exclude: [...configDefaults.exclude, 'test/vm/**'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Integration suites boot real sshd and lab hosts: one file at a time keeps them from fighting over 2 cores.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
