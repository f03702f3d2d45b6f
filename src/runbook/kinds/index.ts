/** The registry of step kinds: the key a role uses -> the module that implements it. */
import { command } from './command.js';
import { download } from './download.js';
import { file } from './file.js';
import { line } from './line.js';
import { master } from './master.js';
import { pkg } from './package.js';
import { postconfKind } from './postconf.js';
import { ready } from './ready.js';
import { service } from './service.js';
import type { StepKind } from './types.js';
import { user } from './user.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry of kinds, each with its own parameter type
export const kinds: Record<string, StepKind<any>> = {
  command,
  package: pkg,
  file,
  line,
  postconf: postconfKind,
  master,
  service,
  user,
  download,
  ready,
};

export type { StepKind, KindContext, CheckResult } from './types.js';
