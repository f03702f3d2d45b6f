/**
 * npm run bench -- verify: the whole verify suite against a finished debian12 lab (brought up first if needed),
 * three runs, median wall time. Target: <= 10 s including the postscreen pause.
 */
import { Emitter } from '../src/output/events.js';
import { labUp } from '../src/lab/ops.js';
import { verifyLab } from '../src/verify/index.js';

export async function benchVerify(labFile = 'labs/debian12-container.yaml', runs = 3): Promise<Record<string, number>> {
  const recap = await labUp({ labFile, events: new Emitter() });
  if (recap.failed) throw new Error(`lab:up failed at ${recap.failedStep}: the lab is not finished, nothing to time`);
  const times: number[] = [];
  let checks = 0;
  let failed = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const report = await verifyLab({ labFile });
    times.push((performance.now() - t0) / 1000);
    checks = report.results.length;
    failed += report.summary.fail;
    for (const r of report.results.filter((x) => x.status === 'fail')) process.stdout.write(`  run ${i + 1}: ${r.id} failed: ${r.message}\n`);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  process.stdout.write(
    `verify: ${checks} checks, runs ${times.map((t) => t.toFixed(2)).join(' ')} s, median ${median.toFixed(2)} s (target <= 10 s)${failed ? `, ${failed} failures` : ''}\n`,
  );
  return { verify_s: Number(median.toFixed(2)), checks, failures: failed };
}
