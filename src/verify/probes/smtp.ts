/**
 * A small, exact SMTP client session over net/tls for acceptance probes. Every wait has a deadline and fails with a
 * ProbeError naming host:port and what was awaited. Credentials are never logged, never put in an error message and
 * scrubbed from any server text handed back.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import { Redactor } from '../../redact.js';
import { endpoint, openTcp, ProbeError, seconds, tlsHandshake, type TlsClientOptions, type TlsInfo } from './common.js';
import { LineReader, parseReplyLine } from './lines.js';

export { ProbeError } from './common.js';
const CLOSED_BY_US = 'closed by the probe';
export type { TlsInfo } from './common.js';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Deadline of every single wait (TCP connect, TLS handshake, the banner, each reply). */
  timeoutMs: number;
  /** TLS on connect (port 465 "submissions"/"smtps"). */
  implicitTls?: boolean;
  /** SNI name; default: host when it is a name. */
  servername?: string;
  /** TLS options for implicitTls (versions, ciphers). */
  tls?: Omit<TlsClientOptions, 'servername'>;
  /** false: do not wait for the banner (read it with readBanner() or readLine(); see sendRaw()). Default true. */
  readBanner?: boolean;
}

export interface Reply {
  code: number;
  /** Text of each line after "NNN-" / "NNN ". */
  lines: string[];
  /** lines joined with "\n". */
  text: string;
  /** The lines as received ("250-PIPELINING", ...). */
  raw: string[];
  /** ms since the connection was established: first and final line of this reply. */
  firstLineMs: number;
  finalLineMs: number;
}

export interface Banner extends Reply {
  /** The first banner line was "220-" (postscreen's multi-line greeting). */
  multiline: boolean;
  /** Time between the first and the final banner line (postscreen_greet_wait when postscreen is active). */
  pauseMs: number;
}

export interface EhloReply {
  code: number;
  lines: string[];
  text: string;
  /** Upper-cased keywords: ['PIPELINING', 'SIZE', 'STARTTLS', 'AUTH', ...]; "AUTH=PLAIN" (old form) counts as AUTH. */
  capabilities: string[];
  /** Mechanisms from AUTH (and AUTH=) lines, upper-cased: ['PLAIN', 'LOGIN']. */
  authMechanisms: string[];
  /** Keyword -> its parameters, e.g. { SIZE: '10240000', AUTH: 'PLAIN LOGIN' }. */
  params: Record<string, string>;
}

export interface CommandReply {
  code: number;
  text: string;
  lines: string[];
}

export class SmtpSession {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
  readonly timeoutMs: number;
  banner: Banner | undefined;
  /** Set once TLS is up (implicit or after STARTTLS). */
  tls: TlsInfo | undefined;
  private readonly servername: string | undefined;
  private sock: net.Socket | tls.TLSSocket;
  private raw: net.Socket;
  private readonly reader = new LineReader();
  private readonly redactor = new Redactor();
  private readonly startedAt: number;

  private constructor(opts: ConnectOptions, raw: net.Socket, sock: net.Socket | tls.TLSSocket, tlsInfo?: TlsInfo) {
    this.host = opts.host;
    this.port = opts.port;
    this.endpoint = endpoint(opts.host, opts.port);
    this.timeoutMs = opts.timeoutMs;
    this.servername = opts.servername;
    this.raw = raw;
    this.sock = sock;
    this.tls = tlsInfo;
    this.startedAt = performance.now();
    this.reader.attach(sock);
  }

  static async connect(opts: ConnectOptions): Promise<SmtpSession> {
    const raw = await openTcp(opts.host, opts.port, opts.timeoutMs);
    let session: SmtpSession;
    if (opts.implicitTls) {
      const { socket, info } = await tlsHandshake(raw, opts.host, opts.port, { ...opts.tls, servername: opts.servername }, opts.timeoutMs);
      session = new SmtpSession(opts, raw, socket, info);
    } else {
      session = new SmtpSession(opts, raw, raw);
    }
    if (opts.readBanner !== false) {
      try {
        await session.readBanner();
      } catch (e) {
        session.close();
        throw e;
      }
    }
    return session;
  }

