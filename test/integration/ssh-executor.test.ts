import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConnectionLost, HostKeyChanged, LabError, TimeoutError } from '../../src/errors.js';
import { connectSsh, type SshHost } from '../../src/ssh/executor.js';
import { sshArgs } from '../../src/cli/ssh-args.js';
import { readPins } from '../../src/ssh/known-hosts.js';
import { labState } from '../../src/lab/state.js';
import { type SshdFixture, startSshd } from '../helpers/sshd.js';

let sshd: SshdFixture;
let host: SshHost;
const events: string[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  host = await connectSsh(sshd.target('mail'), {
    knownHostsFile: sshd.knownHostsFile,
    reconnect: { attempts: 5, baseMs: 100 },
    onEvent: (m) => events.push(m),
  });
});

afterAll(async () => {
  await host?.close();
  await sshd?.stop();
});

const unique = (): string => randomBytes(6).toString('hex');

describe('exec', () => {
  it('returns stdout, stderr and the exit code', async () => {
    const r = await host.exec('echo out; echo err >&2; exit 3');
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs as the login user without sudo and as root with sudo', async () => {
    expect((await host.exec('id -un')).stdout.trim()).toBe('plabtest');
    expect((await host.exec('id -u', { sudo: true })).stdout.trim()).toBe('0');
  });

  it('quotes sudo commands so that quotes, variables and pipes survive', async () => {
    const r = await host.exec(`x='a b'; echo "$x" | tr a-z A-Z; printf '%s\\n' "it's"`, { sudo: true });
    expect(r.stdout).toBe("A B\nit's\n");
  });

  it('delivers stdin and ends it', async () => {
    expect((await host.exec('cat; echo done', { stdin: 'hello\n' })).stdout).toBe('hello\ndone\n');
    expect((await host.exec('wc -c', { stdin: Buffer.from([0, 1, 2]) })).stdout.trim()).toBe('3');
    expect((await host.exec('cat', { stdin: 'as root\n', sudo: true })).stdout).toBe('as root\n');
  });

  it('ends stdin even when none is given, so commands reading it do not hang', async () => {
    const r = await host.exec('cat; echo eof', { timeoutMs: 5000 });
    expect(r.stdout).toBe('eof\n');
  });

  it('maps a signal exit to 128 + signal number', async () => {
    const r = await host.exec('kill -9 $$');
    expect(r.code).toBe(137);
  });

  it('streams output chunks before the command ends', async () => {
    const chunks: { text: string; at: number }[] = [];
    const started = Date.now();
    const r = await host.exec('echo a; sleep 1; echo b >&2', { onOutput: (text) => chunks.push({ text, at: Date.now() - started }) });
    const ended = Date.now() - started;
    expect(r.stdout).toBe('a\n');
    expect(chunks.map((c) => c.text).join('')).toBe('a\nb\n');
    expect(chunks[0]?.text).toBe('a\n');
    expect(chunks[0]!.at).toBeLessThan(ended - 500);
  });

  it('fails with TimeoutError after the timeout and leaves no process behind', async () => {
    for (const sudo of [false, true]) {
      const marker = `29.${Math.floor(Math.random() * 9000) + 1000}`;
      const pattern = `sleep ${marker.slice(0, -1)}[${marker.slice(-1)}]`; // does not match the pgrep itself
      const started = Date.now();
      await expect(host.exec(`sleep ${marker}; echo never`, { timeoutMs: 800, sudo })).rejects.toBeInstanceOf(TimeoutError);
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(790);
      expect(took).toBeLessThan(2000);
      const gone = await host.exec(
        `for i in $(seq 40); do pgrep -f '${pattern}' >/dev/null || { echo gone; exit 0; }; sleep 0.1; done; pgrep -af '${pattern}'`,
      );
      expect(gone.stdout.trim(), `sudo=${sudo}`).toBe('gone');
    }
  });

  it('runs 50 sequential execs over one TCP connection with Nagle off (TCP_NODELAY; bench ssh-steps times it)', async () => {
    const noDelay = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    const h = await connectSsh(sshd.target('mail'), { knownHostsFile: sshd.knownHostsFile });
    try {
      expect(noDelay).toHaveBeenCalledWith(true);
      const connections = new Set<string>();
      for (let i = 0; i < 50; i++) connections.add((await h.exec('echo "$SSH_CONNECTION"')).stdout.trim());
      expect(connections.size).toBe(1);
    } finally {
      noDelay.mockRestore();
      await h.close();
    }
  });

  it("runs more commands at once than sshd's MaxSessions (10) allows by queueing them on the connection", async () => {
    // Each command outlives the refusal retries (about 1.5 s), so without the queue the 11th would fail.
    await host.get('/etc/hostname'); // the SFTP session holds one of the ten
    const started = Date.now();
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => host.exec(`sleep 2; echo ${i}`)));
    expect(rs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000); // 20 commands in rounds of at most 8
  }, 30_000);
});

