/** One SSH connection attempt: our own TCP socket with TCP_NODELAY, the host key pin check, public key auth. */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { Client } from 'ssh2';
import type { SshTarget } from './target.js';
import { type HostKeyChanged, LabError } from '../errors.js';
import { openTcp } from '../probes/tcp.js';
import { checkHostKey, hostId } from './known-hosts.js';

export const LAB_HOST_HINT = 'Check that the lab host is running: `npm run lab:status` (start it with `npm run lab:up`).';

export interface DialOptions {
  knownHostsFile: string;
  connectTimeoutMs?: number;
  keepaliveMs?: number;
}

/**
 * Resolves with a ready (authenticated) client. Rejects with HostKeyChanged when the host presents another key than
 * the pinned one, else with a LabError saying what failed. The private key is read here and only handed to ssh2.
 */
export async function dialSsh(target: SshTarget, opts: DialOptions, event: (msg: string) => void): Promise<Client> {
  const { host, port, user, identityFile } = target;
  const id = hostId(host, port);
  const timeoutMs = opts.connectTimeoutMs ?? 20_000;
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(identityFile);
  } catch (e) {
    throw new LabError(`cannot read the SSH identity file ${identityFile}: ${errText(e)}`, "Run `npm run lab:up` to recreate the lab's keys.", 1, { cause: e });
  }
  let sock: net.Socket;
  try {
    sock = await openTcp(host, port, timeoutMs); // TCP_NODELAY: no ~44 ms small-packet delay per exec
  } catch (e) {
    throw new LabError(`cannot connect to ${target.name} (${id}): ${errText(e)}`, LAB_HOST_HINT, 1, { cause: e });
  }
  const client = new Client();
  let keyError: HostKeyChanged | undefined;
  return new Promise<Client>((resolve, reject) => {
    const fail = (e: Error & { level?: string }): void => {
      client.removeListener('ready', onReady);
      client.on('error', () => undefined); // late errors from a dead attempt must not crash the process
      sock.destroy();
      if (keyError) return reject(keyError);
      if (e instanceof LabError) return reject(e);
      const auth = e.level === 'client-authentication';
      reject(
        new LabError(
          `cannot log in to ${target.name} (${id}) as ${user}: ${e.message}`,
          auth ? `The host does not accept the lab key ${identityFile}; \`npm run lab:up\` re-installs it.` : LAB_HOST_HINT,
          1,
          { cause: e },
        ),
      );
    };
    const onError = (e: Error): void => fail(e);
    const onClose = (): void => fail(new Error('connection closed during the SSH handshake'));
    const onReady = (): void => {
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      resolve(client);
    };
    client.once('ready', onReady).once('error', onError).once('close', onClose);
    try {
      client.connect({
        sock,
        username: user,
        privateKey,
        readyTimeout: timeoutMs,
        keepaliveInterval: opts.keepaliveMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer): boolean => {
          const check = checkHostKey(opts.knownHostsFile, id, key);
          if (!check.ok) {
            keyError = check.error;
            return false;
          }
          if (check.pinnedNow) event(`pinned host key of ${target.name} (${id}): ${check.fingerprint}`);
          return true;
        },
      });
    } catch (e) {
      fail(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
