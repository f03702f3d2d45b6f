/** Network probes for `npm run verify`: hand-written SMTP/TLS clients over node:net and node:tls. */
export { ProbeError, type ProbeErrorKind, type TlsInfo, type HandshakeBytes } from './common.js';
export { SmtpSession, type Banner, type CommandReply, type ConnectOptions, type EhloReply, type Reply } from './smtp.js';
export { probeSsl3, probeTlsVersion, type TlsVersion, type TlsVersionOutcome, type TlsVersionProbe, type TlsVersionResult } from './tls-version.js';
export {
  probePostscreenGreeting,
  probePregreet,
  type PostscreenGreeting,
  type PregreetOutcome,
  type PregreetProbe,
  type PostscreenProbe,
} from './postscreen.js';