describe('the long-lived shell', () => {
  it('runs consecutive commands and jobs in one shell per sudo setting, and a command with stdin on a channel', async () => {
    // The PID of the long-lived shell above the command (its script starts with `t=PLAB-`, written here so that
    // this command's own text does not match it), or "none".
    const shellOf =
      'p=$PPID; while [ "$p" -gt 1 ]; do grep -qa "t=PLA""B-" /proc/$p/cmdline && { echo $p; exit; }; p=$(cut -d" " -f4 /proc/$p/stat); done; echo none';
    for (const sudo of [false, true]) {
      const a = (await host.exec(shellOf, { sudo })).stdout;
      expect(a, `sudo=${sudo}`).toMatch(/^\d+\n$/);
      expect((await host.exec(shellOf, { sudo, timeoutMs: 5000 })).stdout).toBe(a);
      const job = await host.exec(`(${shellOf}); echo to-stderr >&2; exit 3`, { sudo, timeoutMs: 5000, job: `plab-test-${unique()}` });
      expect(job, `sudo=${sudo}`).toEqual({ code: 3, stdout: a, stderr: 'to-stderr\n' });
      expect((await host.exec(shellOf, { sudo, stdin: '' })).stdout).toBe('none\n');
    }
    expect((await host.exec('id -u', { sudo: true })).stdout).toBe('0\n');
    expect((await host.exec('id -un')).stdout).toBe('plabtest\n');
  });

  it('keeps no variable, directory or option of one command for the next', async () => {
    await host.exec('x=1; export y=2; cd /tmp; set -e; shopt -s nullglob');
    expect((await host.exec('echo "${x-unset} ${y-unset} $PWD $-"; shopt -q nullglob || echo off')).stdout).toMatch(/^unset unset \/\S+ [^e]*\noff\n$/);
  });

  it('returns output whole: no trailing newline, NULs, text like its own marker, a megabyte', async () => {
    expect(await host.exec("printf 'no newline'; printf 'err' >&2")).toEqual({ code: 0, stdout: 'no newline', stderr: 'err' });
    expect((await host.exec("printf 'a\\0b\\0PLAB-x 1 0\\n'")).stdout).toBe('a\0b\0PLAB-x 1 0\n');
    const big = await host.exec('head -c 1000000 /dev/zero | tr "\\0" x; echo; seq 1 20000 >&2', { sudo: true });
    expect(big.stdout).toBe(`${'x'.repeat(1_000_000)}\n`);
    expect(big.stderr.split('\n').filter(Boolean)).toHaveLength(20000);
  });

  it('runs a second command at once on a channel while the shell is busy', async () => {
    const started = Date.now();
    const rs = await Promise.all([host.exec('sleep 1; echo a'), host.exec('sleep 1; echo b')]);
    expect(rs.map((r) => r.stdout)).toEqual(['a\n', 'b\n']);
    expect(Date.now() - started).toBeLessThan(1900);
  });

  it('reports a shell killed under its command as the signal it died of, and starts a new one', async () => {
    for (const sudo of [false, true]) {
      const before = (await host.exec('echo $PPID', { sudo })).stdout;
      const r = await host.exec('kill -9 $PPID; sleep 0.3', { sudo });
      expect(r.code, `sudo=${sudo}`).toBe(137);
      const after = (await host.exec('echo $PPID', { sudo })).stdout;
      expect(after).not.toBe(before);
    }
  });
});

describe('put and get', () => {
  it('round-trips text and binary files', async () => {
    const dir = `/tmp/plab-${unique()}`;
    await host.exec(`mkdir -p ${dir}`);
    const bin = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    await host.put(`${dir}/text`, 'hällo\nwelt\n');
    await host.put(`${dir}/bin`, bin);
    expect((await host.get(`${dir}/text`))?.toString('utf8')).toBe('hällo\nwelt\n');
    expect((await host.get(`${dir}/bin`))?.equals(bin)).toBe(true);
    expect((await host.get(`${dir}/bin`, { sudo: true }))?.equals(bin)).toBe(true);
    expect((await host.exec(`stat -c %a ${dir}/text`)).stdout.trim()).toBe('644');
    expect((await host.exec(`ls -A ${dir}`)).stdout.split('\n').filter(Boolean).sort()).toEqual(['bin', 'text']);
    await host.exec(`rm -rf ${dir}`);
  });

  it('writes root-owned files with the given mode and owner, readable back only with sudo', async () => {
    const path = `/etc/plab-${unique()}.cf`;
    await host.put(path, 'secret\n', { sudo: true, mode: 0o600, owner: 'root', group: 'root' });
    expect((await host.exec(`stat -c '%a %U %G' ${path}`)).stdout.trim()).toBe('600 root root');
    expect((await host.get(path, { sudo: true }))?.toString()).toBe('secret\n');
    await expect(host.get(path)).rejects.toBeInstanceOf(LabError);
    await host.exec(`rm -f ${path}`, { sudo: true });
  });

  it('keeps the mode and owner of an existing file when overwriting without a mode', async () => {
    const path = `/etc/plab-${unique()}.cf`;
    await host.put(path, 'one\n', { sudo: true, mode: 0o640, owner: 'plabtest', group: 'root' });
    await host.put(path, 'two\n', { sudo: true });
    expect((await host.exec(`stat -c '%a %U %G' ${path}`)).stdout.trim()).toBe('640 plabtest root');
    expect((await host.get(path, { sudo: true }))?.toString()).toBe('two\n');
    await host.exec(`rm -f ${path}`, { sudo: true });
  });

  it('leaves no temporary files behind', async () => {
    const path = `/tmp/plab-${unique()}`;
    await host.put(path, 'x', { sudo: true, mode: 0o600 });
    expect((await host.exec(`ls ${path}.plab-new 2>/dev/null; ls /tmp/.plab-upload-* 2>/dev/null | wc -l`)).stdout.trim()).toBe('0');
    await host.exec(`rm -f ${path}`, { sudo: true });
  });

  it('returns null for a missing file, with and without sudo', async () => {
    expect(await host.get(`/tmp/plab-missing-${unique()}`)).toBeNull();
    expect(await host.get(`/root/plab-missing-${unique()}`, { sudo: true })).toBeNull();
  });
});

