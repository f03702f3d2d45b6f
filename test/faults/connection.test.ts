/**
 * Lost connections over a real OpenSSH server: cut from the host side (a TCP proxy between the engine and sshd
 * resets the connection), from the lab side (the session's sshd process killed), and a network outage of a few
 * seconds, each during a long command, an upload and a handler. The run recovers by itself, nothing runs twice
 * (no second copy started next to the first), and the next lab:up changes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import { labUp } from '../../src/lab/ops.js';
import { startSshd, type SshdFixture } from '../helpers/sshd.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { faultRoles, killSessionSshd, scratchOf } from './fixtures.js';

let sshd: SshdFixture;
let proxy: TcpProxy;
const home = mkdtempSync(join(tmpdir(), 'plab-faults-home-'));
let labFile: string;
let rolesDir: string;
const used: string[] = [];

beforeAll(async () => {
  process.env.POSTFIX_LAB_HOME = home;
  sshd = await startSshd();
  proxy = await startTcpProxy(sshd.port);
  rolesDir = faultRoles(home);
  labFile = join(home, 'lab.yaml');
  writeFileSync(
    labFile,
    [
      'name: flt',
      'driver: ssh',
      'platform: debian12',
      'hosts:',
      `  - { name: mail, address: 127.0.0.1, port: ${proxy.port}, user: ${sshd.user}, identityFile: ${sshd.identityFile} }`,
      'sections: [1]',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await proxy?.stop();
  await sshd?.stop();
  for (const n of used) rmSync(scratchOf(n), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  delete process.env.POSTFIX_LAB_HOME;
});

async function up(name: string, during?: (e: EngineEvent) => void) {
  const events: EngineEvent[] = [];
  const emitter = new Emitter().on((e) => {
    events.push(e);
    during?.(e);
  });
  const recap = await labUp({ labFile, name, rolesDir, events: emitter });
  const status = (id: string) => events.filter((e) => e.event === 'step' && e.id === id).map((e) => (e as { status: string }).status);
  const infos = events.flatMap((e) => (e.event === 'info' ? [e.message] : []));
  return { recap, events, status, infos };
}

function fresh(name: string): string {
  used.push(name);
  const dir = scratchOf(name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

/** A second run on the same lab: nothing fails, nothing changes, nothing runs again. */
async function secondRunChangesNothing(name: string) {
  const again = await up(name);
  expect(again.recap).toMatchObject({ failed: 0, changed: 0 });
  const dir = scratchOf(name);
  expect(lines(`${dir}/long-runs`)).toEqual(['run']);
  expect(lines(`${dir}/restarts`)).toEqual(['restart']);
  expect(readdirSync('/tmp').filter((f) => f.startsWith('.plab-upload-'))).toEqual([]);
}

type Breaker = (e: EngineEvent) => void;
const when =
  (id: string, afterMs: number, act: () => void): Breaker =>
  (e) => {
    if (e.event === 'step-start' && e.id === id) setTimeout(act, afterMs);
  };

describe('a connection lost during a long command', () => {
  it.each([
    ['host side: the TCP connection reset', 'flt-cut-cmd', () => proxy.cut()],
    ["lab side: the session's sshd killed", 'flt-kill-cmd', () => killSessionSshd(sshd)],
  ])('%s: the engine waits for the running command instead of starting a second copy', async (_what, name, breakIt) => {
    const dir = fresh(name);
    let broke = 0;
    const run = await up(
      name,
      when('long-step', 1000, () => {
        broke = breakIt();
      }),
    );
    expect(broke).toBeGreaterThan(0);
    expect(run.events.some((e) => e.event === 'reconnect')).toBe(true);
    expect(run.recap).toMatchObject({ failed: 0 });
    // it finished on the host while the engine was away: reported changed (its handler ran), and ran once
    expect(run.status('long-step')).toEqual(['changed']);
    expect(run.infos.some((m) => /long-step: the step's command from before \(plab-\S+, pid \d+\) was still running on the host: waited/.test(m))).toBe(true);
    expect(lines(`${dir}/long-starts`)).toHaveLength(1);
    expect(lines(`${dir}/long-runs`)).toEqual(['run']);
    await secondRunChangesNothing(name);
  });

  it('a network outage of a few seconds: the run carries on by itself, the command runs once', async () => {
    const dir = fresh('flt-outage');
    let outage: Promise<void> | undefined;
    const run = await up(
      'flt-outage',
      when('long-step', 500, () => {
        outage = proxy.outage(4000);
      }),
    );
    await outage;
    expect(outage).toBeDefined();
    expect(run.recap).toMatchObject({ failed: 0 });
    expect(run.status('long-step')).toEqual(['changed']);
    expect(lines(`${dir}/long-starts`)).toHaveLength(1);
    await secondRunChangesNothing('flt-outage');
  });
});

describe('a connection lost during an upload', () => {
  it('reconnects, uploads again, leaves no temporary file behind, and the file is whole', async () => {
    const dir = fresh('flt-upload');
    let cut: Promise<void> | undefined;
    const run = await up('flt-upload', (e) => {
      if (e.event === 'step-start' && e.id === 'big-file') cut = proxy.cutAfterBytes(400_000);
    });
    await cut;
    expect(run.events.some((e) => e.event === 'reconnect')).toBe(true);
    expect(run.recap).toMatchObject({ failed: 0 });
    expect(run.status('big-file')).toEqual(['changed']);
    expect(readFileSync(`${dir}/big.txt`, 'utf8')).toBe(readFileSync(join(rolesDir, '01-faults', 'templates', 'big.txt'), 'utf8'));
    await secondRunChangesNothing('flt-upload');
  });
});

describe('a connection lost during a handler', () => {
  it.each([
    ['host side', 'flt-cut-handler', () => proxy.cut()],
    ['lab side', 'flt-kill-handler', () => killSessionSshd(sshd)],
  ])('%s: the handler finishes once, and is not run again', async (_what, name, breakIt) => {
    const dir = fresh(name);
    let broke = 0;
    const run = await up(
      name,
      when('record-restart', 1000, () => {
        broke = breakIt();
      }),
    );
    expect(broke).toBeGreaterThan(0);
    expect(run.recap).toMatchObject({ failed: 0 });
    expect(run.status('record-restart')).toEqual(['changed']);
    expect(lines(`${dir}/restart-starts`)).toHaveLength(1);
    expect(lines(`${dir}/restarts`)).toEqual(['restart']);
    await secondRunChangesNothing(name);
  });
});
