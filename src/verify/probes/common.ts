/**
 * Shared pieces of the network probes: the probe error type, time formatting, opening a TCP socket and running a TLS
 * handshake over an already open socket (implicit TLS and STARTTLS both go through tlsHandshake).
 */
import net from 'node:net';
import tls from 'node:tls';
import { LabError } from '../../errors.js';
import { openTcp as connectTcp, TcpConnectError } from '../../probes/tcp.js';

export type ProbeErrorKind = 'connect' | 'timeout' | 'closed' | 'protocol' | 'refused' | 'tls';

/** Bytes that crossed the raw TCP socket during a TLS handshake (what the client sent, what the server sent). */
export interface HandshakeBytes {
  sent: number;
  received: number;
}

export interface ProbeErrorDetails {
  cause?: unknown;
  /** The server reply that made the probe stop (e.g. STARTTLS answered with 454). */
  reply?: { code: number; text: string };
  /** For kind 'tls': raw bytes exchanged during the failed handshake. */
  bytes?: HandshakeBytes;
}

/** A probe could not do what it was asked; the message names host:port and what was awaited. */
export class ProbeError extends LabError {
  readonly kind: ProbeErrorKind;
  readonly endpoint: string;
  readonly reply: { code: number; text: string } | undefined;
  readonly bytes: HandshakeBytes | undefined;
  constructor(kind: ProbeErrorKind, endpoint: string, message: string, details: ProbeErrorDetails = {}) {
    super(message, hintFor(kind), 1, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.endpoint = endpoint;
    this.reply = details.reply;
    this.bytes = details.bytes;
  }
}

function hintFor(kind: ProbeErrorKind): string {
  switch (kind) {
    case 'connect':
      return 'Check that the lab host is running (`npm run lab:status`) and that the service listens on that port.';
    case 'timeout':
      return 'The service accepted the connection but did not answer in time; look at the mail log on the lab host.';
    case 'closed':
      return 'The server hung up; its mail log usually says why (postscreen, smtpd limits, TLS errors).';
    default:
      return '';
  }
}

/** "8 s", "1.5 s", "0.25 s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}

export function endpoint(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

export function errText(e: unknown): string {
  if (e instanceof Error) {
    const { code, syscall } = e as NodeJS.ErrnoException;
    if (code && syscall) return code; // "connect ECONNREFUSED 127.0.0.1:25" says nothing more than its code
    const msg = e.message.split('\n')[0]?.trim() ?? '';
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(e);
}

/** Opens a TCP connection (TCP_NODELAY); rejects with ProbeError('connect' | 'timeout'). */
export async function openTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  const ep = endpoint(host, port);
  try {
    return await connectTcp(host, port, timeoutMs);
  } catch (e) {
    if (!(e instanceof TcpConnectError)) throw e;
    if (e.kind === 'timeout') throw new ProbeError('timeout', ep, `no TCP connection within ${seconds(timeoutMs)} to ${ep}`);
    throw new ProbeError('connect', ep, `cannot connect to ${ep}: ${errText(e.cause)}`, { cause: e.cause });
  }
}

export interface TlsClientOptions {
  /** SNI name; default: the host when it is a name (never an IP address, RFC 6066). */
  servername?: string;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
}

export interface TlsInfo {
  /** 'TLSv1.3', 'TLSv1.2', ... as negotiated. */
  protocol: string;
  /** OpenSSL cipher name, e.g. 'TLS_AES_256_GCM_SHA384' or 'ECDHE-RSA-AES256-SHA'. */
  cipher: string;
  /** CN of the server certificate, when it has one (the lab's certificates are self-signed / snakeoil). */
  peerCN?: string;
}

export function defaultServername(host: string, servername?: string): string | undefined {
  if (servername !== undefined) return servername || undefined;
  return net.isIP(host) ? undefined : host;
}

/**
 * Runs a TLS client handshake over `raw` (certificates are not verified: the lab uses self-signed ones).
 * Rejects with ProbeError('tls' | 'timeout') carrying the Node error as cause and the raw bytes exchanged.
 * On failure both sockets are destroyed.
 */
export function tlsHandshake(
  raw: net.Socket,
  host: string,
  port: number,
  opts: TlsClientOptions,
  timeoutMs: number,
): Promise<{ socket: tls.TLSSocket; info: TlsInfo }> {
  const ep = endpoint(host, port);
  const before = { read: raw.bytesRead, written: raw.bytesWritten };
  const bytes = (): HandshakeBytes => ({ sent: raw.bytesWritten - before.written, received: raw.bytesRead - before.read });
  return new Promise((resolve, reject) => {
    let socket: tls.TLSSocket;
    try {
      const servername = defaultServername(host, opts.servername);
      socket = tls.connect({
        socket: raw,
        rejectUnauthorized: false,
        ...(servername ? { servername } : {}),
        ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
        ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
        ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
      });
    } catch (e) {
      // Node refuses some options synchronously (e.g. ERR_TLS_INVALID_PROTOCOL_VERSION): nothing was sent.
      raw.destroy();
      reject(new ProbeError('tls', ep, `cannot start TLS with ${ep}: ${tlsErrText(e)}`, { cause: e, bytes: bytes() }));
      return;
    }
    const fail = (err: ProbeError): void => {
      finish();
      socket.destroy();
      raw.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new ProbeError('timeout', ep, `no TLS handshake within ${seconds(timeoutMs)} with ${ep}`, { bytes: bytes() })),
      timeoutMs,
    );
    const onError = (e: Error): void => fail(new ProbeError('tls', ep, `TLS handshake with ${ep} failed: ${tlsErrText(e)}`, { cause: e, bytes: bytes() }));
    const onClose = (): void => fail(new ProbeError('closed', ep, `${ep} closed the connection during the TLS handshake (no TLS alert)`, { bytes: bytes() }));
    const onSecure = (): void => {
      finish();
      socket.on('error', () => undefined); // later errors surface through the session's reader
      const cipher = socket.getCipher();
      const cn = socket.getPeerCertificate()?.subject?.CN;
      const info: TlsInfo = { protocol: socket.getProtocol() ?? 'unknown', cipher: cipher.name };
      if (typeof cn === 'string') info.peerCN = cn;
      resolve({ socket, info });
    };
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('secureConnect', onSecure);
    };
    socket.on('error', onError);
    socket.once('close', onClose);
    socket.once('secureConnect', onSecure);
  });
}

/** "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION (tlsv1 alert protocol version, SSL alert number 70)". */
export function tlsErrText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  const reason = (e as { reason?: unknown }).reason;
  const alert = alertNumber(e);
  if (code && typeof reason === 'string') return `${code} (${reason}${alert === undefined ? '' : `, SSL alert number ${alert}`})`;
  return errText(e);
}

/** The TLS alert number when `e` says OpenSSL RECEIVED an alert from the peer ("... SSL alert number 70"). */
export function alertNumber(e: unknown): number | undefined {
  if (!(e instanceof Error)) return undefined;
  const m = /SSL alert number (\d+)/.exec(e.message);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
