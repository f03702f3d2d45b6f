/**
 * A real OpenSSH server for tests and benches: Debian's /usr/sbin/sshd on 127.0.0.1 at a free port, throwaway host and
 * user keys in a temp dir, a `plabtest` user with passwordless sudo. Needs root (sshd can only log in other users as
 * root) and the packages `openssh-server sudo`. stop() kills exactly the sshd it started (and that sshd's children).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../../src/ssh/target.js';
import { removeScratch } from './scratch.js';

export const TEST_USER = 'plabtest';
const SSHD = '/usr/sbin/sshd';

export interface SshdFixture {
  host: string;
  port: number;
  user: string;
  identityFile: string;
  /** PID of the listening sshd (changes on restart()). */
  readonly pid: number;
  /** The temp dir with keys, config, pid file; removed by stop(). */
  dir: string;
  /** A fresh path for a pin file inside the temp dir. */
  knownHostsFile: string;
  /** An SshTarget for connectSsh(). */
  target(name?: string): SshTarget;
  /** `SHA256:...` of the current host key, as ssh-keygen prints it. */
  hostKeyFingerprint(): string;
  /** The last lines sshd wrote to stderr (for failing tests). */
  log(): string;
  /** Kill the per-connection sshd processes (not the listener): established connections drop. Returns how many. */
  killConnections(): number;
  /** Stop and start the listener on the same port (existing connections are dropped). */
  restart(): Promise<void>;
  /** New host key, then restart: clients that pinned the old key must refuse to connect. */
  rotateHostKey(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<SshdFixture> {
  preflight();
  ensureTestUser();
  const dir = mkdtempSync(join(tmpdir(), 'plab-sshd-'));
  chmodSync(dir, 0o755); // sshd reads authorized_keys as the test user
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const identityFile = join(dir, 'id_ed25519');
  keygen(hostKey, 'plab test host');
  keygen(identityFile, 'plab test user');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${identityFile}.pub`), { mode: 0o644 });
  chmodSync(join(dir, 'authorized_keys'), 0o644);
  const config = join(dir, 'sshd_config');

  let child: ChildProcess | undefined;
  let logLines: string[] = [];
  let port = 0;

  /** Start sshd; a fresh port unless `keepPort` (restarts must keep host:port, the pin's identity). */
  const launch = async (keepPort = false): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      if (!keepPort) port = await freePort();
      else if (attempt > 1) await new Promise((r) => setTimeout(r, 200 * attempt));
      writeFileSync(config, sshdConfig(dir, port, hostKey));
      const c = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = c;
      logLines = [];
      c.stderr?.setEncoding('utf8').on('data', (d: string) => {
        logLines.push(...d.split('\n').filter(Boolean));
        if (logLines.length > 200) logLines = logLines.slice(-200);
      });
      try {
        await waitForBanner(port, c, 10_000);
        return;
      } catch (e) {
        await kill(c);
        const bindFailed = logLines.some((l) => /Address already in use|Bind to port/.test(l));
        if (!bindFailed || attempt >= (keepPort ? 10 : 3)) throw new Error(`sshd did not start: ${(e as Error).message}\n${logLines.join('\n')}`);
      }
    }
  };
  const killChildren = (): number => {
    if (!child?.pid) return 0;
    const pids = descendants(child.pid);
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    return pids.length;
  };
  const shutdown = async (): Promise<void> => {
    killChildren();
    if (child) await kill(child);
    child = undefined;
  };

  try {
    await launch();
  } catch (e) {
    removeScratch(dir);
    throw e;
  }
  const fixture: SshdFixture = {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    user: TEST_USER,
    identityFile,
    get pid() {
      return child?.pid ?? 0;
    },
    dir,
    knownHostsFile: join(dir, 'known_hosts.json'),
    target: (name = 'lab') => ({ name, host: '127.0.0.1', port, user: TEST_USER, identityFile, sudo: true }),
    hostKeyFingerprint: () => fingerprintOfPub(`${hostKey}.pub`),
    log: () => logLines.join('\n'),
    killConnections: killChildren,
    restart: async () => {
      await shutdown();
      await launch(true);
    },
    rotateHostKey: async () => {
      await shutdown();
      removeScratch(hostKey);
      removeScratch(`${hostKey}.pub`);
      keygen(hostKey, 'plab test host (rotated)');
      await launch(true);
    },
    stop: async () => {
      await shutdown();
      removeScratch(dir);
    },
  };
  return fixture;
}

function sshdConfig(dir: string, port: number, hostKey: string): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin no',
    `AllowUsers ${TEST_USER}`,
    'StrictModes no',
    'MaxSessions 10', // sshd's default, as on lab hosts
    'MaxStartups 100',
    'MaxAuthTries 10',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

function preflight(): void {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get install -y openssh-server`);
  if (process.getuid?.() !== 0) throw new Error('the sshd test fixture needs root (sshd must be able to log in the test user)');
  if (!existsSync('/usr/bin/sudo')) throw new Error('sudo is missing: apt-get install -y sudo');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
}

/** The test user (created once, shared by all fixtures): bash, an unlocked account without a password, NOPASSWD sudo. */
function ensureTestUser(): void {
  try {
    execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', TEST_USER], { stdio: 'pipe' });
    } catch (e) {
      // Another test file may have created it at the same moment.
      execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
      void e;
    }
  }
  // useradd leaves the password "!" (locked); sshd without PAM refuses locked accounts. "*": no password, not locked.
  const shadow = readFileSync('/etc/shadow', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${TEST_USER}:`));
  if (shadow?.split(':')[1]?.startsWith('!')) execFileSync('usermod', ['-p', '*', TEST_USER]);
  const sudoers = `/etc/sudoers.d/${TEST_USER}`;
  const rule = `${TEST_USER} ALL=(ALL) NOPASSWD: ALL\n`;
  if (!existsSync(sudoers) || readFileSync(sudoers, 'utf8') !== rule) {
    mkdirSync('/etc/sudoers.d', { recursive: true, mode: 0o755 });
    const tmp = `${sudoers}.${process.pid}.tmp`; // unique: other test files may do this at the same moment
    writeFileSync(tmp, rule, { mode: 0o440 });
    execFileSync('mv', ['-f', tmp, sudoers]);
  }
}

function keygen(path: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'pipe' });
}

function fingerprintOfPub(pubFile: string): string {
  const blob = Buffer.from(readFileSync(pubFile, 'utf8').trim().split(/\s+/)[1] ?? '', 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Wait until the port answers with an SSH banner (or the child exits). */
async function waitForBanner(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`sshd exited (${child.exitCode ?? child.signalCode})`);
    if (await banner(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no SSH banner on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('error', () => done(false));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('SSH-2.0-')) done(true);
    });
  });
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
function kill(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

/** All descendants of a process, from /proc (children before their own children). */
function descendants(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid ...; comm may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = byParent.get(ppid) ?? [];
    list.push(Number(entry));
    byParent.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [...(byParent.get(root) ?? [])];
  while (queue.length) {
    const p = queue.shift() as number;
    out.push(p);
    queue.push(...(byParent.get(p) ?? []));
  }
  return out;
}
