/** The port plan checked against this machine before anything is made: every port free, none another lab's. */
import { createServer } from 'node:net';
import { InputError } from '../errors.js';
import { describeHolder } from '../drivers/container/holder.js';
import type { LabMeta } from '../lab/ops.js';
import { labState, listLabs, readJson } from '../lab/state.js';
import type { LearnerPlan } from './plan.js';

function tryListen(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

/** An InputError (exit 2) naming the first port that is taken, whose it is in the plan, and who holds it. */
export async function checkPlanFree(plan: LearnerPlan[], listen: string, cls: string): Promise<void> {
  const owners = new Map<number, string>();
  for (const name of listLabs()) {
    const meta = readJson<LabMeta>(labState(name).metaFile);
    for (const p of meta?.ports ?? []) owners.set(p.host, name);
  }
  for (const l of plan) {
    for (const f of l.forwards) {
      const what = `host port ${f.host} (learner ${l.learner}'s ${f.service}, forwarded to ${l.lab}:${f.guest})`;
      const lab = owners.get(f.host);
      if (lab)
        throw new InputError(
          `${what} is already lab ${lab}'s (its lab file forwards it); nothing was created`,
          `Give the class another base port (--base-port), or take lab ${lab} down first (npm run lab:down -- --name ${lab}).`,
        );
      const err = await tryListen(listen, f.host);
      if (err)
        throw new InputError(
          `${what} on ${listen} ${err === 'EADDRINUSE' ? `is already in use${describeHolder(f.host)}` : `cannot be used (${err})`}; nothing was created`,
          `Stop what listens there (\`ss -ltnp 'sport = :${f.host}'\`), or give the class another base port: npm run class:up -- --base-port N${cls === 'class' ? '' : ` --class ${cls}`} ...`,
        );
    }
  }
}
