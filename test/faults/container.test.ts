/**
 * A lost connection during a real package install, and a dpkg run left half-done, on a real debian12 container lab
 * running section 1 of the runbook. The engine reaches the lab through a TCP proxy on loopback that the test
 * cuts. Boots one container lab: run under the heavy lock with the other container suites.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import type { Host } from '../../src/host.js';
import { labLifecycle, type LabMeta, labUp } from '../../src/lab/ops.js';
import { connectSsh } from '../../src/ssh/executor.js';
import { labState, readJson } from '../../src/lab/state.js';
import { verifyLab } from '../../src/verify/index.js';
import { writeContainerLab } from '../helpers/container-lab.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const home = mkdtempSync(join(tmpdir(), 'plab-flt-ct-'));
const labFile = join(home, 'lab.yaml');
const name = 'flt-deb12';
let proxy: TcpProxy | undefined;
let host: Host | undefined;

beforeAll(() => {
  process.env.POSTFIX_LAB_HOME = home;
  writeContainerLab(labFile, { name, ports: [42525, 42587, 42465, 42025], sections: [1] });
});

afterAll(async () => {
  await host?.close();
  await proxy?.stop();
  await labLifecycle('down', { labFile, events: new Emitter() }).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
  delete process.env.POSTFIX_LAB_HOME;
});

async function up(during?: (e: EngineEvent) => void) {
  const events: EngineEvent[] = [];
  const recap = await labUp({
    labFile,
    events: new Emitter().on((e) => {
      events.push(e);
      during?.(e);
    }),
    connect: async (t, s) => {
      proxy ??= await startTcpProxy(t.port, t.host);
      return connectSsh({ ...t, host: '127.0.0.1', port: proxy.port }, { knownHostsFile: s.knownHostsFile, reconnect: { attempts: 8, baseMs: 250 } });
    },
  });
  const steps = events.flatMap((e) => (e.event === 'step' ? [e] : []));
  return {
    recap,
    events,
    changed: steps.filter((e) => e.status === 'changed').map((e) => e.id),
    step: (id: string) => steps.find((e) => e.id === id),
    infos: events.flatMap((e) => (e.event === 'info' ? [e.message] : [])),
  };
}

async function sh(cmd: string): Promise<string> {
  if (!host) {
    const meta = readJson<LabMeta>(labState(name).metaFile)!;
    host = await connectSsh(meta.ssh!, { knownHostsFile: labState(name).knownHostsFile });
  }
  const r = await host.exec(cmd, { sudo: true, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${cmd}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const verifyPasses = async () => {
  const report = await verifyLab({ labFile, section: '1' });
  expect(
    report.results
      .filter((x) => x.status !== 'pass')
      .map((x) => `${x.id}: ${x.message}`)
      .join('\n'),
  ).toBe('');
};

describe.sequential('faults on a debian12 container lab', () => {
  it('the connection cut during the Postfix package install: the engine waits for apt, nothing fails, nothing runs twice', async () => {
    let cutAt = 0;
    const run = await up((e) => {
      if (e.event === 'step-start' && e.id === 'debian12-postfix-packages')
        setTimeout(() => {
          cutAt = proxy!.cut();
        }, 2500);
    });
    expect(cutAt).toBeGreaterThan(0);
    expect(run.events.some((e) => e.event === 'reconnect')).toBe(true);
    expect(run.recap.error?.message).toBeUndefined();
    expect(run.recap.failed).toBe(0);
    expect(run.step('debian12-postfix-packages')).toMatchObject({ status: 'changed' });
    expect(run.infos.some((m) => /debian12-postfix-packages: the step's command from before \(plab-\S+.*(waited|had finished)/.test(m))).toBe(true);
    const log = readFileSync(run.step('debian12-postfix-packages')!.log!, 'utf8');
    expect(log).not.toMatch(/Could not get lock|dpkg was interrupted/);
  }, 1_800_000);

  it('the next lab:up changes nothing, and verify passes', async () => {
    const again = await up();
    expect(again.changed).toEqual([]);
    expect(again.recap).toMatchObject({ failed: 0, changed: 0 });
    await verifyPasses();
  }, 600_000);

  it('a dpkg run left half-done (postfix unpacked, not configured): lab:up finishes it with dpkg --configure -a and says so', async () => {
    await sh('cd /tmp && apt-get download -q postfix >/dev/null && dpkg --unpack /tmp/postfix_*.deb >/dev/null && rm -f /tmp/postfix_*.deb');
    expect(await sh("dpkg-query -W -f='${Status}' postfix")).toBe('install ok unpacked');
    const run = await up();
    expect(run.recap).toMatchObject({ failed: 0 });
    expect(run.step('debian12-postfix-packages')).toMatchObject({
      status: 'changed',
      detail: expect.stringContaining('recovering with dpkg --configure -a first'),
    });
    expect(await sh("dpkg-query -W -f='${Status}' postfix")).toBe('install ok installed');
    expect((await up()).recap).toMatchObject({ failed: 0, changed: 0 });
    await verifyPasses();
  }, 900_000);
});
