import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Integration suites boot real sshd and lab hosts: one file at a time keeps them from fighting over 2 cores.
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
