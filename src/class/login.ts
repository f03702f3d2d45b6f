/**
 * How a learner logs in to their own lab (class:up --learner-login), pure: the flag's values, the sshd drop-in the
 * re-key writes into every checkpoint of a clone, and the command line and handout words a learner is given.
 *   - key (the default): the learner's own ed25519 key pair, no password login at all;
 *   - password: the learner's own random password for the lab user, no key pair;
 *   - both: the key pair and the password.
 * Password login is allowed for the lab user only (a Match block), and only where the trainer asked for it: every
 * other user (the mail user has a password too) and every class made without it are refused a password.
 */
import { InputError } from '../errors.js';

export const LEARNER_LOGINS = ['key', 'password', 'both'] as const;
export type LearnerLogin = (typeof LEARNER_LOGINS)[number];

/** The user a learner logs in as (the driver's user, passwordless sudo). */
export const LAB_USER = 'vagrant';
/** The re-key's sshd settings; sshd reads sshd_config.d/*.conf before sshd_config, and the first value wins. */
export const SSHD_DROP_IN = 'etc/ssh/sshd_config.d/postfix-lab-class.conf';
/** The learner's password, in their folder (0600). */
export const PASSWORD_FILE = 'ssh-password';

export const usesKey = (l: LearnerLogin) => l !== 'password';
export const usesPassword = (l: LearnerLogin) => l !== 'key';

/** --learner-login: key, password or both (default key); exit 2 otherwise. */
export function checkLearnerLogin(given: unknown): LearnerLogin {
  if (given === undefined) return 'key';
  if (typeof given === 'string' && (LEARNER_LOGINS as readonly string[]).includes(given)) return given as LearnerLogin;
  throw new InputError(
    `--learner-login: ${JSON.stringify(given)} is not a way to log in`,
    'Give key (each learner their own SSH key pair, the default), password (their own password instead) or both, e.g. npm run class:up -- --learners 10 --learner-login password',
  );
}

/** The drop-in's text: no password login, except for the lab user where the class logs in with passwords. */
export function sshdDropIn(login: LearnerLogin, user = LAB_USER): string {
  const lines = [
    `# made by class:up (--learner-login ${login}): password login ${usesPassword(login) ? `for ${user} only` : 'for nobody'}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
  ];
  if (usesPassword(login)) lines.push(`Match User ${user}`, '  PasswordAuthentication yes');
  return `${lines.join('\n')}\n`;
}

export interface SshLine {
  login: LearnerLogin;
  lab: string;
  port: number;
  at: string;
  knownHosts: string;
  /** The learner's private key (used when the login has a key). */
  keyFile: string;
}

/** The command a learner types to reach their lab, pinned to its host keys: with their key, or asking for the password. */
export function learnerSshCommand(s: SshLine): string {
  const how = usesKey(s.login) ? `-i ${s.keyFile} -o IdentitiesOnly=yes` : '-o PreferredAuthentications=password -o PubkeyAuthentication=no';
  return `ssh ${how} -p ${s.port} -o HostKeyAlias=${s.lab} -o UserKnownHostsFile=${s.knownHosts} -o StrictHostKeyChecking=yes ${LAB_USER}@${s.at}`;
}

/** What the handout says about logging in (never the password, only where it is). */
export function loginNote(login: LearnerLogin, keyFile: string, passwordFile: string): string {
  const password = `the password in ${passwordFile} (type it when ssh asks for ${LAB_USER}'s password)`;
  if (login === 'key') return `with your own key ${keyFile} (the command above uses it)`;
  if (login === 'password') return `with ${password}`;
  return `with your own key ${keyFile} (the command above uses it), or with ${password}`;
}