  /** ms since the connection was established (after the TLS handshake for implicit TLS). */
  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  get closed(): boolean {
    return this.reader.closed;
  }

  /** Reads the (possibly multi-line) greeting. */
  async readBanner(timeoutMs = this.timeoutMs): Promise<Banner> {
    const r = await this.readReply('banner', timeoutMs);
    this.banner = { ...r, multiline: r.raw[0]?.startsWith(`${r.code}-`) ?? false, pauseMs: r.finalLineMs - r.firstLineMs };
    return this.banner;
  }

  /** One raw line (for probes that must act between lines, e.g. after "220-"). */
  async readLine(what: string, timeoutMs = this.timeoutMs): Promise<{ text: string; atMs: number }> {
    const l = await this.reader.next(performance.now() + timeoutMs);
    if (l === 'timeout') throw this.fail('timeout', `no ${what} within ${seconds(timeoutMs)} from ${this.endpoint}`);
    if (l === 'closed') throw this.closedError(what);
    return { text: this.redactor.text(l.text), atMs: l.at - this.startedAt };
  }

  /** Reads one complete reply (continuation lines "NNN-" up to the final "NNN "). */
  async readReply(what: string, timeoutMs = this.timeoutMs): Promise<Reply> {
    const deadline = performance.now() + timeoutMs;
    const raw: string[] = [];
    const lines: string[] = [];
    let first = 0;
    for (;;) {
      const l = await this.reader.next(deadline);
      if (l === 'timeout') {
        const got = raw.length ? ` (incomplete: got ${JSON.stringify(raw.join('\n'))})` : '';
        throw this.fail('timeout', `no ${what} within ${seconds(timeoutMs)} from ${this.endpoint}${got}`);
      }
      if (l === 'closed') throw this.closedError(what);
      const text = this.redactor.text(l.text);
      const p = parseReplyLine(text);
      if (!p)
        throw this.fail('protocol', `${this.endpoint} sent a line that is no SMTP reply while we waited for ${what}: ${JSON.stringify(text.slice(0, 200))}`);
      if (!raw.length) first = l.at - this.startedAt;
      raw.push(text);
      lines.push(p.text);
      if (p.final) return { code: p.code, lines, text: lines.join('\n'), raw, firstLineMs: first, finalLineMs: l.at - this.startedAt };
    }
  }

  /** Writes bytes as they are, e.g. before the banner is complete (pregreet). */
  sendRaw(data: string): void {
    if (this.reader.closed || this.sock.destroyed) {
      throw this.fail('closed', `cannot send to ${this.endpoint}: ${this.reader.closeReason || 'the connection is closed'}`);
    }
    this.sock.write(data);
  }

  async ehlo(name: string): Promise<EhloReply> {
    if (!/^[\w.:[\]-]+$/.test(name)) throw new ProbeError('protocol', this.endpoint, `bad EHLO name ${JSON.stringify(name)}`);
    const r = await this.exchange(`EHLO ${name}`, 'reply to EHLO');
    const capabilities: string[] = [];
    const authMechanisms: string[] = [];
    const params: Record<string, string> = {};
    if (r.code === 250) {
      for (const line of r.lines.slice(1)) {
        const [word = '', ...rest] = line.trim().split(/\s+/);
        let key = word.toUpperCase();
        if (!key) continue;
        if (key.startsWith('AUTH=')) {
          rest.unshift(key.slice(5)); // old "AUTH=PLAIN LOGIN" form (broken_sasl_auth_clients = yes)
          key = 'AUTH';
        }
        if (!capabilities.includes(key)) capabilities.push(key);
        if (key === 'AUTH') for (const m of rest) if (m && !authMechanisms.includes(m.toUpperCase())) authMechanisms.push(m.toUpperCase());
        if (rest.length && params[key] === undefined) params[key] = rest.join(' ');
      }
    }
    return { code: r.code, lines: r.lines, text: r.text, capabilities, authMechanisms, params };
  }

