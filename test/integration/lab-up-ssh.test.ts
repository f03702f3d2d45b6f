/** lab:up end to end over a real OpenSSH server (the ssh driver): idempotence, a dropped connection, resume, host keys. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyChanged } from '../../src/errors.js';
import { Emitter, type EngineEvent } from '../../src/output/events.js';
import { labStatus, labUp, statusJson } from '../../src/lab/ops.js';
import { startSshd, type SshdFixture } from '../helpers/sshd.js';

const rolesDir = join(import.meta.dirname, '../fixtures/e2e-roles');
let sshd: SshdFixture;
let labFile: string;
const home = mkdtempSync(join(tmpdir(), 'plab-e2e-home-'));
const scratch = (name: string) => `/tmp/plab-e2e/${name}`;

beforeAll(async () => {
  process.env.POSTFIX_LAB_HOME = home;
  sshd = await startSshd();
  labFile = join(home, 'lab.yaml');
  writeFileSync(
    labFile,
    [
      'name: e2e',
      'driver: ssh',
      'platform: debian12',
      'hosts:',
      `  - { name: mail, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, identityFile: ${sshd.identityFile} }`,
      'ports:',
      '  - { guest: 587, host: 12587 }',
      'sections: [1]',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await sshd?.stop();
  for (const n of ['e2e-a', 'e2e-b', 'e2e-c', 'e2e-d', 'e2e-pin']) rmSync(scratch(n), { recursive: true, force: true });
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
  return { recap, events, status };
}

describe('lab:up over a real sshd', () => {
  it('runs every step, then a second run changes nothing', async () => {
    mkdirScratch('e2e-a');
    const first = await up('e2e-a');
    expect(first.recap).toMatchObject({ changed: 6, ok: 1, failed: 0 }); // 5 steps + the handler; the folder existed
    const second = await up('e2e-a');
    expect(second.recap).toMatchObject({ changed: 0, failed: 0 });
    expect(second.recap).toMatchObject({ ok: 6, skipped: 0 });
    expect(second.events.at(-1)).toMatchObject({ event: 'recap', changed: 0 });
    const conf = statSync(`${scratch('e2e-a')}/main.cf`);
    expect(conf.mode & 0o777).toBe(0o600);
    expect(conf.uid).toBe(0);
    expect(readFileSync(`${scratch('e2e-a')}/main.cf`, 'utf8')).toBe('myhostname = mail.lab.example\n');
    expect(readFileSync(`${scratch('e2e-a')}/tuning.cf`, 'utf8')).toBe('smtpd_client_message_rate_limit = 120\n');
    // the handler ran once although two steps notified it
    expect(readFileSync(`${scratch('e2e-a')}/restarts`, 'utf8')).toBe('restart\n');
    const state = join(home, 'e2e-a');
    expect(statSync(join(state, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(state, 'logs')).some((f) => f.endsWith('-conf-file.log'))).toBe(true);
    const password = JSON.parse(readFileSync(join(state, 'credentials.json'), 'utf8')).password as string;
    const everything =
      readdirSync(join(state, 'logs'))
        .map((f) => readFileSync(join(state, 'logs', f), 'utf8'))
        .join('') + readFileSync(join(state, 'journal.jsonl'), 'utf8');
    expect(everything).not.toContain(password);
  });

  it('resumes after a failure at the failed step without repeating finished steps', async () => {
    const first = await up('e2e-b');
    expect(first.recap).toMatchObject({ failed: 1, failedStep: 'gate' });
    expect(first.recap.error?.message).toMatch(/command failed \(exit 1\)/);
    writeFileSync(`${scratch('e2e-b')}/gate-open`, '');
    const second = await up('e2e-b');
    expect(second.recap).toMatchObject({ failed: 0, skipped: 4 });
    for (const id of ['scratch-dir', 'conf-file', 'conf-line', 'slow-step']) expect(second.status(id)).toEqual(['skipped']);
    expect(second.status('gate')).toEqual(['changed']);
    expect(second.status('count-runs')).toEqual(['changed']);
    // the handler notified in the failed run still ran, once
    expect(second.status('touch-restarted')).toEqual(['changed']);
    expect(readFileSync(`${scratch('e2e-b')}/restarts`, 'utf8')).toBe('restart\n');
  });

  it('survives a connection killed mid-step: reconnects and finishes the step once', async () => {
    mkdirScratch('e2e-c');
    let killed = 0;
    const run = await up('e2e-c', (e) => {
      if (e.event === 'step-start' && e.id === 'slow-step')
        setTimeout(() => {
          killed = sshd.killConnections();
        }, 700);
    });
    expect(killed).toBeGreaterThan(0);
    expect(run.events.some((e) => e.event === 'reconnect')).toBe(true);
    expect(run.recap).toMatchObject({ failed: 0 });
    expect(run.status('slow-step')).toEqual(['changed']);
    expect(readFileSync(`${scratch('e2e-c')}/runs`, 'utf8')).toBe('run\n');
  });

  it('lab:status --json describes the lab', async () => {
    const [entry] = await labStatus({ name: 'e2e-c', events: new Emitter() });
    const json = JSON.parse(statusJson(entry ? [entry] : []));
    expect(json.labs[0]).toMatchObject({
      name: 'e2e-c',
      driver: 'ssh',
      platform: 'debian12',
      state: 'running',
      ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile },
      ports: [{ guest: 587, host: 12587 }],
      credentialsFile: join(home, 'e2e-c', 'credentials.json'),
    });
    expect(JSON.parse(readFileSync(json.labs[0].credentialsFile, 'utf8'))).toMatchObject({ user: 'learner', password: expect.any(String) });
  });

  it('refuses an unpinned artifact with its sha256, then installs it once the lab file pins it, resuming there', async () => {
    const dir = mkdtempSync(join(home, 'pin-'));
    mkdirSync(join(dir, 'roles', '01-get'), { recursive: true });
    writeFileSync(
      join(dir, 'roles', '01-get', 'role.yaml'),
      [
        'role: get',
        'section: 1',
        'title: Artifacts',
        'steps:',
        '  - id: get-patch',
        '    title: Ensure the patch is in place',
        '    section: "1.5"',
        `    download: { url: "http://127.0.0.1:9/p.patch", sha256: unpinned, dest: "${scratch('e2e-pin')}/p.patch", mode: "0640" }`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'artifacts'));
    writeFileSync(join(dir, 'artifacts', 'p.patch'), 'the patch\n');
    const hash = createHash('sha256').update('the patch\n').digest('hex');
    const lab = join(dir, 'lab.yaml');
    const text = [
      'name: pin',
      'driver: ssh',
      'platform: debian12',
      'params: { artifacts: artifacts }',
      'hosts:',
      `  - { name: mail, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, identityFile: ${sshd.identityFile} }`,
      '',
    ].join('\n');
    writeFileSync(lab, text);
    mkdirScratch('e2e-pin');
    const first = await labUp({ labFile: lab, name: 'e2e-pin', rolesDir: join(dir, 'roles'), events: new Emitter() });
    expect(first).toMatchObject({ failed: 1, failedStep: 'get-patch' });
    expect(first.error?.hint).toContain(`pins:\n    p.patch: ${hash}`);
    expect(existsSync(`${scratch('e2e-pin')}/p.patch`)).toBe(false);
    writeFileSync(lab, `${text}pins:\n  p.patch: ${hash}\n`);
    const second = await labUp({ labFile: lab, name: 'e2e-pin', rolesDir: join(dir, 'roles'), events: new Emitter() });
    expect(second).toMatchObject({ failed: 0, changed: 1 });
    expect(readFileSync(`${scratch('e2e-pin')}/p.patch`, 'utf8')).toBe('the patch\n');
    expect(statSync(`${scratch('e2e-pin')}/p.patch`).mode & 0o777).toBe(0o640);
  });

  it('refuses a host whose key changed, and says how to reset the pin', async () => {
    mkdirScratch('e2e-d');
    await up('e2e-d');
    await sshd.rotateHostKey();
    const err = await up('e2e-d').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyChanged);
    expect((err as HostKeyChanged).message).toMatch(/host key of 127\.0\.0\.1:\d+ changed: pinned SHA256:\S+, the host now presents SHA256:\S+; refusing/);
    expect((err as HostKeyChanged).hint).toContain(join(home, 'e2e-d', 'known_hosts.json'));
  });
});

function mkdirScratch(name: string) {
  // open the gate up front: these tests are about the connection, not the failure
  rmSync(scratch(name), { recursive: true, force: true });
  mkdirSync(scratch(name), { recursive: true });
  writeFileSync(`${scratch(name)}/gate-open`, '');
  expect(existsSync(`${scratch(name)}/gate-open`)).toBe(true);
}
