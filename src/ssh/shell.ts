/**
 * One long-lived bash per connection and sudo setting, that runs commands one after another: an exec through it
 * skips what a new session channel costs on the host (sshd's session process, the login shell, and sudo with
 * its PAM stack and log line: about 6 ms of an exec's 9 ms on a container lab, measured with `bench lab-up`).
 *
 * The protocol, on the shell's stdin: a header line `<seq> <timeout secs or 0>`, the command's lines, then the
 * shell's random token on a line of its own. The shell runs the command as the executor would on a channel
 * (`timeout -k 2 <secs> bash -c <command> </dev/null`), with stdout and stderr going straight to the channel, and
 * then writes `\0<token> <seq> <exit code>\n` to stdout and `\0<token> <seq>\n` to stderr. The token is random per
 * shell, so no command's output can end a frame early; output is streamed on as it comes, except from a NUL on
 * while what follows it could still be the marker.
 */
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { sh } from '../host.js';
import type { ExecOptions, ExecResult } from '../host.js';
import { TimeoutError } from '../errors.js';
import { kill, lateTimeout, noExitStatus, outputSink, short, signalExitCode } from './channel.js';
import { secs } from './remote-commands.js';

/** Commands longer than this go to a channel of their own (bash reads a pipe a byte at a time). */
export const SHELL_MAX_COMMAND = 16 * 1024;

/** The shell could not be started (or died before it took the command): run the command on a channel instead. */
export class ShellUnavailable extends Error {}

/** The shell's loop, as sent in the exec request. */
export function shellScript(token: string): string {
  return [
    `t=${token}`,
    'while IFS= read -r h; do',
    '  c=',
    '  while IFS= read -r l; do [ "$l" = "$t" ] && break; c+="$l"$\'\\n\'; done',
    '  n=${h%% *}; s=${h#* }',
    '  if [ "$s" = 0 ]; then bash -c "$c" </dev/null; else timeout -k 2 "$s" bash -c "$c" </dev/null; fi',
    '  r=$?',
    '  printf \'\\0%s %s %s\\n\' "$t" "$n" "$r"',
    '  printf \'\\0%s %s\\n\' "$t" "$n" >&2',
    'done',
  ].join('\n');
}

/** One stream of a frame: the text before the end marker, with output streamed on as far as it cannot be the marker. */
class Stream {
  text = '';
  /** Where the marker was found, and what followed its prefix (the exit code on stdout). */
  end: { index: number; code: number } | undefined;
  private emitted = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    /** The marker's fixed start: a NUL, the token and the sequence number. */
    private readonly prefix: string,
    /** What must follow the prefix (stdout: the exit code and a newline). */
    private readonly rest: RegExp,
    private readonly emit: (text: string) => void,
  ) {}

  push(d: Buffer): void {
    if (this.end) return;
    const from = Math.max(0, this.text.length - this.prefix.length - 16);
    this.text += this.decoder.write(d);
    const i = this.text.indexOf(this.prefix, from);
    const m = i < 0 ? null : this.rest.exec(this.text.slice(i + this.prefix.length));
    if (i >= 0 && m) this.end = { index: i, code: Number(m[1] ?? 0) };
    const upTo = i >= 0 ? i : this.safeLength();
    if (upTo > this.emitted) this.emit(this.text.slice(this.emitted, upTo));
    this.emitted = Math.max(this.emitted, upTo);
    if (this.end) this.text = this.text.slice(0, i);
  }

  /** How much of the text cannot be the start of the marker (which begins with a NUL, rare in command output). */
  private safeLength(): number {
    const nl = this.text.lastIndexOf('\0');
    if (nl < 0) return this.text.length;
    const tail = this.text.slice(nl);
    return this.prefix.startsWith(tail.slice(0, this.prefix.length)) ? nl : this.text.length;
  }
}

export interface ShellRun {
  /** What the user asked to run, for messages (the command, not a job script around it). */
  label: string;
  /** Wrap the command in `timeout` on the host (not for a job script, which has its own). */
  remoteTimeout: boolean;
}

interface Frame {
  label: string;
  opts: ExecOptions;
  out: Stream;
  err: Stream;
  started: number;
  finish(err: Error | null, r?: ExecResult): void;
}

export class RemoteShell {
  private readonly token = `PLAB-${randomBytes(12).toString('hex')}`;
  private seq = 0;
  private channel: Promise<ClientChannel> | undefined;
  private frame: Frame | undefined;
  private exit: number | undefined;
  dead = false;

  constructor(
    private readonly client: Client,
    private readonly host: string,
    private readonly sudo: boolean,
    /** Called once when the shell ends (so the executor opens a new one next time). */
    private readonly onDead: () => void,
  ) {}

  get busy(): boolean {
    return this.frame !== undefined;
  }

