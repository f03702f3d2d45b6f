/**
 * The whole lab, for real: a debian12 container lab host, every step of the runbook, a second run that changes
 * nothing, verify passing, each kind of check made to fail by one specific break and pass again after the repair,
 * and halt + up bringing everything back. Slow (minutes): it installs Postfix, Dovecot and rsyslog for real.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import type { Host } from '../../src/host.js';
import { labLifecycle, labUp } from '../../src/lab/ops.js';
import { connectSsh } from '../../src/ssh/executor.js';
import { labState, readJson } from '../../src/lab/state.js';
import type { LabMeta } from '../../src/lab/ops.js';
import { verifyLab, type VerifyReport } from '../../src/verify/index.js';
import { writeContainerLab } from '../helpers/container-lab.js';
import { loadBreaks } from '../../src/course/breaks.js';

const { breaks } = loadBreaks();

const home = mkdtempSync(join(tmpdir(), 'plab-acc-'));
const labFile = join(home, 'lab.yaml');
const name = 'acc-deb12';
let host: Host | undefined;

const quiet = () => new Emitter();
const failed = (r: VerifyReport) =>
  r.results
    .filter((x) => x.status === 'fail')
    .map((x) => x.id)
    .sort();
const explain = (r: VerifyReport) =>
  r.results
    .filter((x) => x.status !== 'pass')
    .map((x) => `${x.id}: ${x.message}`)
    .join('\n');

async function sh(cmd: string) {
  if (!host) {
    const meta = readJson<LabMeta>(labState(name).metaFile)!;
    host = await connectSsh(meta.ssh!, { knownHostsFile: labState(name).knownHostsFile });
  }
  const r = await host.exec(cmd, { sudo: true, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function up() {
  const events: EngineEvent[] = [];
  const recap = await labUp({ labFile, events: new Emitter().on((e) => events.push(e)), noCheckpoints: true }); // checkpoints: the track test
  const failures = events.flatMap((e) => (e.event === 'step' && e.status === 'failed' ? [`${e.id}: ${e.detail} ${e.hint ?? ''}`] : []));
  const changed = events.flatMap((e) => (e.event === 'step' && e.status === 'changed' ? [e.id] : []));
  return { recap, failures, changed };
}

beforeAll(() => {
  process.env.POSTFIX_LAB_HOME = home;
  writeContainerLab(labFile, { name, ports: [31525, 31587, 31465, 32025], sections: 'all' });
});

afterAll(async () => {
  await host?.close();
  await labLifecycle('down', { labFile, events: quiet() }).catch(() => undefined);
  delete process.env.POSTFIX_LAB_HOME;
});

describe.sequential('a debian12 lab in a container', () => {
  it('lab:up runs every step of the runbook without a failure', async () => {
    const { recap, failures } = await up();
    expect(failures).toEqual([]);
    expect(recap.failed).toBe(0);
    expect(recap.changed).toBeGreaterThan(30);
  }, 1_800_000);

  it('a second lab:up changes nothing', async () => {
    const { recap, changed } = await up();
    expect(changed).toEqual([]);
    expect(recap).toMatchObject({ changed: 0, failed: 0, skipped: 0 });
  }, 600_000);

  it('verify passes every check', async () => {
    const report = await verifyLab({ labFile });
    expect(explain(report)).toBe('');
    expect(report.summary.fail).toBe(0);
  }, 300_000);

  it.each(breaks)(
    'verify catches a broken $kind check ($what), and passes again after the repair',
    async (b) => {
      await sh(b.break);
      try {
        const broken = await verifyLab({ labFile });
        expect(failed(broken), explain(broken)).toEqual([...b.fails].sort());
        for (const r of broken.results.filter((x) => x.status === 'fail')) expect(r.hint.length).toBeGreaterThan(5);
      } finally {
        await sh(b.repair);
      }
      const repaired = await verifyLab({ labFile });
      expect(explain(repaired)).toBe('');
    },
    300_000,
  );

  it('halt, then up, brings both Postfix instances, Dovecot and rsyslog back', async () => {
    await host?.close();
    host = undefined;
    await labLifecycle('halt', { labFile, events: quiet() });
    const { recap } = await up();
    expect(recap).toMatchObject({ changed: 0, failed: 0 });
    const report = await verifyLab({ labFile });
    expect(explain(report)).toBe('');
  }, 900_000);

  it('a burst of mail log lines reaches /var/log/maillog whole: journald drops none on its way to rsyslog', async () => {
    // At the kernel's default datagram queue (10, what a new network namespace starts with) this loses ~15%.
    const tag = `burst-${Date.now()}`;
    await sh(`seq 5000 | sed 's/^/${tag} /' | logger -p mail.info`);
    let count = 0;
    for (let i = 0; i < 20 && count < 5000; i++) {
      await new Promise((r) => setTimeout(r, 500));
      count = Number((await sh(`grep -c -- ${tag} /var/log/maillog || true`)).trim());
    }
    expect(count).toBe(5000);
  }, 120_000);
});
