/**
 * Host key pinning: a lab's known_hosts.json maps "<host>:<port>" to the OpenSSH-style SHA256 fingerprint of the key
 * the host presented on first connect. A different key later is refused (HostKeyChanged).
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { HostKeyChanged } from '../errors.js';
import { readJson, writePrivate } from '../lab/state.js';

/** `SHA256:<base64 without padding>` of the public key blob, exactly as `ssh-keygen -l` prints it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

export function hostId(host: string, port: number): string {
  return `${host}:${port}`;
}

export type Pins = Record<string, string>;

export function readPins(file: string): Pins {
  const pins = readJson<unknown>(file);
  return pins && typeof pins === 'object' && !Array.isArray(pins) ? (pins as Pins) : {};
}

export type KeyCheck = { ok: true; fingerprint: string; pinnedNow: boolean } | { ok: false; fingerprint: string; error: HostKeyChanged };

/**
 * Check the key a host presents against the pin file. Unknown hosts are pinned (trust on first use);
 * a known host with another key yields a HostKeyChanged error (the caller refuses the connection).
 */
export function checkHostKey(file: string, id: string, keyBlob: Buffer): KeyCheck {
  const fingerprint = fingerprintSha256(keyBlob);
  const pins = readPins(file);
  const pinned = pins[id];
  if (pinned !== undefined && pinned !== fingerprint) {
    return { ok: false, fingerprint, error: new HostKeyChanged(id, pinned, fingerprint, file) };
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const keys = readPins(keysFile(file));
  const line = keyLine(keyBlob);
  if (keys[id] !== line) writePrivate(keysFile(file), JSON.stringify({ ...keys, [id]: line }, null, 2) + '\n');
  if (pinned === fingerprint) return { ok: true, fingerprint, pinnedNow: false };
  writePrivate(file, JSON.stringify({ ...pins, [id]: fingerprint }, null, 2) + '\n');
  return { ok: true, fingerprint, pinnedNow: true };
}

/**
 * The full public keys of the pinned hosts, kept next to the pin file (`known_hosts.keys.json`:
 * { "<host>:<port>": "<type> <base64>" }) so that OpenSSH can be given the same pins (lab:ssh).
 */
export function keysFile(pinFile: string): string {
  return pinFile.replace(/\.json$/, '') + '.keys.json';
}

function keyLine(blob: Buffer): string {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + len).toString('latin1') || 'unknown';
  return `${type} ${blob.toString('base64')}`;
}

/**
 * OpenSSH known_hosts lines for the pinned hosts (`[host]:port type base64`); only keys whose fingerprint matches the
 * pin in `pinFile` are listed, so a stale key never gets trusted.
 */
export function pinnedKnownHostsLines(pinFile: string): string[] {
  const pins = readPins(pinFile);
  const keys = readPins(keysFile(pinFile));
  const lines: string[] = [];
  for (const [id, fp] of Object.entries(pins)) {
    const line = keys[id];
    const b64 = line?.split(' ')[1];
    if (!line || !b64 || fingerprintSha256(Buffer.from(b64, 'base64')) !== fp) continue;
    const at = id.lastIndexOf(':');
    const host = id.slice(0, at);
    const port = id.slice(at + 1);
    lines.push(`${port === '22' ? host : `[${host}]:${port}`} ${line}`);
  }
  return lines;
}
