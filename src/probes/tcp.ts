/**
 * The one TCP client of the project: open a connection with a deadline, and read what the peer says first. The SSH
 * dialer, the drivers' "does sshd answer", the proxy readiness check and verify's network probes all use these two.
 */
import net from 'node:net';

/** Why a connection could not be opened: refused/unreachable ('connect') or no answer in time ('timeout'). */
export class TcpConnectError extends Error {
  readonly kind: 'connect' | 'timeout';
  constructor(kind: 'connect' | 'timeout', message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
  }
}

/** Opens a TCP connection with TCP_NODELAY; rejects with TcpConnectError. The socket is the caller's to destroy. */
export function openTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, noDelay: true });
    const finish = (): void => {
      clearTimeout(timer);
      sock.off('error', onError);
      sock.off('connect', onConnect);
    };
    const timer = setTimeout(() => {
      finish();
      sock.destroy();
      reject(new TcpConnectError('timeout', `TCP connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (e: Error): void => {
      finish();
      sock.destroy();
      reject(new TcpConnectError('connect', e.message, e));
    };
    const onConnect = (): void => {
      finish();
      sock.setNoDelay(true); // the point of owning the socket: no ~44 ms small-packet delay per SSH exec
      resolve(sock);
    };
    sock.once('error', onError);
    sock.once('connect', onConnect);
  });
}

export interface FirstWords {
  /** What arrived (latin1), up to the moment `enough` said so, the peer closed, or the wait ended. */
  text: string;
  /** The peer closed (or reset) the connection. */
  closed: boolean;
}

/** Reads from an open socket until `enough(text)` is true, the peer closes, or `timeoutMs` passes; leaves it open. */
export function readFirst(sock: net.Socket, timeoutMs: number, enough: (text: string) => boolean = (t) => t.length > 0): Promise<FirstWords> {
  return new Promise((resolve) => {
    let text = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onEnd);
      sock.off('error', onEnd);
      sock.on('error', () => undefined); // never leave a socket without an error listener
      resolve({ text, closed });
    };
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (enough(text)) done(false);
    };
    const onEnd = (): void => done(true);
    const timer = setTimeout(() => done(sock.destroyed || sock.readableEnded), timeoutMs);
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.once('close', onEnd);
    sock.once('error', onEnd);
  });
}

/** Opens, reads the first words, closes: undefined when no connection could be opened. */
export async function knock(host: string, port: number, timeoutMs: number, enough?: (text: string) => boolean): Promise<FirstWords | undefined> {
  const started = Date.now();
  const sock = await openTcp(host, port, timeoutMs).catch(() => undefined);
  if (!sock) return undefined;
  try {
    return await readFirst(sock, Math.max(1, timeoutMs - (Date.now() - started)), enough);
  } finally {
    sock.destroy();
  }
}
