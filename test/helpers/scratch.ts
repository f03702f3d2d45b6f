/** Test cleanup goes through the same rule as the tool's own removals: only what is really inside the temp folder. */
import { tmpdir } from 'node:os';
import { removeInside } from '../../src/lab/names.js';

export function removeScratch(path: string): void {
  removeInside(tmpdir(), path);
}
