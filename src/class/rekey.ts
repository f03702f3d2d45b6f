/**
 * Re-keying a clone before its first boot, written from the host into its disk (nothing running, so nobody can
 * reach it yet): what every copy of one checkpoint would otherwise share. The keys are made once per lab (makeKeys)
 * and written into every checkpoint the clone has, as one new frozen layer per checkpoint (rekeyEdit, written by
 * clone.ts layerOnSnapshots: no mount), so that a `course start` or class:reset that restores one keeps the lab's
 * own keys:
 *   - host name (the lab's name) and machine id;
 *   - SSH host keys of the types the image's sshd serves (HOST_KEY_TYPES), any other host key file hidden;
 *     pinned on the lab's first connect;
 *   - the mail user's password (the lab's own credentials file), hashed once per lab (`openssl passwd -6`, the secret
 *     on stdin, never in a command line or log) and set in each checkpoint's /etc/shadow that has the user;
 *   - the TLS key and certificate Postfix and Dovecot use (the runbook's paths), made with openssl with the
 *     runbook's subject (CN = the lab's mail host name), mode and owner of the files they replace kept; made only
 *     when a checkpoint of the clone has them;
 *   - the learner's own SSH key pair: the public key in vagrant's ~/.ssh/authorized_keys2 (the driver rewrites
 *     authorized_keys with the installation key on every boot; sshd reads both files);
 *   - or (--learner-login password, or both) the learner's own password for vagrant, set as the mail user's is,
 *     and kept in the learner's folder (0600);
 *   - sshd's password login (login.ts): refused, except for vagrant where the class logs in with passwords.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerEdit, LayerFile, LayerView, Owner } from '../drivers/container/layer-edit.js';
import { commands } from '../drivers/local/commands.js';
import { run } from '../drivers/container/sys.js';
import { LabError } from '../errors.js';
import { generatePassword, writePrivate } from '../lab/state.js';
import { LAB_USER, type LearnerLogin, PASSWORD_FILE, SSHD_DROP_IN, sshdDropIn, usesKey, usesPassword } from './login.js';

/** Postfix's certificate and key per platform, as roles/03-dovecot-sasl-tls names them (the container runs debian12). */
export const TLS_FILES = [
  { cert: 'etc/ssl/certs/ssl-cert-snakeoil.pem', key: 'etc/ssl/private/ssl-cert-snakeoil.key' },
  { cert: 'etc/pki/tls/certs/postfix.pem', key: 'etc/pki/tls/private/postfix.key' },
];

/**
 * The host key types the lab's sshd serves: the image's drop-in names exactly these (bake.sh: HostKey
 * ssh_host_ed25519_key, ssh_host_ecdsa_key), as does its first-boot unit that makes them. An RSA key (what
 * `ssh-keygen -A` adds, 3072 bits: the slow one) would never be offered, so it is not made, and any other host key
 * file a checkpoint has is hidden. OpenSSH clients and ssh2 (the driver) take either type.
 */
export const HOST_KEY_TYPES = ['ed25519', 'ecdsa'] as const;

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
  /** Made only when a checkpoint has the TLS files. */
  tls?: { key: string; cert: string };
  /** The learner's public key (a login with a key). */
  learnerPublicKey?: string;
  /** The learner's password for vagrant (a login with a password); it is also in their folder's PASSWORD_FILE. */
  learnerPassword?: string;
  /** crypt(3) hashes for /etc/shadow: the mail user's password, the learner's. */
  hashes: { mail: string; learner?: string };
}

