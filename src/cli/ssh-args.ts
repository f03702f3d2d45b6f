/** OpenSSH arguments for lab:ssh: the lab's key, and the host key pinned for this lab (never the user's known_hosts). */
import { writeFileSync } from 'node:fs';
import type { SshTarget } from '../ssh/target.js';
import { pinnedKnownHostsLines } from '../ssh/known-hosts.js';
import { checkOwnFolder, labState, stateRoot } from '../lab/state.js';

/** `root`: where the labs' state folders live (default: POSTFIX_LAB_HOME or .lab/). */
export function sshArgs(t: SshTarget, lab: string, command: string[], root = stateRoot()): string[] {
  const s = labState(lab, root);
  checkOwnFolder(s);
  const knownHosts = `${s.dir}/ssh_known_hosts`;
  writeFileSync(knownHosts, pinnedKnownHostsLines(s.knownHostsFile).join('\n') + '\n', { mode: 0o600 });
  return [
    '-i',
    t.identityFile,
    '-p',
    String(t.port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'LogLevel=ERROR',
    `${t.user}@${t.host}`,
    ...command,
  ];
}
