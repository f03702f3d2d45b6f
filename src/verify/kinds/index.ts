/** The registry of check kinds: the key a check file uses -> the module that implements it. */
import type { CheckKind } from '../types.js';
import { delivery } from './delivery.js';
import { log } from './log.js';
import { postscreen } from './postscreen.js';
import { command, file, pkg, postconf, postmulti, service } from './remote.js';
import { smtp } from './smtp.js';
import { tcp } from './tcp.js';
import { tls } from './tls.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry of kinds, each with its own parameter type
export const checkKinds: Record<string, CheckKind<any>> = {
  tcp,
  smtp,
  tls,
  postscreen,
  postconf,
  postmulti,
  file,
  service,
  command,
  log,
  package: pkg,
  delivery,
};
