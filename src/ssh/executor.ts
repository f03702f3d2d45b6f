/**
 * The SSH executor: a Host over ONE ssh2 connection per run. TCP_NODELAY is on (ssh2 leaves it off, which costs
 * ~44 ms per exec), the host key is pinned on first connect, dropped connections fail in-flight work with
 * ConnectionLost and are re-established with backoff on the next call.
 */
import { randomBytes } from 'node:crypto';
import type { Client, SFTPWrapper } from 'ssh2';
import type { SshTarget } from './target.js';
import { ConnectionLost, HostKeyChanged, LabError } from '../errors.js';
import type { ExecOptions, ExecResult, Host, PutOptions } from '../host.js';
import { limiter } from '../limiter.js';
import { ChannelRefused, runOnChannel } from './channel.js';
import { dialSsh, errText, LAB_HOST_HINT } from './dial.js';
import { hostId } from './known-hosts.js';
import { installScript, jobScript, MISSING_MARKER, readScript, wrapCommand } from './remote-commands.js';
import { Shells } from './shell.js';

export interface SshConnectOptions {
  /** JSON pin file: { "<host>:<port>": "SHA256:..." } (0600). */
  knownHostsFile: string;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
  reconnect?: { attempts: number; baseMs: number };
  /** Connection events for the run log ("connection lost, reconnecting (attempt 2 of 8)"). */
  onEvent?: (msg: string) => void;
}

/** Connect (and authenticate) to a lab host. Rejects with HostKeyChanged when the host's key differs from the pin. */
export async function connectSsh(target: SshTarget, opts: SshConnectOptions): Promise<SshHost> {
  const host = new SshHost(target, opts);
  host.adopt(await host.dial());
  return host;
}

/**
 * Exec channels at once per connection: under sshd's default MaxSessions (10), leaving room for the SFTP session
 * and the two long-lived shells (with and without sudo).
 */
export const MAX_CHANNELS = 6;

export class SshHost implements Host {
  readonly name: string;
  private client: Client | null = null;
  private sftp: { client: Client; session: Promise<SFTPWrapper> } | undefined;
  private readonly inflight = new Set<(err: Error) => void>();
  private reconnecting: Promise<void> | undefined;
  private closed = false;
  /**
   * Session channels open at once on the connection. sshd refuses more than MaxSessions (10 by default) and the SFTP
   * session is one of them; verify's probes and check mode run side by side on one connection (course check).
   */
  private readonly channels = limiter(MAX_CHANNELS);
  /** The connection's long-lived shells (src/ssh/shell.ts). */
  private readonly shells: Shells;

