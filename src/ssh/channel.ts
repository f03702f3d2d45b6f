/** One command on one ssh2 session channel: output collection and streaming, stdin, exit codes, the step timeout. */
import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel } from 'ssh2';
import { ConnectionLost, LabError, TimeoutError } from '../errors.js';

/** sshd refused a new session on the connection (MaxSessions reached, often only until closing channels finish). */
export class ChannelRefused extends LabError {}
import type { ExecOptions, ExecResult } from '../host.js';

export interface ChannelRun {
  /** Host name for messages. */
  host: string;
  /** What the user asked to run (for messages; never contains stdin). */
  label: string;
  /** The wrapped command line actually sent. */
  remote: string;
  opts: ExecOptions;
  /** Register a callback that fails this run when the connection drops; returns the unregister function. */
  onLost(fail: (err: Error) => void): () => void;
}

/** Exit code for a command ended by a signal: 128 + signal number, as shells report it. */
export function signalExitCode(signal: string | undefined): number {
  if (!signal) return 255;
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as keyof typeof osConstants.signals;
  const n = osConstants.signals[name];
  return typeof n === 'number' ? 128 + n : 255;
}

export function runOnChannel(client: Client, run: ChannelRun): Promise<ExecResult> {
  const { opts } = run;
  return new Promise<ExecResult>((resolve, reject) => {
    const started = Date.now();
    let done = false;
    let channel: ClientChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    const unregister = run.onLost((err) => finish(err));
    const finish = (err: Error | null, result?: ExecResult): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      unregister();
      if (err) reject(err);
      else resolve(result as ExecResult);
    };

    const timeoutMs = opts.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs > 0) {
      timer = setTimeout(() => {
        if (channel) kill(channel);
        finish(new TimeoutError(`\`${short(run.label)}\` on ${run.host}`, timeoutMs));
      }, timeoutMs);
    }

    try {
      client.exec(run.remote, (err, ch) => {
        if (err) {
          const lost = /no response|not connected|closed/i.test(err.message);
          finish(
            lost
              ? new ConnectionLost(run.host, err.message)
              : new ChannelRefused(
                  `could not start \`${short(run.label)}\` on ${run.host}: ${err.message}`,
                  "The SSH server refused a new session; check MaxSessions in the host's sshd_config.",
                ),
          );
          return;
        }
        channel = ch;
        if (done) {
          // Timed out (or the connection dropped) while the channel was opening: the command has started; end it.
          kill(ch);
          return;
        }
        collect(ch, run, started, finish);
      });
    } catch (e) {
      finish(new ConnectionLost(run.host, e instanceof Error ? e.message : String(e)));
    }
  });
}

function collect(ch: ClientChannel, run: ChannelRun, started: number, finish: (err: Error | null, result?: ExecResult) => void): void {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  const emit = outputSink(run.opts);
  let code: number | undefined;
  let closed = false;
  let stderrEnded = false;

  ch.on('data', (d: Buffer) => {
    out.push(d);
    emit('stdout', decoders.stdout.write(d));
  });
  ch.stderr.on('data', (d: Buffer) => {
    err.push(d);
    emit('stderr', decoders.stderr.write(d));
  });
  ch.on('exit', (c: number | null, signal?: string) => {
    code = typeof c === 'number' ? c : signalExitCode(signal);
  });
  const settle = (): void => {
    if (!closed || !stderrEnded) return;
    emit('stdout', decoders.stdout.end());
    emit('stderr', decoders.stderr.end());
    if (code === undefined) {
      finish(noExitStatus(run.host, run.label));
      return;
    }
    const late = lateTimeout(run.host, run.label, run.opts, started, code);
    if (late) {
      finish(late);
      return;
    }
    finish(null, { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
  };
  ch.stderr.once('end', () => {
    stderrEnded = true;
    settle();
  });
  ch.stderr.once('close', () => {
    stderrEnded = true;
    settle();
  });
  ch.once('close', () => {
    closed = true;
    settle();
  });
  // Always end stdin, so commands that read it see EOF instead of waiting forever.
  if (run.opts.stdin !== undefined) ch.end(run.opts.stdin);
  else ch.end();
}

/** The caller's output callback, guarded: a failing log callback must not break the command. */
export function outputSink(opts: ExecOptions): (stream: 'stdout' | 'stderr', text: string) => void {
  return (stream, text) => {
    if (!text || !opts.onOutput) return;
    try {
      opts.onOutput(text, stream);
    } catch {
      /* a failing log callback must not break the command */
    }
  };
}

/** A command that ended without an exit status: its connection went (a channel or the long-lived shell). */
export function noExitStatus(host: string, label: string): ConnectionLost {
  return new ConnectionLost(host, `\`${short(label)}\` ended without an exit status`);
}

/** The TimeoutError for a failed command that ran out its time: the remote `timeout` fired just before our own timer. */
export function lateTimeout(host: string, label: string, opts: ExecOptions, started: number, code: number): TimeoutError | undefined {
  const t = opts.timeoutMs;
  return t !== undefined && t > 0 && code !== 0 && Date.now() - started >= t ? new TimeoutError(`\`${short(label)}\` on ${host}`, t) : undefined;
}

/** KILL the remote command (sshd signals the session's process group) and close the channel. */
export function kill(ch: ClientChannel): void {
  try {
    ch.signal('KILL');
  } catch {
    /* channel already closing */
  }
  try {
    ch.close();
  } catch {
    /* already closed */
  }
}

export function short(command: string): string {
  const one = command.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? one.slice(0, 77) + '...' : one;
}