/** SHA-512 crypt hashes of `passwords`, one `openssl passwd` for all, the passwords on its stdin only. */
export async function hashPasswords(passwords: string[]): Promise<string[]> {
  if (passwords.some((p) => /[\n\r]/.test(p))) throw new LabError('a password has a line break', 'Run class:down, then class:up again.');
  const r = await commands({ input: passwords.map((p) => `${p}\n`).join('') }).probe`openssl passwd -6 -stdin`;
  const out = r.stdout.split('\n').filter(Boolean);
  // never the output in the error: it holds hashes of the secrets
  if (r.code !== 0 || out.length !== passwords.length || !out.every((h) => h.startsWith('$6$')))
    throw new LabError(
      `openssl passwd could not hash the lab's passwords (exit ${r.code})`,
      'Check that openssl works on this machine: openssl passwd -6 -stdin',
    );
  return out;
}

/** Whether the checkpoint has the TLS key and certificate of one of the platforms (then the clone needs its own). */
export const hasTls = (view: LayerView) => TLS_FILES.some((t) => view.exists(t.key) && view.exists(t.cert));

/** Every key of one lab, made once (on the host, in a folder removed afterwards), the slow ones side by side. */
export async function makeKeys(i: RekeyInput, need: { tls: boolean }): Promise<Keys> {
  const tmp = join(i.learnerDir, '.keys');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  try {
    const keyFile = join(i.learnerDir, 'id_ed25519');
    const passwordFile = join(i.learnerDir, PASSWORD_FILE);
    for (const f of [keyFile, `${keyFile}.pub`, passwordFile]) rmSync(f, { force: true });
    const learnerPassword = usesPassword(i.login) ? generatePassword() : undefined;
    const [key, cert] = [join(tmp, 'tls.key'), join(tmp, 'tls.pem')];
    const [hashes] = await Promise.all([
      hashPasswords([i.password, ...(learnerPassword ? [learnerPassword] : [])]),
      ...HOST_KEY_TYPES.map((t) => run`ssh-keygen -q -t ${t} -N ${''} -C ${`root@${i.lab}`} -f ${join(tmp, `ssh_host_${t}_key`)}`),
      need.tls && run`openssl req -new -x509 -nodes -sha256 -days 3650 -newkey rsa:2048 -subj ${`/CN=${i.mailHost}`} -keyout ${key} -out ${cert}`,
      usesKey(i.login) && run`ssh-keygen -q -t ed25519 -N ${''} -C ${`${i.lab} learner`} -f ${keyFile}`,
    ]);
    const names = HOST_KEY_TYPES.flatMap((t) => [`ssh_host_${t}_key`, `ssh_host_${t}_key.pub`]);
    const hostKeyFiles = Object.fromEntries(names.map((f) => [f, readFileSync(join(tmp, f), 'utf8')]));
    const hostKeys = names.filter((f) => f.endsWith('.pub')).map((f) => hostKeyFiles[f]!.trim());
    const tls = need.tls ? { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') } : undefined;
    let learnerPublicKey: string | undefined;
    if (usesKey(i.login)) {
      chmodSync(keyFile, 0o600);
      learnerPublicKey = readFileSync(`${keyFile}.pub`, 'utf8').trim();
    }
    if (learnerPassword) writePrivate(passwordFile, `${learnerPassword}\n`);
    const machineId = randomBytes(16).toString('hex');
    return { machineId, hostKeyFiles, hostKeys, tls, learnerPublicKey, learnerPassword, hashes: { mail: hashes[0]!, learner: hashes[1] } };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** /etc/shadow with `user`'s password hash replaced and its last change set to `day` (as chpasswd does); undefined when the user has no line. */
export function withPassword(shadow: string, user: string, hash: string, day: number): string | undefined {
  let found = false;
  const lines = shadow.split('\n').map((l) => {
    const f = l.split(':');
    if (f[0] !== user || f.length < 3) return l;
    found = true;
    f[1] = hash;
    f[2] = String(day);
    return f.join(':');
  });
  return found ? lines.join('\n') : undefined;
}

/** A user's uid, gid and home in the checkpoint's /etc/passwd. */
function passwdUser(view: LayerView, user: string): { uid: number; gid: number; home: string } | undefined {
  const f = (view.read('etc/passwd') ?? '')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))
    ?.split(':');
  return f && f.length >= 6 ? { uid: Number(f[2]), gid: Number(f[3]), home: f[5] || `/home/${user}` } : undefined;
}

const ROOT_FILE: Owner = { mode: 0o644, uid: 0, gid: 0 };

/** What the re-key changes in one checkpoint `view` of the lab: its files (replaced whole) and what it hides. */
export function rekeyEdit(view: LayerView, i: RekeyInput, k: Keys, day = Math.floor(Date.now() / 86_400_000)): LayerEdit {
  const files: LayerFile[] = [];
  const remove: string[] = [];
  /** a file of the lab, replaced: its mode and owner kept, or `fresh` where it has none */
  const put = (path: string, content: string, fresh: Owner = ROOT_FILE) => files.push({ path, content, ...(view.owner(path) ?? fresh) });
  put('etc/hostname', `${i.lab}\n`);
  const hosts = view.read('etc/hosts');
  if (hosts !== undefined) {
    const lines = hosts.split('\n').filter((l) => !l.startsWith('127.0.1.1'));
    put('etc/hosts', `${lines.join('\n').replace(/\n*$/, '\n')}127.0.1.1\t${i.lab}\n`);
  }
  if (view.exists('etc/machine-id')) put('etc/machine-id', `${k.machineId}\n`);

  for (const f of view.list('etc/ssh')) if (f.startsWith('ssh_host_') && !(f in k.hostKeyFiles)) remove.push(`etc/ssh/${f}`);
  for (const [f, content] of Object.entries(k.hostKeyFiles))
    files.push({ path: `etc/ssh/${f}`, content, mode: f.endsWith('.pub') ? 0o644 : 0o600, uid: 0, gid: 0 });

  let shadow = view.read('etc/shadow');
  const set = (user: string, hash: string) => {
    const next = shadow !== undefined ? withPassword(shadow, user, hash, day) : undefined;
    if (next === undefined)
      throw new LabError(`lab ${i.lab}: its /etc/shadow has no line for ${user}`, 'The checkpoint is damaged: run class:down, then class:up.');
    shadow = next;
  };
  if (passwdUser(view, i.mailUser)) set(i.mailUser, k.hashes.mail);
  if (k.learnerPassword && k.hashes.learner) set(LAB_USER, k.hashes.learner);
  if (shadow !== undefined && shadow !== view.read('etc/shadow')) put('etc/shadow', shadow, { mode: 0o640, uid: 0, gid: 0 });

  for (const t of TLS_FILES) {
    if (!view.exists(t.key) || !view.exists(t.cert)) continue;
    if (!k.tls) throw new LabError(`lab ${i.lab}: its checkpoint has ${t.key} but no TLS key was made for it`, 'Run class:down, then class:up again.');
    put(t.key, k.tls.key, { mode: 0o600, uid: 0, gid: 0 });
    put(t.cert, k.tls.cert);
  }

  const v = passwdUser(view, LAB_USER);
  if (!v) throw new LabError(`lab ${i.lab}: its disk has no ${LAB_USER} user`, 'The checkpoint is damaged: run class:down, then class:up.');
  const home = v.home.replace(/^\/+/, '');
  const newDirs = { [home]: { mode: 0o755, uid: v.uid, gid: v.gid }, [`${home}/.ssh`]: { mode: 0o700, uid: v.uid, gid: v.gid } };
  const ak2 = `${home}/.ssh/authorized_keys2`;
  if (k.learnerPublicKey) files.push({ path: ak2, content: `${k.learnerPublicKey}\n`, mode: 0o600, uid: v.uid, gid: v.gid });
  else remove.push(ak2);
  // sshd's password login: for vagrant only where asked, or nobody
  files.push({ path: SSHD_DROP_IN, content: sshdDropIn(i.login), ...ROOT_FILE });
  return { files, remove, newDirs };
}
