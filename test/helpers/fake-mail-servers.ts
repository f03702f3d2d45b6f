/** Real servers on 127.0.0.1 for the probe tests: a Postfix-like submission server, a postscreen look-alike, TLS servers. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeScratch } from './scratch.js';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, expect } from 'vitest';
export const USER = 'labuser';
export const PASS = 'Xq7-s3cret-Pa55word';
export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const SECRETS = [PASS, b64(PASS), b64(`\0${USER}\0${PASS}`), b64(`\0echo\0${PASS}`)];
export const H = '127.0.0.1';

export const dir = mkdtempSync(join(tmpdir(), 'plab-probes-'));
export let key: Buffer;
export let cert: Buffer;
export const servers: net.Server[] = [];
export const sockets = new Set<net.Socket>();
export const children: ChildProcess[] = [];

/** Register the hooks that make the certificate and stop every server afterwards. */
export function useFakeServers(): void {
  beforeAll(() => {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'],
      { stdio: 'pipe' },
    );
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  });
  afterAll(async () => {
    for (const c of children) c.kill();
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    removeScratch(dir);
  });
}

export async function listen(srv: net.Server): Promise<number> {
  servers.push(srv);
  srv.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  srv.on('secureConnection', (s: net.Socket) => sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, H, r));
  return (srv.address() as net.AddressInfo).port;
}

export function onLines(sock: Duplex, fn: (line: string) => void): () => void {
  let buf = '';
  const h = (d: Buffer): void => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      fn(line);
    }
  };
  sock.on('data', h);
  return () => sock.off('data', h);
}

export function say(sock: Duplex, code: number, ...texts: string[]): void {
  sock.write(texts.map((t, i) => `${code}${i < texts.length - 1 ? '-' : ' '}${t}\r\n`).join(''));
}

/** Behaves like Postfix submission on 587 (or 465 with implicitTls); tlsErrors collects the server's TLS errors. */
export async function submissionServer(tlsOpts: tls.SecureContextOptions, implicitTls = false): Promise<{ port: number; tlsErrors: string[] }> {
  const tlsErrors: string[] = [];
  const ctx = tls.createSecureContext({ key, cert, ...tlsOpts });
  const handle = (raw: net.Socket): void => {
    let sock: Duplex = raw;
    let secure = implicitTls;
    let authed = false;
    let pending: ((l: string) => void) | undefined;
    const check = (user: string, pass: string, blob?: string): void => {
      if (user === 'hang') return;
      if (user === 'echo') return say(sock, 535, `5.7.8 Error: authentication failed: ${pass} ${blob ?? b64(pass)}`);
      authed = user === USER && pass === PASS;
      if (authed) say(sock, 235, '2.7.0 Authentication successful');
      else say(sock, 535, '5.7.8 Error: authentication failed: authentication failure');
    };
    const plain = (blob: string): void => {
      const [, user = '', pass = ''] = Buffer.from(blob, 'base64').toString().split('\0');
      check(user, pass, blob);
    };
    const onLine = (line: string): void => {
      if (pending) {
        const p = pending;
        pending = undefined;
        return p(line);
      }
      const [verb = '', arg1, arg2] = line.split(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          return say(
            sock,
            250,
            'fake.lab.test',
            'PIPELINING',
            'SIZE 10240000',
            ...(secure ? ['AUTH PLAIN LOGIN', 'AUTH=PLAIN LOGIN'] : ['STARTTLS']),
            'ENHANCEDSTATUSCODES',
            '8BITMIME',
          );
        case 'STARTTLS': {
          if (secure) return say(sock, 554, '5.5.1 Error: TLS already active');
          say(sock, 220, '2.0.0 Ready to start TLS');
          stop();
          const t = new tls.TLSSocket(raw, { isServer: true, secureContext: ctx });
          t.on('error', (e: NodeJS.ErrnoException) => tlsErrors.push(e.code ?? e.message));
          sock = t;
          secure = true;
          stop = onLines(t, onLine);
          return;
        }
        case 'AUTH':
          if (!secure) return say(sock, 503, '5.5.1 Error: authentication not enabled');
          if (arg1?.toUpperCase() === 'PLAIN') {
            if (arg2) return plain(arg2);
            say(sock, 334, '');
            pending = plain;
            return;
          }
          say(sock, 334, 'VXNlcm5hbWU6');
          pending = (u) => {
            say(sock, 334, 'UGFzc3dvcmQ6');
            pending = (p) => check(Buffer.from(u, 'base64').toString(), Buffer.from(p, 'base64').toString());
          };
          return;
        case 'MAIL':
          return secure ? say(sock, 250, '2.1.0 Ok') : say(sock, 530, '5.7.0 Must issue a STARTTLS command first');
        case 'RCPT': {
          const addr = /<([^>]*)>/.exec(line)?.[1] ?? '';
          if (!authed && !addr.endsWith('@fake.lab.test')) return say(sock, 554, `5.7.1 <${addr}>: Relay access denied`);
          return say(sock, 250, '2.1.5 Ok');
        }
        case 'QUIT':
          say(sock, 221, '2.0.0 Bye');
          sock.end();
          return;
        default:
          return say(sock, 502, '5.5.2 Error: command not recognized');
      }
    };
    let stop = onLines(sock, onLine);
    say(sock, 220, 'fake.lab.test ESMTP Postfix');
  };
  const srv = implicitTls ? tls.createServer({ key, cert, ...tlsOpts }, handle) : net.createServer(handle);
  srv.on('tlsClientError', (e: NodeJS.ErrnoException) => tlsErrors.push(e.code ?? e.message));
  return { port: await listen(srv), tlsErrors };
}

