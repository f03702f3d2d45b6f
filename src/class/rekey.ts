/**
 * Re-keying a clone before its first boot, written into its disk from the host (mounted, nothing running, so nobody
 * can reach it yet): what every copy of one checkpoint would otherwise share. The keys are made once per lab
 * (makeKeys) and written into every checkpoint the clone has (install), so that a `course start` or class:reset
 * that restores one keeps the lab's own keys:
 *   - host name (the lab's name) and machine id;
 *   - SSH host keys (ssh-keygen -A); pinned on the lab's first connect;
 *   - the mail user's password (the lab's own credentials file, set as the runbook's `user` step sets it: chpasswd,
 *     the secret on stdin, never in a command line or log), where the checkpoint has the user;
 *   - the TLS key and certificate Postfix and Dovecot use (the runbook's paths), made with openssl with the
 *     runbook's subject (CN = the lab's mail host name), mode and owner of the files they replace kept;
 *   - the learner's own SSH key pair: the public key in vagrant's ~/.ssh/authorized_keys2 (the driver rewrites
 *     authorized_keys with the installation key on every boot; sshd reads both files);
 *   - or (--learner-login password, or both) the learner's own password for vagrant, set with chpasswd as the mail
 *     user's is, and kept in the learner's folder (0600);
 *   - sshd's password login (login.ts): refused, except for vagrant where the class logs in with passwords.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { passwdEntry, run, runWithInput } from '../drivers/container/sys.js';
import { generatePassword, writePrivate } from '../lab/state.js';
import { LAB_USER, type LearnerLogin, PASSWORD_FILE, SSHD_DROP_IN, sshdDropIn, usesKey, usesPassword } from './login.js';

/** Postfix's certificate and key per platform, as roles/03-dovecot-sasl-tls names them (the container runs debian12). */
export const TLS_FILES = [
  { cert: '/etc/ssl/certs/ssl-cert-snakeoil.pem', key: '/etc/ssl/private/ssl-cert-snakeoil.key' },
  { cert: '/etc/pki/tls/certs/postfix.pem', key: '/etc/pki/tls/private/postfix.key' },
];

export interface RekeyInput {
  lab: string;
  mailHost: string;
  mailUser: string;
  password: string;
  /** The learner's folder: their key pair (id_ed25519, id_ed25519.pub) or password stays there; the lab's keys pass through. */
  learnerDir: string;
  login: LearnerLogin;
}

export interface Keys {
  machineId: string;
  /** ssh_host_* files: name -> content */
  hostKeyFiles: Record<string, string>;
  /** The host keys' public lines ("type base64 comment"). */
  hostKeys: string[];
  tls: { key: string; cert: string };
  /** The learner's public key (a login with a key). */
  learnerPublicKey?: string;
  /** The learner's password for vagrant (a login with a password); it is also in their folder's PASSWORD_FILE. */
  learnerPassword?: string;
}

