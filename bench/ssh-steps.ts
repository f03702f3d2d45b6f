/**
 * Bench: N trivial steps (`echo x >> FILE`) against a real loopback sshd, five ways: the engine's SshHost, bare ssh2
 * execs (the per-exec floor), one `ssh` per step, OpenSSH ControlMaster, ansible-playbook with pipelining, and one
 * batched script (the floor for the whole run). ms/step = (t(Nmax) - t(Nmin)) / (Nmax - Nmin), which cancels fixed
 * costs (process start, connection setup). Wired to `npm run bench -- ssh-steps` elsewhere.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ssh2';
import { connectSsh, type SshHost } from '../src/ssh/executor.js';
import { type SshdFixture, startSshd } from '../test/helpers/sshd.js';

const run = promisify(execFile);

interface Mode {
  key: string;
  label: string;
  /** Repetitions per N (median taken); slow modes run once. */
  reps: number;
  /** Run N steps appending to `file`; resolves when done. */
  go(n: number, file: string): Promise<void>;
}

export async function benchSshSteps(opts: { counts: number[] } = { counts: [20, 100] }): Promise<Record<string, number>> {
  const counts = [...opts.counts].sort((a, b) => a - b);
  const lo = counts[0];
  const hi = counts[counts.length - 1];
  if (lo === undefined || hi === undefined || lo === hi) throw new Error('benchSshSteps needs two different step counts');
  const sshd = await startSshd();
  const work = mkdtempSync(join(tmpdir(), 'plab-bench-'));
  const remoteDir = `/tmp/plab-bench-${process.pid}-${Date.now()}`;
  let checker: SshHost | undefined;
  let master: ChildProcess | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    checker = await connectSsh(sshd.target('bench'), { knownHostsFile: join(work, 'pins.json') });
    await checker.exec(`mkdir -p ${remoteDir}`);
    const ssh = sshArgs(sshd, work);
    const controlPath = join(work, 'cm.sock');
    master = spawn('ssh', [...ssh.opts, '-N', '-o', 'ControlMaster=yes', '-o', `ControlPath=${controlPath}`, ssh.dest], { stdio: 'ignore' });
    await waitFor(
      async () =>
        await run('ssh', [...ssh.opts, '-o', `ControlPath=${controlPath}`, '-O', 'check', ssh.dest]).then(
          () => true,
          () => false,
        ),
    );
    cleanups.push(async () => {
      await run('ssh', [...ssh.opts, '-o', `ControlPath=${controlPath}`, '-O', 'exit', ssh.dest]).catch(() => undefined);
    });
    const ansibleCm = join(work, 'ans-cm');
    cleanups.push(async () => {
      await run('ssh', [...ssh.opts, '-o', `ControlPath=${ansibleCm}`, '-O', 'exit', ssh.dest]).catch(() => undefined);
    });

    const modes: Mode[] = [
      { key: 'engine', label: 'engine (SshHost, one connection)', reps: 3, go: (n, f) => engineSteps(sshd, work, n, f) },
      { key: 'floor_exec', label: 'bare ssh2 exec per step, nodelay', reps: 3, go: (n, f) => bareSteps(sshd, n, f, false) },
      { key: 'floor', label: 'one batched script, one exec', reps: 3, go: (n, f) => bareSteps(sshd, n, f, true) },
      {
        key: 'openssh_mux',
        label: 'OpenSSH ControlMaster (warm)',
        reps: 1,
        go: async (n, f) => {
          for (let i = 0; i < n; i++) await run('ssh', [...ssh.opts, '-o', 'ControlMaster=no', '-o', `ControlPath=${controlPath}`, ssh.dest, `echo x >> ${f}`]);
        },
      },
      {
        key: 'openssh',
        label: 'OpenSSH, one ssh per step',
        reps: 1,
        go: async (n, f) => {
          for (let i = 0; i < n; i++) await run('ssh', [...ssh.opts, '-o', 'ControlMaster=no', '-o', 'ControlPath=none', ssh.dest, `echo x >> ${f}`]);
        },
      },
      { key: 'ansible_pipelining', label: 'ansible-playbook, pipelining', reps: 1, go: (n, f) => ansibleSteps(sshd, work, ansibleCm, n, f) },
    ];

    const seconds: Record<string, Record<number, number>> = {};
    for (const mode of modes) {
      seconds[mode.key] = {};
      for (const n of [lo, hi]) {
        const samples: number[] = [];
        for (let r = 0; r < mode.reps; r++) {
          const file = `${remoteDir}/${mode.key}-${n}-${r}`;
          const t0 = process.hrtime.bigint();
          await mode.go(n, file);
          samples.push(Number(process.hrtime.bigint() - t0) / 1e9);
          const lines = (await checker.exec(`wc -l < ${file}`)).stdout.trim();
          if (lines !== String(n)) throw new Error(`${mode.key}: expected ${n} lines in ${file}, found ${lines}`);
        }
        seconds[mode.key]![n] = median(samples);
      }
    }

    // Fixed costs cancel in the difference; noise can make a near-zero cost slightly negative: report it as 0.
    const perStep = (key: string): number => Math.max(0, ((seconds[key]![hi]! - seconds[key]![lo]!) * 1000) / (hi - lo));
    const result: Record<string, number> = {};
    for (const mode of modes) result[`${mode.key}_ms_per_step`] = round(perStep(mode.key));
    result.floor_exec_ms = result.floor_exec_ms_per_step!;
    delete result.floor_exec_ms_per_step;
    result.engine_vs_floor = round(result.engine_ms_per_step! / result.floor_exec_ms);
    result.ansible_vs_engine = round(result.ansible_pipelining_ms_per_step! / result.engine_ms_per_step!);

    const rows = modes.map((m) => [m.label, seconds[m.key]![lo]!.toFixed(3), seconds[m.key]![hi]!.toFixed(3), perStep(m.key).toFixed(2)]);
    printTable(['mode', `N=${lo} s`, `N=${hi} s`, 'ms/step'], rows);
    console.log(`engine vs floor exec: ${result.engine_vs_floor}x (target <= 2x); ansible vs engine: ${result.ansible_vs_engine}x`);
    return result;
  } finally {
    for (const c of cleanups) await c();
    if (master && master.exitCode === null && master.signalCode === null) {
      const exited = new Promise((r) => master!.once('exit', r));
      master.kill('SIGTERM');
      await exited;
    }
    await checker?.exec(`rm -rf ${remoteDir}`).catch(() => undefined);
    await checker?.close();
    await sshd.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function sshArgs(sshd: SshdFixture, work: string): { opts: string[]; dest: string } {
  return {
    opts: [
      '-F',
      '/dev/null',
      '-i',
      sshd.identityFile,
      '-p',
      String(sshd.port),
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${join(work, 'ssh_known_hosts')}`,
      '-o',
      'StrictHostKeyChecking=accept-new',
      '-o',
      'LogLevel=ERROR',
    ],
    dest: `${sshd.user}@${sshd.host}`,
  };
}

async function engineSteps(sshd: SshdFixture, work: string, n: number, file: string): Promise<void> {
  const host = await connectSsh(sshd.target('bench'), { knownHostsFile: join(work, 'pins.json') });
  try {
    for (let i = 0; i < n; i++) {
      const r = await host.exec(`echo x >> ${file}`);
      if (r.code !== 0) throw new Error(`engine step failed: ${r.stderr}`);
    }
  } finally {
    await host.close();
  }
}

/** A bare ssh2 client on a nodelay socket, no engine code: N execs, or one exec of an N-line script. */
async function bareSteps(sshd: SshdFixture, n: number, file: string, batched: boolean): Promise<void> {
  const sock = net.connect({ host: sshd.host, port: sshd.port });
  await new Promise((res, rej) => sock.once('connect', res).once('error', rej));
  sock.setNoDelay(true);
  const c = new Client();
  await new Promise<void>((res, rej) => {
    c.once('ready', () => res()).once('error', rej);
    c.connect({ sock, username: sshd.user, privateKey: readFileSync(sshd.identityFile) });
  });
  const exec = (cmd: string): Promise<void> =>
    new Promise((res, rej) =>
      c.exec(cmd, (e, ch) => {
        if (e) return rej(e);
        ch.on('data', () => undefined).stderr.on('data', () => undefined);
        ch.on('close', (code: number) => (code === 0 ? res() : rej(new Error(`exit ${code}`))));
        ch.end();
      }),
    );
  try {
    if (batched) await exec(Array.from({ length: n }, () => `echo x >> ${file}`).join('\n'));
    else for (let i = 0; i < n; i++) await exec(`echo x >> ${file}`);
  } finally {
    c.end();
  }
}

async function ansibleSteps(sshd: SshdFixture, work: string, controlPath: string, n: number, file: string): Promise<void> {
  const dir = join(work, `ansible-${n}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'inventory.ini'),
    `lab ansible_host=${sshd.host} ansible_port=${sshd.port} ansible_user=${sshd.user} ` +
      `ansible_ssh_private_key_file=${sshd.identityFile} ansible_python_interpreter=/usr/bin/python3\n`,
  );
  const tasks = Array.from({ length: n }, (_, i) => `    - name: step ${i}\n      shell: echo x >> ${file}\n`).join('');
  writeFileSync(join(dir, 'playbook.yml'), `- hosts: lab\n  gather_facts: false\n  tasks:\n${tasks}`);
  writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\n');
  await run('ansible-playbook', ['-i', join(dir, 'inventory.ini'), join(dir, 'playbook.yml')], {
    cwd: dir,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
      ANSIBLE_HOME: join(work, 'ansible-home'),
      ANSIBLE_LOCAL_TEMP: join(work, 'ansible-local'),
      ANSIBLE_REMOTE_TEMP: '/tmp/.plab-bench-ansible',
      ANSIBLE_PIPELINING: '1',
      ANSIBLE_HOST_KEY_CHECKING: 'False',
      ANSIBLE_SSH_CONTROL_PATH: controlPath,
      ANSIBLE_SSH_ARGS: `-F /dev/null -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${join(work, 'ssh_known_hosts')}`,
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
    },
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the OpenSSH control master did not come up');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