/** postscreen look-alike: "220-", pause, "220 " ('screen'); plain "220 " ('pass'); 'drop' answers pregreeters 521. */
export async function postscreenServer(mode: 'screen' | 'pass' | 'drop' | 'burst', pauseMs: number) {
  const log: { pregreet: string; lines: string[] }[] = [];
  const port = await listen(
    net.createServer((sock) => {
      const entry = { pregreet: '', lines: [] as string[] };
      log.push(entry);
      let greeted = mode === 'pass';
      const queue: string[] = [];
      const handle = (line: string): void => {
        entry.lines.push(line);
        const verb = line.split(' ')[0]?.toUpperCase();
        if (verb === 'EHLO') say(sock, 250, 'fake.postscreen', 'PIPELINING', '8BITMIME');
        else if (verb === 'MAIL') say(sock, 250, '2.1.0 Ok');
        else if (verb === 'RCPT') say(sock, entry.pregreet ? 550 : 450, entry.pregreet ? '5.5.1 Protocol error' : '4.3.2 Service currently unavailable');
        else if (verb === 'QUIT') {
          say(sock, 221, '2.0.0 Bye');
          sock.end();
        }
      };
      sock.on('data', (d) => {
        if (!greeted) entry.pregreet += d.toString();
      });
      onLines(sock, (l) => (greeted ? handle(l) : queue.push(l)));
      if (mode === 'pass') return say(sock, 220, 'fake.postscreen ESMTP');
      if (mode === 'burst') {
        greeted = true;
        return say(sock, 220, 'fake.postscreen ESMTP', 'fake.postscreen ESMTP');
      }
      sock.write('220-fake.postscreen ESMTP\r\n');
      setTimeout(() => {
        greeted = true;
        if (mode === 'drop' && entry.pregreet) {
          say(sock, 521, '5.5.1 Protocol error');
          sock.end();
          return;
        }
        sock.write('220 fake.postscreen ESMTP\r\n');
        for (const l of queue.splice(0)) handle(l);
      }, pauseMs);
    }),
  );
  return { port, log };
}

/** TCP relay recording the bytes each side sent. */
export async function relay(target: number) {
  const conns: { fromServer: Buffer[]; fromClient: Buffer[] }[] = [];
  const port = await listen(
    net.createServer((c) => {
      const rec = { fromServer: [] as Buffer[], fromClient: [] as Buffer[] };
      conns.push(rec);
      const up = net.connect(target, H);
      sockets.add(up);
      up.on('error', () => c.destroy());
      c.on('data', (d: Buffer) => {
        rec.fromClient.push(d);
        up.write(d);
      });
      up.on('data', (d: Buffer) => {
        rec.fromServer.push(d);
        c.write(d);
      });
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    }),
  );
  return {
    port,
    last: () => {
      const r = conns.at(-1)!;
      return { fromServer: Buffer.concat(r.fromServer), fromClient: Buffer.concat(r.fromClient) };
    },
  };
}

export async function tlsServer(opts: tls.TlsOptions) {
  const errors: string[] = [];
  const srv = tls.createServer({ key, cert, ...opts }, (s) => s.end('hello\n'));
  srv.on('tlsClientError', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
  return { port: await listen(srv), errors };
}

/** `openssl s_server` (the system OpenSSL 3, as Postfix links it) on a free port. */
export async function sServer(args: string[]): Promise<number> {
  const p = spawn('openssl', ['s_server', '-key', join(dir, 'key.pem'), '-cert', join(dir, 'cert.pem'), '-accept', `${H}:0`, '-www', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('openssl s_server did not start')), 5000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ACCEPT \S*:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openssl s_server exited (${code})`));
    });
  });
}

export function expectNoSecret(v: unknown): void {
  const text = v instanceof Error ? `${v.message}\n${v.stack ?? ''}\n${JSON.stringify(v)}` : JSON.stringify(v);
  for (const s of SECRETS) expect(text).not.toContain(s);
}
