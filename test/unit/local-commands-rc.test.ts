import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/drivers/local/commands.js';

// Debian's bash reads ~/.bashrc when its stdin is a socket (node's pipes are socketpairs) and SHLVL is below 2
// (bash's SSH_SOURCE_BASHRC): a heavy .bashrc (pyenv init: 0.8 s) would then run before every driver command.
const home = mkdtempSync(join(tmpdir(), 'postfix-lab-rc-'));
const marker = join(home, 'bashrc-ran');
writeFileSync(join(home, '.bashrc'), `touch ${marker}\n`);
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('commands on this machine', () => {
  it("do not run the user's ~/.bashrc, whatever SHLVL the caller was started with", async () => {
    for (const SHLVL of ['0', undefined]) {
      const env = { ...process.env, HOME: home, SHLVL };
      const { run } = commands({ env });
      expect(await run`echo ${'ran'}`).toBe('ran\n');
      expect(existsSync(marker)).toBe(false);
    }
  });
});