/** Every key of one lab, made once (on the host, in a folder removed afterwards). */
export async function makeKeys(i: RekeyInput): Promise<Keys> {
  const tmp = join(i.learnerDir, '.keys');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'etc', 'ssh'), { recursive: true, mode: 0o700 });
  try {
    await run`ssh-keygen -q -A -f ${tmp}`;
    const sshDir = join(tmp, 'etc', 'ssh');
    const names = readdirSync(sshDir).filter((f) => f.startsWith('ssh_host_'));
    const hostKeyFiles = Object.fromEntries(names.map((f) => [f, readFileSync(join(sshDir, f), 'utf8')]));
    const hostKeys = names.filter((f) => f.endsWith('.pub')).map((f) => hostKeyFiles[f]!.trim());
    if (!hostKeys.length) throw new LabError(`lab ${i.lab}: ssh-keygen -A made no host keys`, 'Run class:down, then class:up again.');
    const [key, cert] = [join(tmp, 'tls.key'), join(tmp, 'tls.pem')];
    await run`openssl req -new -x509 -nodes -sha256 -days 3650 -newkey rsa:2048 -subj ${`/CN=${i.mailHost}`} -keyout ${key} -out ${cert}`;
    const tls = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    const keyFile = join(i.learnerDir, 'id_ed25519');
    const passwordFile = join(i.learnerDir, PASSWORD_FILE);
    for (const f of [keyFile, `${keyFile}.pub`, passwordFile]) rmSync(f, { force: true });
    let learnerPublicKey: string | undefined;
    if (usesKey(i.login)) {
      await run`ssh-keygen -q -t ed25519 -N ${''} -C ${`${i.lab} learner`} -f ${keyFile}`;
      chmodSync(keyFile, 0o600);
      learnerPublicKey = readFileSync(`${keyFile}.pub`, 'utf8').trim();
    }
    const learnerPassword = usesPassword(i.login) ? generatePassword() : undefined;
    if (learnerPassword) writePrivate(passwordFile, `${learnerPassword}\n`);
    return { machineId: randomBytes(16).toString('hex'), hostKeyFiles, hostKeys, tls, learnerPublicKey, learnerPassword };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Replace `path` (when it exists) with `content`, keeping its mode and owner. */
function replaceKeeping(path: string, content: string): void {
  const st = statSync(path);
  writeFileSync(`${path}.new`, content, { mode: 0o600 });
  chownSync(`${path}.new`, st.uid, st.gid);
  chmodSync(`${path}.new`, st.mode & 0o7777);
  renameSync(`${path}.new`, path);
}

/** Write the lab's keys into a mounted disk `root`; says what it changed. */
export async function install(root: string, i: RekeyInput, k: Keys): Promise<{ passwordSet: boolean; tls: boolean }> {
  const etc = join(root, 'etc');
  writeFileSync(join(etc, 'hostname'), `${i.lab}\n`);
  const hosts = join(etc, 'hosts');
  if (existsSync(hosts)) {
    const lines = readFileSync(hosts, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('127.0.1.1'));
    writeFileSync(hosts, `${lines.join('\n').replace(/\n*$/, '\n')}127.0.1.1\t${i.lab}\n`);
  }
  if (existsSync(join(etc, 'machine-id'))) writeFileSync(join(etc, 'machine-id'), `${k.machineId}\n`);

  const sshDir = join(etc, 'ssh');
  for (const f of readdirSync(sshDir)) if (f.startsWith('ssh_host_')) rmSync(join(sshDir, f));
  for (const [f, content] of Object.entries(k.hostKeyFiles)) {
    writeFileSync(join(sshDir, f), content, { mode: f.endsWith('.pub') ? 0o644 : 0o600 });
    chownSync(join(sshDir, f), 0, 0);
  }

  const passwordSet = passwdEntry(root, i.mailUser) !== undefined;
  if (passwordSet) await runWithInput(`${i.mailUser}:${i.password}\n`)`chpasswd -R ${root}`;

  let tls = false;
  for (const t of TLS_FILES) {
    const [key, cert] = [join(root, t.key), join(root, t.cert)];
    if (!existsSync(key) || !existsSync(cert)) continue;
    replaceKeeping(key, k.tls.key);
    replaceKeeping(cert, k.tls.cert);
    tls = true;
  }

  const v = passwdEntry(root, LAB_USER);
  if (!v) throw new LabError(`lab ${i.lab}: its disk has no ${LAB_USER} user`, 'The checkpoint is damaged: run class:down, then class:up.');
  const ssh = join(root, v.home, '.ssh');
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  chownSync(ssh, v.uid, v.gid);
  const ak2 = join(ssh, 'authorized_keys2');
  rmSync(ak2, { force: true });
  if (k.learnerPublicKey) {
    writeFileSync(ak2, `${k.learnerPublicKey}\n`, { mode: 0o600 });
    chownSync(ak2, v.uid, v.gid);
  }
  // the password where asked (on stdin, as the mail user's), sshd's password login for vagrant only or nobody
  if (k.learnerPassword) await runWithInput(`${LAB_USER}:${k.learnerPassword}\n`)`chpasswd -R ${root}`;
  const dropIn = join(root, SSHD_DROP_IN);
  writeFileSync(dropIn, sshdDropIn(i.login), { mode: 0o644 });
  chownSync(dropIn, 0, 0);
  return { passwordSet, tls };
}
