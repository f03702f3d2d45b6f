import { defineConfig } from 'vitest/config';

// The slow end-to-end VM suite: Packer builds the debian12 box under TCG, Vagrant boots it on a libvirt that the
// suite starts in its own network namespace, lab:up provisions it, verify checks it. Budget: 15 minutes a test;
// the box build (skipped when the cached box matches its inputs) is a test with a timeout of its own.
export default defineConfig({
  test: {
    include: ['test/vm/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