  /** Sends one command line (no CR/LF inside) and reads its reply. */
  async command(line: string): Promise<CommandReply> {
    if (/[\r\n]/.test(line)) throw new ProbeError('protocol', this.endpoint, 'an SMTP command must not contain CR or LF');
    const label = /^AUTH\s/i.test(line) ? line.split(/\s+/).slice(0, 2).join(' ') : line.slice(0, 80);
    const r = await this.exchange(line, `reply to ${JSON.stringify(label)}`);
    return { code: r.code, text: r.text, lines: r.lines };
  }

  /**
   * STARTTLS: expects 220, then runs the TLS handshake over the same socket (certificates not verified).
   * Throws ProbeError 'refused' (reply attached) when the server does not answer 220, 'tls' when the handshake fails.
   * The SMTP state is reset by the server: send EHLO again.
   */
  async starttls(opts: Omit<TlsClientOptions, 'servername'> = {}): Promise<TlsInfo> {
    if (this.tls) throw new ProbeError('protocol', this.endpoint, `TLS is already active with ${this.endpoint}`);
    const r = await this.command('STARTTLS');
    if (r.code !== 220) {
      throw new ProbeError('refused', this.endpoint, `${this.endpoint} refused STARTTLS: ${r.code} ${r.text}`, { reply: r });
    }
    if (this.reader.hasPending()) {
      this.close();
      throw new ProbeError('protocol', this.endpoint, `${this.endpoint} sent data after its 220 to STARTTLS (plaintext injection); not starting TLS`);
    }
    this.reader.detach();
    try {
      const { socket, info } = await tlsHandshake(this.raw, this.host, this.port, { ...opts, servername: this.servername }, this.timeoutMs);
      this.sock = socket;
      this.tls = info;
      this.reader.attach(socket);
      return info;
    } catch (e) {
      this.reader.close('the TLS handshake failed');
      throw e;
    }
  }

  /** AUTH PLAIN with an initial response. Returns the server's answer (235 ok, 535 bad credentials). */
  async authPlain(user: string, password: string): Promise<CommandReply> {
    const blob = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
    this.redactor.add(password, blob, b64(password));
    return this.scrub(await this.exchange(`AUTH PLAIN ${blob}`, 'reply to AUTH PLAIN'));
  }

  /** AUTH LOGIN: user and password each in answer to a 334 challenge. Returns the first non-334 reply. */
  async authLogin(user: string, password: string): Promise<CommandReply> {
    this.redactor.add(password, b64(password));
    let r = await this.exchange('AUTH LOGIN', 'reply to AUTH LOGIN');
    if (r.code !== 334) return this.scrub(r);
    r = await this.exchange(b64(user), 'reply to the AUTH LOGIN user name');
    if (r.code !== 334) return this.scrub(r);
    return this.scrub(await this.exchange(b64(password), 'reply to the AUTH LOGIN password'));
  }

  /** Sends QUIT and closes. Tolerates a server that already hung up or does not answer: returns undefined then. */
  async quit(): Promise<CommandReply | undefined> {
    try {
      if (this.closed) return undefined;
      const r = await this.exchange('QUIT', 'reply to QUIT');
      return { code: r.code, text: r.text, lines: r.lines };
    } catch (e) {
      if (e instanceof ProbeError) return undefined;
      throw e;
    } finally {
      this.close();
    }
  }

  close(): void {
    this.reader.close(CLOSED_BY_US);
    this.sock.destroy();
    this.raw.destroy();
  }

  private async exchange(line: string, what: string): Promise<Reply> {
    this.sendRaw(`${line}\r\n`);
    return this.readReply(what);
  }

  private scrub(r: Reply): CommandReply {
    return { code: r.code, text: this.redactor.text(r.text), lines: r.lines.map((l) => this.redactor.text(l)) };
  }

  private closedError(what: string): ProbeError {
    const why = this.reader.closeReason;
    if (why === CLOSED_BY_US) return this.fail('closed', `cannot wait for ${what}: the probe already closed its connection to ${this.endpoint}`);
    const detail = why.startsWith('connection error') ? ` (${why})` : '';
    return this.fail('closed', `${this.endpoint} closed the connection while we waited for ${what}${detail}`);
  }

  private fail(kind: 'timeout' | 'closed' | 'protocol', message: string): ProbeError {
    return new ProbeError(kind, this.endpoint, this.redactor.text(message));
  }
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}