describe('host key pinning', () => {
  it('pins the host key on first connect into a 0600 JSON file', () => {
    const pins = readPins(sshd.knownHostsFile);
    expect(pins[`127.0.0.1:${sshd.port}`]).toBe(sshd.hostKeyFingerprint());
    expect(statSync(sshd.knownHostsFile).mode & 0o777).toBe(0o600);
  });

  /**
   * `npm run lab:ssh -- CMD` as commands.ts runs it: OpenSSH with sshArgs() for a lab whose state folder holds
   * what lab:up's connection pinned there (or nothing, when `pin` is false).
   */
  async function labSsh(lab: string, pin: boolean, command: string[]) {
    const root = mkdtempSync(join(sshd.dir, 'state-'));
    const state = labState(lab, root);
    mkdirSync(state.dir, { recursive: true });
    if (pin) await (await connectSsh(sshd.target('mail'), { knownHostsFile: state.knownHostsFile })).close();
    const args = sshArgs(sshd.target('mail'), lab, command, root);
    const r = spawnSync('ssh', ['-o', 'BatchMode=yes', ...args], { encoding: 'utf8', timeout: 20_000 });
    return { ...r, knownHosts: join(state.dir, 'ssh_known_hosts') };
  }

  it("lab:ssh runs OpenSSH with the lab's key and its pinned host key, as the login user, with sudo working", async () => {
    const r = await labSsh('aln-ssh', true, ['id', '-un', ';', 'sudo', '-n', 'id', '-u']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${sshd.user}\n0\n`);
    expect(r.status).toBe(0);
    expect(statSync(r.knownHosts).mode & 0o777).toBe(0o600);
  });

  it('lab:ssh refuses a host the lab has not pinned instead of trusting it on first use', async () => {
    const r = await labSsh('aln-ssh-unpinned', false, ['echo', 'never']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Host key verification failed/);
    expect(r.status).toBe(255);
  });
});

describe('dropped connections', () => {
  it('rejects an in-flight exec with ConnectionLost, then reconnects on the next call', async () => {
    const pending = host.exec('sleep 20');
    await new Promise((r) => setTimeout(r, 300));
    expect(sshd.killConnections()).toBeGreaterThan(0);
    await expect(pending).rejects.toBeInstanceOf(ConnectionLost);
    expect((await host.exec('echo back')).stdout).toBe('back\n');
    expect(events.some((e) => /reconnecting \(attempt 1/.test(e))).toBe(true);
  });

  it('gives up after the last attempt with a hint to check the lab host', async () => {
    let noticed: () => void = () => undefined;
    const lost = new Promise<void>((r) => (noticed = r));
    const other = await connectSsh(sshd.target('other'), {
      knownHostsFile: sshd.knownHostsFile,
      reconnect: { attempts: 2, baseMs: 50 },
      onEvent: (m) => /lost:/.test(m) && noticed(),
    });
    other.target.port = 1; // nothing listens there: every reconnect attempt fails
    sshd.killConnections();
    await lost;
    const err = await other.exec('true').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).message).toMatch(/after 2 attempts/);
    expect((err as LabError).hint).toContain('npm run lab:status');
    await other.close();
    // The shared host lost its connection too; it comes back.
    expect((await host.exec('echo ok')).stdout).toBe('ok\n');
  });
});

describe('changed host key', () => {
  it('refuses to connect with HostKeyChanged and explains how to reset', async () => {
    await sshd.rotateHostKey();
    const err = await connectSsh(sshd.target('mail'), { knownHostsFile: sshd.knownHostsFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyChanged);
    expect((err as HostKeyChanged).hint).toMatch(/lab:down.*lab:up|delete the/);
    expect((err as HostKeyChanged).message).toContain(sshd.hostKeyFingerprint());
    // A reconnect of the running session also re-checks the pin.
    await expect(host.exec('true')).rejects.toBeInstanceOf(HostKeyChanged);
  });
});