  constructor(
    readonly target: SshTarget,
    private readonly opts: SshConnectOptions,
  ) {
    this.name = target.name;
    this.shells = new Shells(target.name);
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const client = await this.ready();
    const sudo = Boolean(opts.sudo && this.target.sudo);
    // A command without stdin goes through the connection's long-lived shell when it is free; a job as its job
    // script, which outlives a dropped connection there as on a channel of its own.
    if (opts.stdin === undefined) {
      const script = opts.job ? jobScript(command, opts.job, opts.timeoutMs) : command;
      const r = await this.shells.run(client, sudo, script, opts, (fail) => this.track(fail), { label: command, remoteTimeout: !opts.job });
      if (r) return r;
    }
    const run = () =>
      this.channels(() =>
        runOnChannel(client, {
          host: this.name,
          label: command,
          remote: wrapCommand(command, { sudo, timeoutMs: opts.timeoutMs, job: opts.job }),
          opts,
          onLost: (fail) => this.track(fail),
        }),
      );
    // Channels that just finished may still be closing when the next one opens: a refusal then is brief. The
    // command never started, so trying again is safe.
    for (let attempt = 0; ; attempt++) {
      try {
        return await run();
      } catch (e) {
        if (!(e instanceof ChannelRefused) || attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
  }

  async put(path: string, content: string | Buffer, opts: PutOptions = {}): Promise<void> {
    const client = await this.ready();
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    // Named after the job when there is one, so that the engine can remove what a dropped upload left behind.
    const tmp = `/tmp/.plab-upload-${opts.job ? `${opts.job}-` : ''}${randomBytes(9).toString('hex')}`;
    const sftp = await this.guard(this.sftpSession(client));
    try {
      await this.guard(new Promise<void>((res, rej) => sftp.writeFile(tmp, data, { mode: 0o600 }, (e) => (e ? rej(e) : res()))));
    } catch (e) {
      sftp.unlink(tmp, () => undefined);
      if (e instanceof LabError) throw e;
      throw new LabError(`uploading ${path} to ${this.name} failed: ${errText(e)}`, 'Is /tmp on the lab host full or read-only?', 1, { cause: e });
    }
    const r = await this.exec(installScript({ tmp, dest: path, mode: opts.mode, owner: opts.owner, group: opts.group }), {
      sudo: opts.sudo,
      job: opts.job,
    });
    if (r.code !== 0) {
      throw new LabError(
        `writing ${path} on ${this.name} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
        opts.sudo
          ? 'Does the folder exist, and do the owner and group exist on the host?'
          : 'Does the folder exist and is it writable by the lab user? Privileged files need `sudo`.',
      );
    }
  }

  async get(path: string, opts: { sudo?: boolean } = {}): Promise<Buffer | null> {
    if (opts.sudo && this.target.sudo) {
      const r = await this.exec(readScript(path), { sudo: true });
      if (r.code !== 0) throw new LabError(`reading ${path} on ${this.name} failed (exit ${r.code}): ${r.stderr.trim()}`, 'Is it a regular file?');
      const out = r.stdout.trim();
      return out === MISSING_MARKER ? null : Buffer.from(out, 'base64');
    }
    const client = await this.ready();
    const sftp = await this.guard(this.sftpSession(client));
    return this.guard(
      new Promise<Buffer | null>((res, rej) =>
        sftp.readFile(path, (e, buf) => {
          if (!e) return res(buf);
          if ((e as { code?: unknown }).code === 2) return res(null);
          rej(new LabError(`reading ${path} on ${this.name} failed: ${e.message}`, 'Files only root can read need `sudo`.', 1, { cause: e }));
        }),
      ),
    );
  }

  /** Re-establish the connection: exponential backoff, the pinned host key checked again. */
  reconnect(): Promise<void> {
    if (this.closed) return Promise.reject(closedError(this.name));
    this.reconnecting ??= this.redial().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    this.sftp = undefined;
    this.failAll(closedError(this.name));
    if (!client) return;
    await new Promise<void>((res) => {
      const t = setTimeout(res, 2000);
      t.unref();
      client.once('close', () => {
        clearTimeout(t);
        res();
      });
      client.end();
    });
  }

  /** One connection attempt (TCP with nodelay, handshake with the pin check, key auth). */
  dial(): Promise<Client> {
    return dialSsh(this.target, this.opts, (m) => this.event(m));
  }

  /** Make a freshly dialled client the current connection and watch it for drops. */
  adopt(client: Client): void {
    if (this.closed) {
      client.end();
      throw closedError(this.name);
    }
    let detail = 'the connection closed';
    client.on('error', (e: Error) => {
      detail = e.message;
    });
    client.on('close', () => this.dropped(client, detail));
    this.client = client;
  }

  private async redial(): Promise<void> {
    const old = this.client;
    if (old) {
      this.dropped(old, 'reconnect requested');
      old.end();
    }
    const { attempts, baseMs } = this.opts.reconnect ?? { attempts: 8, baseMs: 250 };
    let last: unknown;
    for (let i = 1; i <= attempts; i++) {
      if (this.closed) throw closedError(this.name);
      this.event(`connection to ${this.name} lost, reconnecting (attempt ${i} of ${attempts})`);
      try {
        this.adopt(await this.dial());
        this.event(`reconnected to ${this.name}`);
        return;
      } catch (e) {
        if (e instanceof HostKeyChanged) throw e;
        last = e;
      }
      if (i < attempts) await sleep(Math.min(baseMs * 2 ** (i - 1), 30_000));
    }
    throw new LabError(
      `could not reconnect to ${this.name} (${hostId(this.target.host, this.target.port)}) after ${attempts} attempts: ${errText(last)}`,
      LAB_HOST_HINT,
      1,
      { cause: last },
    );
  }

  private dropped(client: Client, detail: string): void {
    if (this.client !== client) return;
    this.client = null;
    this.sftp = undefined;
    if (this.closed) return;
    this.event(`connection to ${this.name} lost: ${detail}`);
    this.failAll(new ConnectionLost(this.name, detail));
  }

  /** The live connection; when it dropped, one reconnect() (with its backoff) first. */
  private async ready(): Promise<Client> {
    if (this.closed) throw closedError(this.name);
    if (this.client) return this.client;
    await this.reconnect();
    if (!this.client) throw new ConnectionLost(this.name, 'the connection dropped again right after reconnecting');
    return this.client;
  }

  private sftpSession(client: Client): Promise<SFTPWrapper> {
    if (this.sftp?.client === client) return this.sftp.session;
    const session = new Promise<SFTPWrapper>((res, rej) =>
      client.sftp((e, s) => {
        if (e) {
          if (this.sftp?.session === session) this.sftp = undefined;
          return rej(
            new LabError(`cannot open SFTP on ${this.name}: ${e.message}`, "Is the sftp subsystem enabled in the host's sshd_config?", 1, { cause: e }),
          );
        }
        s.on('close', () => {
          if (this.sftp?.session === session) this.sftp = undefined;
        });
        res(s);
      }),
    );
    this.sftp = { client, session };
    return session;
  }

  private track(fail: (err: Error) => void): () => void {
    this.inflight.add(fail);
    return () => this.inflight.delete(fail);
  }

  /** Fail `p` with ConnectionLost as soon as the connection drops. */
  private guard<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const untrack = this.track(reject);
      p.then(resolve, reject).finally(untrack);
    });
  }

  private failAll(err: Error): void {
    const all = [...this.inflight];
    this.inflight.clear();
    for (const fail of all) fail(err);
  }

  private event(msg: string): void {
    try {
      this.opts.onEvent?.(msg);
    } catch {
      /* logging must not break the run */
    }
  }
}

function closedError(name: string): LabError {
  return new LabError(`the connection to ${name} was closed`, 'This is a bug in the lab engine: a step ran after the run ended.');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
