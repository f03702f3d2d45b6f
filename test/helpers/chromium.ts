/**
 * Debian's headless Chromium for tests of rendered pages: one run per page (DOM dump and screenshot together), its
 * own profile folder, ended by its process group (its PID) only; and what a screenshot looks like.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { onPath } from '../../src/lab/lab-file.js';

export const CHROMIUM = ['chromium', 'chromium-browser'].find((c) => onPath(c));
const started = new Set<ChildProcess>();
const endGroup = (c: ChildProcess) => {
  try {
    process.kill(-c.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
};

/** End every Chromium this helper started and that is still running (afterAll). */
export function endChromiums(): void {
  for (const c of started) endGroup(c);
}

/** One headless Chromium run (a page to dump or to photograph); ends its whole process group afterwards. */
export function chromium(scratch: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(scratch, 'profile-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-extensions',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-pings',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
  ];
  const child = spawn(CHROMIUM!, [...flags, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: profile } });
  started.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      endGroup(child);
      fail(new Error(`chromium ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      endGroup(child); // helpers it left behind, if any
      started.delete(child);
      done({ code, stdout, stderr });
    });
  });
}

/** How a screenshot looks: its size, how many colours, how much is not white, the colour at the top left. */
export function picture(file: string) {
  const png = PNG.sync.read(readFileSync(file));
  const colours = new Set<number>();
  let inked = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    colours.add((r << 16) | (g << 8) | b);
    if (r + g + b < 720) inked++;
  }
  const top = [png.data[(5 * png.width + 5) * 4]!, png.data[(5 * png.width + 5) * 4 + 1]!, png.data[(5 * png.width + 5) * 4 + 2]!];
  return { width: png.width, height: png.height, colours: colours.size, inked: inked / (png.width * png.height), top };
}
