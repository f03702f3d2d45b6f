/**
 * Does a server accept one TLS protocol version? The probe offers exactly that version (minVersion = maxVersion) with
 * ciphers 'DEFAULT:@SECLEVEL=0' so Node's OpenSSL 3 can offer TLS 1.0/1.1 at all, then tells apart:
 *  - 'refused-by-server': OpenSSL received a TLS alert from the server (Node: code ERR_SSL_TLSV1_ALERT_* /
 *    ERR_SSL_SSLV3_ALERT_*, message "... SSL alert number N"; alert 70 = protocol_version);
 *  - 'client-cannot-offer': our own OpenSSL refused (ERR_SSL_NO_PROTOCOLS_AVAILABLE, ERR_SSL_NO_CIPHERS_AVAILABLE before
 *    any ClientHello; ERR_SSL_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED after the server answered at a default security
 *    level; ERR_TLS_INVALID_PROTOCOL_VERSION / _METHOD thrown by Node): inconclusive, read the setting over SSH;
 *  - 'error': anything else (no connection, no STARTTLS, the server hung up without an alert, not TLS at all).
 */
import tls from 'node:tls';
import { alertNumber, endpoint, errText, type HandshakeBytes, openTcp, ProbeError, tlsErrText, tlsHandshake } from './common.js';
import { SmtpSession } from './smtp.js';

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
export const LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0';

export interface TlsVersionProbe {
  host: string;
  port: number;
  /** Plain SMTP first, EHLO, then STARTTLS (25, 587); false: TLS on connect (465). */
  starttls: boolean;
  version: TlsVersion;
  timeoutMs: number;
  servername?: string;
  /** OpenSSL cipher string offered; default 'DEFAULT:@SECLEVEL=0'. Only tests should change it. */
  ciphers?: string;
  /** EHLO name before STARTTLS; default 'probe.invalid'. */
  ehloName?: string;
}

export type TlsVersionResult = 'accepted' | 'refused-by-server' | 'client-cannot-offer' | 'error';

export interface TlsVersionOutcome {
  result: TlsVersionResult;
  /** Negotiated protocol when accepted. */
  protocol?: string;
  cipher?: string;
  /** TLS alert number received from the server (70 = protocol_version, 40 = handshake_failure, ...). */
  alert?: number;
  /** Node's error code when the handshake failed, e.g. 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'. */
  code?: string;
  /** Raw bytes sent / received during the handshake (evidence: a server alert needs bytes from the server). */
  bytes?: HandshakeBytes;
  detail: string;
}

/** OpenSSL / Node errors that mean: our side would not (or could not) do this handshake. */
const CLIENT_SIDE = new Set([
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_SSL_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED',
  'ERR_SSL_CA_MD_TOO_WEAK',
  'ERR_SSL_EE_KEY_TOO_SMALL',
  'ERR_SSL_DH_KEY_TOO_SMALL',
  'ERR_TLS_INVALID_PROTOCOL_VERSION',
  'ERR_TLS_INVALID_PROTOCOL_METHOD',
]);

/** Alert numbers for Node codes, in case a message lacks "SSL alert number N". */
const ALERTS: Record<string, number> = {
  HANDSHAKE_FAILURE: 40,
  BAD_CERTIFICATE: 42,
  ILLEGAL_PARAMETER: 47,
  DECODE_ERROR: 50,
  DECRYPT_ERROR: 51,
  PROTOCOL_VERSION: 70,
  INSUFFICIENT_SECURITY: 71,
  INTERNAL_ERROR: 80,
  INAPPROPRIATE_FALLBACK: 86,
  UNRECOGNIZED_NAME: 112,
};

/**
 * 70: the version is excluded by the server's configuration (smtpd_tls_protocols); 80: measured from an OpenSSL 3 server
 * at its default security level, which cannot sign a TLS 1.0/1.1 handshake (SHA-1) even when the version is allowed.
 */
function alertName(alert: number | undefined): string {
  const name = Object.entries(ALERTS)
    .find(([, n]) => n === alert)?.[0]
    ?.toLowerCase();
  return name ? ` (${name})` : '';
}

