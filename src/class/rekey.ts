/**
 * Re-keying a clone before its first boot, written into its upper layer from the host (its disk mounted, nothing
 * running, so nobody can reach it yet): what every copy of one checkpoint would otherwise share.
 *   - host name (the lab's name) and machine id;
 *   - SSH host keys (removed, made again with ssh-keygen -A into the lab's root); pinned on the first connect;
 *   - the mail user's password (the lab's own credentials file, set as the runbook's `user` step sets it: chpasswd,
 *     the secret on stdin, never in a command line or log) when the checkpoint has the user already;
 *   - the TLS key and certificate Postfix and Dovecot use (the runbook's paths), made again with openssl with the
 *     same subject form as the runbook's (CN = the lab's mail host name), mode and owner kept;
 *   - the learner's own SSH key pair: the public key in vagrant's ~/.ssh/authorized_keys2 (the driver rewrites
 *     authorized_keys with the installation key on every boot, and sshd reads both files).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.js';
import { passwdEntry, run, runWithInput } from '../drivers/container/sys.js';

/** Postfix's certificate and key per platform, as roles/03-dovecot-sasl-tls names them (the container runs debian12). */
export const TLS_FILES = [
  { cert: '/etc/ssl/certs/ssl-cert-snakeoil.pem', key: '/etc/ssl/private/ssl-cert-snakeoil.key' },
  { cert: '/etc/pki/tls/certs/postfix.pem', key: '/etc/pki/tls/private/postfix.key' },
];

export interface RekeyInput {
  root: string;
  lab: string;
  mailHost: string;
  mailUser: string;
  password: string;
  /** The learner's key pair is written here (id_ed25519, id_ed25519.pub). */
  learnerKey: string;
}

export interface Rekeyed {
  /** The new host keys' public lines ("type base64 comment"). */
  hostKeys: string[];
  passwordSet: boolean;
  tls: boolean;
  learnerPublicKey: string;
}

function sameOwner(path: string, like: { uid: number; gid: number; mode: number }): void {
  chownSync(path, like.uid, like.gid);
  chmodSync(path, like.mode & 0o7777);
}

export async function rekey(i: RekeyInput): Promise<Rekeyed> {
  const etc = join(i.root, 'etc');
  writeFileSync(join(etc, 'hostname'), `${i.lab}\n`);
  const hosts = join(etc, 'hosts');
  if (existsSync(hosts)) {
    const lines = readFileSync(hosts, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('127.0.1.1'));
    writeFileSync(hosts, `${lines.join('\n').replace(/\n*$/, '\n')}127.0.1.1\t${i.lab}\n`);
  }
  if (existsSync(join(etc, 'machine-id'))) writeFileSync(join(etc, 'machine-id'), `${randomBytes(16).toString('hex')}\n`);

  const sshDir = join(etc, 'ssh');
  for (const f of readdirSync(sshDir)) if (f.startsWith('ssh_host_')) rmSync(join(sshDir, f));
  await run`ssh-keygen -q -A -f ${i.root}`;
  const hostKeys = readdirSync(sshDir)
    .filter((f) => /^ssh_host_.*_key\.pub$/.test(f))
    .map((f) => readFileSync(join(sshDir, f), 'utf8').trim());
  if (!hostKeys.length) throw new LabError(`lab ${i.lab}: ssh-keygen -A made no host keys in ${sshDir}`, 'Run class:up again.');

  const passwordSet = passwdEntry(i.root, i.mailUser) !== undefined;
  if (passwordSet) await runWithInput(`${i.mailUser}:${i.password}\n`)`chpasswd -R ${i.root}`;

  let tls = false;
  for (const t of TLS_FILES) {
    const key = join(i.root, t.key);
    const cert = join(i.root, t.cert);
    if (!existsSync(key) || !existsSync(cert)) continue;
    const [ks, cs] = [statSync(key), statSync(cert)];
    await run`openssl req -new -x509 -nodes -sha256 -days 3650 -newkey rsa:2048 -subj ${`/CN=${i.mailHost}`} -keyout ${`${key}.new`} -out ${`${cert}.new`}`;
    sameOwner(`${key}.new`, ks);
    sameOwner(`${cert}.new`, cs);
    renameSync(`${key}.new`, key);
    renameSync(`${cert}.new`, cert);
    tls = true;
  }

  mkdirSync(i.learnerKey, { recursive: true, mode: 0o700 });
  const keyFile = join(i.learnerKey, 'id_ed25519');
  for (const f of [keyFile, `${keyFile}.pub`]) rmSync(f, { force: true });
  await run`ssh-keygen -q -t ed25519 -N ${''} -C ${`${i.lab} learner`} -f ${keyFile}`;
  chmodSync(keyFile, 0o600);
  const learnerPublicKey = readFileSync(`${keyFile}.pub`, 'utf8').trim();
  const v = passwdEntry(i.root, 'vagrant');
  if (!v) throw new LabError(`lab ${i.lab}: its disk has no vagrant user`, 'The checkpoint is damaged: run class:down, then class:up.');
  const ssh = join(i.root, v.home, '.ssh');
  mkdirSync(ssh, { recursive: true, mode: 0o700 });
  chownSync(ssh, v.uid, v.gid);
  const ak2 = join(ssh, 'authorized_keys2');
  writeFileSync(ak2, `${learnerPublicKey}\n`, { mode: 0o600 });
  chownSync(ak2, v.uid, v.gid);
  return { hostKeys, passwordSet, tls, learnerPublicKey };
}