  /**
   * Run one command; rejects with ShellUnavailable when the shell cannot take it (the caller uses a channel).
   * `remoteTimeout: false` for a script that bounds itself (a job); the client's timer runs in any case.
   */
  run(command: string, opts: ExecOptions, onLost: (fail: (err: Error) => void) => () => void, how: ShellRun): Promise<ExecResult> {
    const label = how.label;
    if (this.dead || this.frame) return Promise.reject(new ShellUnavailable());
    const n = ++this.seq;
    const sink = outputSink(opts);
    const emit = (stream: 'stdout' | 'stderr') => (text: string) => sink(stream, text);
    return new Promise<ExecResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const unregister = onLost((err) => frame.finish(err));
      const frame: Frame = {
        label,
        opts,
        started: Date.now(),
        out: new Stream(`\0${this.token} ${n} `, /^(\d+)\n/, emit('stdout')),
        err: new Stream(`\0${this.token} ${n}\n`, /^/, emit('stderr')),
        finish: (err, r) => {
          if (this.frame !== frame) return;
          this.frame = undefined;
          if (timer) clearTimeout(timer);
          unregister();
          if (err) reject(err);
          else resolve(r as ExecResult);
        },
      };
      this.frame = frame;
      const t = opts.timeoutMs;
      if (t !== undefined && t > 0) {
        timer = setTimeout(() => {
          frame.finish(new TimeoutError(`\`${short(label)}\` on ${this.host}`, t));
          this.close(); // the remote `timeout` ends the command; the shell goes with the channel
        }, t);
      }
      this.open()
        .then((ch) => {
          if (this.frame !== frame) return;
          ch.write(
            `${n} ${how.remoteTimeout && t !== undefined && t > 0 ? secs(t) : '0'}\n${command.endsWith('\n') ? command : `${command}\n`}${this.token}\n`,
          );
        })
        .catch((e: unknown) => frame.finish(e instanceof Error ? e : new Error(String(e))));
    });
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    this.onDead();
    this.channel?.then(kill, () => undefined);
  }

  private open(): Promise<ClientChannel> {
    this.channel ??= new Promise<ClientChannel>((resolve, reject) => {
      const remote = this.sudo ? `exec sudo -n -- bash -c ${sh(shellScript(this.token))}` : `exec bash -c ${sh(shellScript(this.token))}`;
      try {
        this.client.exec(remote, (err, ch) => {
          if (err) {
            this.close();
            return reject(new ShellUnavailable(err.message));
          }
          this.watch(ch);
          resolve(ch);
        });
      } catch (e) {
        this.close();
        reject(new ShellUnavailable(e instanceof Error ? e.message : String(e)));
      }
    });
    return this.channel;
  }

  private watch(ch: ClientChannel): void {
    ch.on('data', (d: Buffer) => this.data('out', d));
    ch.stderr.on('data', (d: Buffer) => this.data('err', d));
    ch.on('exit', (c: number | null, signal?: string) => {
      this.exit = typeof c === 'number' ? c : signalExitCode(signal);
    });
    ch.once('close', () => {
      const f = this.frame;
      this.close();
      if (!f) return;
      // The shell ended while running the command (killed, or sudo refused before the loop began): report it as
      // a channel would, with what the command wrote and the shell's exit status.
      if (this.exit === undefined) {
        f.finish(noExitStatus(this.host, f.label));
        return;
      }
      f.finish(null, { code: this.exit, stdout: f.out.text, stderr: f.err.text });
    });
  }

  private data(which: 'out' | 'err', d: Buffer): void {
    const f = this.frame;
    if (!f) return;
    f[which].push(d);
    if (!f.out.end || !f.err.end) return;
    const code = f.out.end.code;
    f.finish(lateTimeout(this.host, f.label, f.opts, f.started, code) ?? null, { code, stdout: f.out.text, stderr: f.err.text });
  }
}

/** The long-lived shells of one connection, one per sudo setting; a new connection starts new ones. */
export class Shells {
  private client: Client | undefined;
  private readonly bySudo = new Map<boolean, RemoteShell>();

  constructor(private readonly host: string) {}

  /** Run the command in the free shell; undefined when that shell is busy or cannot be had (use a channel). */
  async run(
    client: Client,
    sudo: boolean,
    command: string,
    opts: ExecOptions,
    onLost: (fail: (err: Error) => void) => () => void,
    how: ShellRun,
  ): Promise<ExecResult | undefined> {
    if (command.length > SHELL_MAX_COMMAND) return undefined;
    if (this.client !== client) {
      this.client = client;
      this.bySudo.clear();
    }
    let shell = this.bySudo.get(sudo);
    if (!shell || shell.dead) {
      const s = new RemoteShell(client, this.host, sudo, () => this.bySudo.get(sudo) === s && this.bySudo.delete(sudo));
      this.bySudo.set(sudo, s);
      shell = s;
    }
    if (shell.busy) return undefined;
    try {
      return await shell.run(command, opts, onLost, how);
    } catch (e) {
      if (e instanceof ShellUnavailable) return undefined;
      throw e;
    }
  }
}