/** Classifies a failed handshake. Exported for tests. */
export function classifyTlsFailure(cause: unknown, bytes: HandshakeBytes | undefined, version: TlsVersion): TlsVersionOutcome {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const m = code ? /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_(.+)$/.exec(code) : null;
  const alert = alertNumber(cause) ?? (m?.[1] ? ALERTS[m[1]] : undefined);
  const base = { ...(code ? { code } : {}), ...(bytes ? { bytes } : {}) };
  const seen = bytes ? ` (sent ${bytes.sent} bytes, received ${bytes.received})` : '';
  if (alert !== undefined || m) {
    return {
      result: 'refused-by-server',
      ...(alert === undefined ? {} : { alert }),
      ...base,
      detail: `the server answered a ${version}-only ClientHello with TLS alert ${alert ?? '?'}${alertName(alert)}: ${tlsErrText(cause)}${seen}`,
    };
  }
  if (code && (CLIENT_SIDE.has(code) || (bytes?.received === 0 && code.startsWith('ERR_SSL_')))) {
    const when = bytes?.received ? 'after the server answered' : 'before the server said anything';
    return {
      result: 'client-cannot-offer',
      ...base,
      detail: `this client (Node ${process.version}, OpenSSL ${process.versions.openssl}) refused the ${version} handshake itself ${when}: ${tlsErrText(cause)}${seen}; inconclusive, read the server setting instead`,
    };
  }
  return { result: 'error', ...base, detail: `${version} handshake failed without a server alert: ${tlsErrText(cause)}${seen}` };
}

export async function probeTlsVersion(p: TlsVersionProbe): Promise<TlsVersionOutcome> {
  if (!TLS_VERSIONS.includes(p.version)) throw new ProbeError('protocol', endpoint(p.host, p.port), `unknown TLS version ${JSON.stringify(p.version)}`);
  const tlsOpts = { minVersion: p.version as tls.SecureVersion, maxVersion: p.version as tls.SecureVersion, ciphers: p.ciphers ?? LEGACY_CIPHERS };
  let session: SmtpSession | undefined;
  try {
    if (p.starttls) {
      session = await SmtpSession.connect({ host: p.host, port: p.port, timeoutMs: p.timeoutMs, ...(p.servername ? { servername: p.servername } : {}) });
      if (session.banner?.code !== 220) return { result: 'error', detail: `banner was not 220: ${session.banner?.raw.join(' | ')}` };
      const ehlo = await session.ehlo(p.ehloName ?? 'probe.invalid');
      if (!ehlo.capabilities.includes('STARTTLS')) return { result: 'error', detail: `${session.endpoint} does not offer STARTTLS (EHLO ${ehlo.code})` };
      const info = await session.starttls(tlsOpts);
      return { result: 'accepted', protocol: info.protocol, cipher: info.cipher, detail: `${p.version} accepted, cipher ${info.cipher}` };
    }
    const raw = await openTcp(p.host, p.port, p.timeoutMs);
    const { socket, info } = await tlsHandshake(raw, p.host, p.port, { ...tlsOpts, ...(p.servername ? { servername: p.servername } : {}) }, p.timeoutMs);
    socket.destroy();
    return { result: 'accepted', protocol: info.protocol, cipher: info.cipher, detail: `${p.version} accepted, cipher ${info.cipher}` };
  } catch (e) {
    if (e instanceof ProbeError && e.kind === 'tls') return classifyTlsFailure(e.cause, e.bytes, p.version);
    return { result: 'error', detail: e instanceof Error ? e.message : errText(e) };
  } finally {
    session?.close();
  }
}

/**
 * SSLv3 cannot be offered by Node (OpenSSL 3 has no SSLv3 method; Node throws ERR_TLS_INVALID_PROTOCOL_METHOD
 * "SSLv3 methods disabled"). Always inconclusive on the wire: the caller reads smtpd_tls_protocols /
 * smtpd_tls_mandatory_protocols over SSH instead. Nothing is sent to the server.
 */
export async function probeSsl3(p: Omit<TlsVersionProbe, 'version'>): Promise<TlsVersionOutcome> {
  let why: string;
  let code: string | undefined;
  try {
    tls.createSecureContext({ secureProtocol: 'SSLv3_method' });
    why = 'this Node accepted an SSLv3 context, but this probe does not try SSLv3 on the wire';
  } catch (e) {
    code = (e as NodeJS.ErrnoException).code;
    why = errText(e);
  }
  return {
    result: 'client-cannot-offer',
    ...(code ? { code } : {}),
    detail: `Node ${process.version} (OpenSSL ${process.versions.openssl}) cannot offer SSLv3 to ${endpoint(p.host, p.port)} (${why}); read the setting over SSH (postconf -h smtpd_tls_protocols smtpd_tls_mandatory_protocols)`,
  };
}
