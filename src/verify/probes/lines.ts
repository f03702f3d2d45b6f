/** CRLF line reader over a socket that can be swapped (plain TCP, then TLS after STARTTLS), and SMTP reply line parsing. */
import { StringDecoder } from 'node:string_decoder';
import type { Duplex } from 'node:stream';

export interface TimedLine {
  /** The line without its CRLF. */
  text: string;
  /** performance.now() when the chunk holding the line arrived. */
  at: number;
}

export type NextLine = TimedLine | 'closed' | 'timeout';

const MAX_LINE = 64 * 1024;

export class LineReader {
  private queue: TimedLine[] = [];
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private waiter: (() => void) | undefined;
  private detachFn: (() => void) | undefined;
  private ended = false;
  private reason = '';

  /** Starts reading from `sock` (detach first when switching sockets). */
  attach(sock: Duplex): void {
    this.detach();
    this.decoder = new StringDecoder('utf8');
    const onData = (b: Buffer | string): void => this.push(typeof b === 'string' ? b : this.decoder.write(b));
    const onEnd = (): void => this.end('the server closed the connection');
    const onClose = (): void => this.end('the connection was closed');
    const onError = (e: Error): void => {
      const code = (e as NodeJS.ErrnoException).code;
      this.end(`connection error${code ? ` ${code}` : ''}: ${e.message.split('\n')[0] ?? ''}`);
    };
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('close', onClose);
    sock.on('error', onError);
    this.detachFn = () => {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('close', onClose);
      sock.off('error', onError);
      sock.on('error', () => undefined); // never leave a socket without an error listener
    };
  }

  detach(): void {
    this.detachFn?.();
    this.detachFn = undefined;
  }

  /** True when the peer said something we have not read yet (must be false before a STARTTLS upgrade). */
  hasPending(): boolean {
    return this.queue.length > 0 || this.partial.length > 0;
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Why the connection ended ('' while open). */
  get closeReason(): string {
    return this.reason;
  }

  /** Marks the reader closed (the session closed the socket itself). */
  close(reason: string): void {
    this.end(reason);
  }

  /** The next line; 'closed' once the connection ended and every received line was read; 'timeout' at `deadline`. */
  next(deadline: number): Promise<NextLine> {
    if (this.waiter) return Promise.reject(new Error('LineReader: concurrent reads are not supported'));
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (v: NextLine): void => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(v);
      };
      const check = (): boolean => {
        const line = this.queue.shift();
        if (line) done(line);
        else if (this.ended) done('closed');
        else return false;
        return true;
      };
      if (check()) return;
      timer = setTimeout(() => done('timeout'), Math.max(0, deadline - performance.now()));
      this.waiter = () => void check();
    });
  }

  private push(s: string): void {
    const at = performance.now();
    this.partial += s;
    for (let i = this.partial.indexOf('\n'); i >= 0; i = this.partial.indexOf('\n')) {
      const line = this.partial.slice(0, i);
      this.queue.push({ text: line.endsWith('\r') ? line.slice(0, -1) : line, at });
      this.partial = this.partial.slice(i + 1);
    }
    if (this.partial.length > MAX_LINE) this.end(`the server sent a line longer than ${MAX_LINE} bytes`);
    this.waiter?.();
  }

  private end(reason: string): void {
    if (!this.ended) {
      this.ended = true;
      this.reason = reason;
      // A last line without CRLF before the close (e.g. "421 bye" then FIN) still counts.
      if (this.partial.length > 0 && this.partial.length <= MAX_LINE) this.queue.push({ text: this.partial, at: performance.now() });
      this.partial = '';
    }
    this.waiter?.();
  }
}

export interface ReplyLine {
  code: number;
  /** False for a continuation line ("250-..."). */
  final: boolean;
  /** The text after "NNN-" / "NNN ". */
  text: string;
}

/** Parses "250-PIPELINING", "220 mx ESMTP", "250"; undefined when the line is not an SMTP reply line. */
export function parseReplyLine(line: string): ReplyLine | undefined {
  const m = /^([2-5]\d\d)(?:([ -])(.*))?$/.exec(line);
  if (!m?.[1]) return undefined;
  return { code: Number(m[1]), final: m[2] !== '-', text: m[3] ?? '' };
}
