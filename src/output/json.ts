/** --json: one JSON object per line; the last one is {"event":"recap",...}. */
import type { EngineEvent } from './events.js';
import type { Out } from './terminal.js';

export function jsonReporter(out: Out = process.stdout) {
  return (e: EngineEvent): void => {
    if (e.event === 'step-start') return;
    out.write(JSON.stringify(e) + '\n');
  };
}
