/** The probe layer: each question asked of a host (system/), used by step kinds and check kinds (the expectations). */
export { defineProbe, type Asker, type Probe } from './probe.js';
export { serviceState, STARTS_AT_BOOT, type ServiceState } from './service.js';
export { packages, type PackageState } from './package.js';
export { parseSettings, postconf, postconfSet, postconfValue, type PostconfValue } from './postconf.js';
export { fileSizes, fileStat, fileText, type FileStat } from './file.js';
export { portListening } from './port.js';
export { knock, openTcp, readFirst, TcpConnectError } from './tcp.js';
export { pollUntil, stop, type PollOptions, type PollResult } from './poll.js';
