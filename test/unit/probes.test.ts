/**
 * The network probes against real servers on 127.0.0.1 started here: a scripted Postfix-like submission server
 * (STARTTLS, AUTH, relay rules), a postscreen look-alike (220- pause 220) and plain tls servers with different minimum
 * versions behind a byte-recording relay, so a server alert can be told from a client-side refusal on the wire.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeError } from '../../src/verify/probes/common.js';
import { probePostscreenGreeting, probePregreet } from '../../src/verify/probes/postscreen.js';
import { SmtpSession } from '../../src/verify/probes/smtp.js';
import { probeSsl3, probeTlsVersion } from '../../src/verify/probes/tls-version.js';

const USER = 'labuser';
const PASS = 'Xq7-s3cret-Pa55word';
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const SECRETS = [PASS, b64(PASS), b64(`\0${USER}\0${PASS}`), b64(`\0echo\0${PASS}`)];
const H = '127.0.0.1';

const dir = mkdtempSync(join(tmpdir(), 'plab-probes-'));
let key: Buffer;
let cert: Buffer;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
const children: ChildProcess[] = [];

beforeAll(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '1', '-subj', '/CN=localhost'], { stdio: 'pipe' });
  key = readFileSync(join(dir, 'key.pem'));
  cert = readFileSync(join(dir, 'cert.pem'));
});
afterAll(async () => {
  for (const c of children) c.kill();
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

async function listen(srv: net.Server): Promise<number> {
  servers.push(srv);
  srv.on('connection', (s: net.Socket) => { sockets.add(s); s.on('error', () => undefined); });
  srv.on('secureConnection', (s: net.Socket) => sockets.add(s));
  await new Promise<void>((r) => srv.listen(0, H, r));
  return (srv.address() as net.AddressInfo).port;
}

function onLines(sock: Duplex, fn: (line: string) => void): () => void {
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

function say(sock: Duplex, code: number, ...texts: string[]): void {
  sock.write(texts.map((t, i) => `${code}${i < texts.length - 1 ? '-' : ' '}${t}\r\n`).join(''));
}

/** Behaves like Postfix submission on 587 (or 465 with implicitTls); tlsErrors collects the server's TLS errors. */
async function submissionServer(tlsOpts: tls.SecureContextOptions, implicitTls = false): Promise<{ port: number; tlsErrors: string[] }> {
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
          return say(sock, 250, 'fake.lab.test', 'PIPELINING', 'SIZE 10240000',
            ...(secure ? ['AUTH PLAIN LOGIN', 'AUTH=PLAIN LOGIN'] : ['STARTTLS']), 'ENHANCEDSTATUSCODES', '8BITMIME');
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
async function postscreenServer(mode: 'screen' | 'pass' | 'drop' | 'burst', pauseMs: number) {
  const log: { pregreet: string; lines: string[] }[] = [];
  const port = await listen(net.createServer((sock) => {
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
      else if (verb === 'QUIT') { say(sock, 221, '2.0.0 Bye'); sock.end(); }
    };
    sock.on('data', (d) => { if (!greeted) entry.pregreet += d.toString(); });
    onLines(sock, (l) => (greeted ? handle(l) : queue.push(l)));
    if (mode === 'pass') return say(sock, 220, 'fake.postscreen ESMTP');
    if (mode === 'burst') { greeted = true; return say(sock, 220, 'fake.postscreen ESMTP', 'fake.postscreen ESMTP'); }
    sock.write('220-fake.postscreen ESMTP\r\n');
    setTimeout(() => {
      greeted = true;
      if (mode === 'drop' && entry.pregreet) { say(sock, 521, '5.5.1 Protocol error'); sock.end(); return; }
      sock.write('220 fake.postscreen ESMTP\r\n');
      for (const l of queue.splice(0)) handle(l);
    }, pauseMs);
  }));
  return { port, log };
}

/** TCP relay recording the bytes each side sent. */
async function relay(target: number) {
  const conns: { fromServer: Buffer[]; fromClient: Buffer[] }[] = [];
  const port = await listen(net.createServer((c) => {
    const rec = { fromServer: [] as Buffer[], fromClient: [] as Buffer[] };
    conns.push(rec);
    const up = net.connect(target, H);
    sockets.add(up);
    up.on('error', () => c.destroy());
    c.on('data', (d: Buffer) => { rec.fromClient.push(d); up.write(d); });
    up.on('data', (d: Buffer) => { rec.fromServer.push(d); c.write(d); });
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
  }));
  return { port, last: () => { const r = conns.at(-1)!; return { fromServer: Buffer.concat(r.fromServer), fromClient: Buffer.concat(r.fromClient) }; } };
}

async function tlsServer(opts: tls.TlsOptions) {
  const errors: string[] = [];
  const srv = tls.createServer({ key, cert, ...opts }, (s) => s.end('hello\n'));
  srv.on('tlsClientError', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
  return { port: await listen(srv), errors };
}

/** `openssl s_server` (the system OpenSSL 3, as Postfix links it) on a free port. */
async function sServer(args: string[]): Promise<number> {
  const p = spawn('openssl', ['s_server', '-key', join(dir, 'key.pem'), '-cert', join(dir, 'cert.pem'), '-accept', `${H}:0`, '-www', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('openssl s_server did not start')), 5000);
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ACCEPT \S*:(\d+)/.exec(out);
      if (m) (clearTimeout(timer), resolve(Number(m[1])));
    });
    p.once('exit', (code) => (clearTimeout(timer), reject(new Error(`openssl s_server exited (${code})`))));
  });
}

function expectNoSecret(v: unknown): void {
  const text = v instanceof Error ? `${v.message}\n${v.stack ?? ''}\n${JSON.stringify(v)}` : JSON.stringify(v);
  for (const s of SECRETS) expect(text).not.toContain(s);
}

describe('SmtpSession against a Postfix-like submission server', () => {
  it('sees STARTTLS and no AUTH before TLS, 530 for MAIL, AUTH PLAIN LOGIN after STARTTLS, relay denied without auth', async () => {
    const { port } = await submissionServer({ minVersion: 'TLSv1.2' });
    const s = await SmtpSession.connect({ host: H, port, timeoutMs: 3000 });
    expect(s.banner).toMatchObject({ code: 220, multiline: false, lines: ['fake.lab.test ESMTP Postfix'] });
    const e1 = await s.ehlo('probe.test');
    expect(e1.capabilities).toEqual(['PIPELINING', 'SIZE', 'STARTTLS', 'ENHANCEDSTATUSCODES', '8BITMIME']);
    expect(e1.authMechanisms).toEqual([]);
    expect(e1.params.SIZE).toBe('10240000');
    expect(await s.command('MAIL FROM:<a@b.test>')).toMatchObject({ code: 530, text: '5.7.0 Must issue a STARTTLS command first' });
    const info = await s.starttls();
    expect(info).toMatchObject({ protocol: 'TLSv1.3', peerCN: 'localhost' });
    expect(info.cipher).toMatch(/^TLS_/);
    const e2 = await s.ehlo('probe.test');
    expect(e2.capabilities).toEqual(['PIPELINING', 'SIZE', 'AUTH', 'ENHANCEDSTATUSCODES', '8BITMIME']); // AUTH= folded into AUTH
    expect(e2.authMechanisms).toEqual(['PLAIN', 'LOGIN']);
    expect(await s.command('MAIL FROM:<a@b.test>')).toMatchObject({ code: 250 });
    expect(await s.command('RCPT TO:<x@outside.example>')).toMatchObject({ code: 554, text: '5.7.1 <x@outside.example>: Relay access denied' });
    const bad = await s.authPlain(USER, 'wrong-password');
    expect(bad).toMatchObject({ code: 535, text: expect.stringMatching(/^5\.7\.8 Error: authentication failed/) });
    const good = await s.authPlain(USER, PASS);
    expect(good.code).toBe(235);
    expect(await s.command('RCPT TO:<x@outside.example>')).toMatchObject({ code: 250 });
    expect(await s.quit()).toMatchObject({ code: 221 });
    expect(s.closed).toBe(true);
    expectNoSecret([bad, good, s.banner, e2]);
  });

  it('AUTH LOGIN: 235 with the right password, 535 with a wrong one', async () => {
    const { port } = await submissionServer({});
    for (const [pass, code] of [[PASS, 235], ['nope-nope', 535]] as const) {
      const s = await SmtpSession.connect({ host: H, port, timeoutMs: 3000 });
      await s.ehlo('probe.test');
      await s.starttls();
      await s.ehlo('probe.test');
      const r = await s.authLogin(USER, pass);
      expect(r.code).toBe(code);
      expectNoSecret(r);
      await s.quit();
    }
  });

  it('never returns or throws the password, even when the server echoes it or never answers', async () => {
    const { port } = await submissionServer({});
    const s = await SmtpSession.connect({ host: H, port, timeoutMs: 400 });
    await s.starttls();
    const echoed = await s.authPlain('echo', PASS);
    expect(echoed.code).toBe(535);
    expect(echoed.text).toContain('********');
    expectNoSecret(echoed);
    const err = await s.authPlain('hang', PASS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeError);
    expect((err as ProbeError).message).toBe(`no reply to AUTH PLAIN within 0.4 s from ${H}:${port}`);
    expectNoSecret(err);
    s.close();
    const s2 = await SmtpSession.connect({ host: H, port, timeoutMs: 400 });
    await s2.starttls();
    const err2 = await s2.command(`AUTH PLAIN ${b64(`\0hang\0${PASS}`)}`).catch((e: unknown) => e);
    expect((err2 as ProbeError).message).toBe(`no reply to "AUTH PLAIN" within 0.4 s from ${H}:${port}`);
    expect((err2 as ProbeError).message).not.toContain(b64(`\0hang\0${PASS}`));
    s2.close();
  });

  it('implicit TLS (465): TLS first, then a banner and AUTH', async () => {
    const { port } = await submissionServer({}, true);
    const s = await SmtpSession.connect({ host: H, port, timeoutMs: 3000, implicitTls: true });
    expect(s.tls?.protocol).toBe('TLSv1.3');
    expect(s.banner?.code).toBe(220);
    expect((await s.ehlo('probe.test')).authMechanisms).toEqual(['PLAIN', 'LOGIN']);
    await s.quit();
  });

  it('names host:port and what it waited for; tolerates servers that hang up', async () => {
    const silent = await listen(net.createServer(() => undefined));
    await expect(SmtpSession.connect({ host: H, port: silent, timeoutMs: 300 })).rejects.toThrow(`no banner within 0.3 s from ${H}:${silent}`);
    const gone = await listen(net.createServer());
    await new Promise((r) => servers.pop()!.close(r));
    await expect(SmtpSession.connect({ host: H, port: gone, timeoutMs: 1000 })).rejects.toThrow(new RegExp(`cannot connect to ${H}:${gone}: ECONNREFUSED`));
    const rude = await listen(net.createServer((c) => c.end('421 4.3.2 Service shutting down')));
    const s = await SmtpSession.connect({ host: H, port: rude, timeoutMs: 1000 });
    expect(s.banner).toMatchObject({ code: 421, text: '4.3.2 Service shutting down' });
    const e = await s.ehlo('probe.test').catch((x: unknown) => x);
    expect(e).toMatchObject({ kind: 'closed', endpoint: `${H}:${rude}` });
    expect(await s.quit()).toBeUndefined();
  });
});

describe('postscreen probes', () => {
  it('measures the 220- pause 220 greeting; a passed client gets a plain 220 at once', async () => {
    const ps = await postscreenServer('screen', 700);
    const g = await probePostscreenGreeting({ host: H, port: ps.port, timeoutMs: 3000, greetWaitMs: 700 });
    expect(g).toMatchObject({ multiline: true, code: 220, banner: '220-fake.postscreen ESMTP\n220 fake.postscreen ESMTP', quitCode: 221 });
    expect(g.pauseMs).toBeGreaterThanOrEqual(650);
    expect(g.pauseMs).toBeLessThan(1500);
    expect(ps.log.at(-1)?.pregreet).toBe('');
    const pass = await postscreenServer('pass', 0);
    const p = await probePostscreenGreeting({ host: H, port: pass.port, timeoutMs: 3000 });
    expect(p.multiline).toBe(false);
    expect(p.pauseMs).toBeLessThan(50);
  });

  it('times out with a clear message when the timeout does not exceed the greet wait', async () => {
    const ps = await postscreenServer('screen', 1500);
    await expect(probePostscreenGreeting({ host: H, port: ps.port, timeoutMs: 300 }))
      .rejects.toThrow(`no banner within 0.3 s from ${H}:${ps.port} (incomplete: got "220-fake.postscreen ESMTP")`);
    await expect(probePostscreenGreeting({ host: H, port: ps.port, timeoutMs: 2000, greetWaitMs: 6000 })).rejects.toThrow(/must exceed postscreen_greet_wait/);
  });

  it('pregreets after the first 220- line; the server sees it and rejects at RCPT', async () => {
    const ps = await postscreenServer('screen', 600);
    const r = await probePregreet({ host: H, port: ps.port, timeoutMs: 3000, rcptTo: 'postmaster@fake.lab.test' });
    expect(ps.log.at(-1)?.pregreet).toBe('EHLO pregreet.invalid\r\n');
    expect(r).toMatchObject({ pregreeted: true, multiline: true, bannerRest: { code: 220 }, ehloReply: { code: 250 },
      rcptReply: { code: 550, text: '5.5.1 Protocol error' }, closedByServer: false, timedOut: false });
    expect(r.transcript.slice(0, 3)).toEqual(['S: 220-fake.postscreen ESMTP', 'C: EHLO pregreet.invalid', 'S: 220 fake.postscreen ESMTP']);
  });

  it('does not pregreet a plain or burst greeting, and records a server that drops pregreeters', async () => {
    const pass = await postscreenServer('pass', 0);
    const r = await probePregreet({ host: H, port: pass.port, timeoutMs: 3000 });
    expect(r).toMatchObject({ pregreeted: false, multiline: false });
    expect(pass.log.at(-1)).toEqual({ pregreet: '', lines: ['QUIT'] });
    const burst = await postscreenServer('burst', 0);
    expect(await probePregreet({ host: H, port: burst.port, timeoutMs: 3000 })).toMatchObject({ pregreeted: false, multiline: true });
    const drop = await postscreenServer('drop', 300);
    const d = await probePregreet({ host: H, port: drop.port, timeoutMs: 3000 });
    expect(d).toMatchObject({ pregreeted: true, bannerRest: { code: 521 }, closedByServer: true });
    expect(d.ehloReply).toBeUndefined();
  });
});

describe('TLS version probes tell a server alert from a client-side refusal', () => {
  it('a TLS 1.2+ server refuses TLS 1.0 / 1.1 with alert 70 (seen on the wire), accepts 1.2 and 1.3', async () => {
    const srv = await tlsServer({ minVersion: 'TLSv1.2' });
    const wire = await relay(srv.port);
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const r = await probeTlsVersion({ host: H, port: wire.port, starttls: false, version, timeoutMs: 3000 });
      expect(r).toMatchObject({ result: 'refused-by-server', alert: 70, code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
      const { fromServer, fromClient } = wire.last();
      expect(fromClient[0]).toBe(0x16); // our ClientHello went out
      expect([...fromServer]).toEqual([0x15, 0x03, fromServer[2], 0x00, 0x02, 0x02, 70]); // fatal alert 70, from the server
    }
    expect(srv.errors).toEqual(['ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_UNSUPPORTED_PROTOCOL']);
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      expect(await probeTlsVersion({ host: H, port: srv.port, starttls: false, version, timeoutMs: 3000 })).toMatchObject({ result: 'accepted', protocol: version });
    }
  });

  it('a server allowing TLS 1.0 is accepted at TLS 1.0; at the default security level the client refuses by itself', async () => {
    const srv = await tlsServer({ minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      expect(await probeTlsVersion({ host: H, port: srv.port, starttls: false, version, timeoutMs: 3000 })).toMatchObject({ result: 'accepted', protocol: version });
    }
    const strict = await probeTlsVersion({ host: H, port: srv.port, starttls: false, version: 'TLSv1', timeoutMs: 3000, ciphers: 'DEFAULT' });
    expect(strict).toMatchObject({ result: 'client-cannot-offer', code: 'ERR_SSL_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED' });
    expect(strict.alert).toBeUndefined();
  });

  it('a client that cannot build a TLS 1.0 ClientHello sends none and says so', async () => {
    const srv = await tlsServer({ minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    const wire = await relay(srv.port);
    const r = await probeTlsVersion({ host: H, port: wire.port, starttls: false, version: 'TLSv1', timeoutMs: 3000, ciphers: 'DEFAULT:@SECLEVEL=3' });
    expect(r).toMatchObject({ result: 'client-cannot-offer', code: 'ERR_SSL_NO_PROTOCOLS_AVAILABLE', bytes: { received: 0 } });
    await new Promise((res) => setTimeout(res, 50));
    expect(wire.last().fromClient[0]).not.toBe(0x16);
    expect(await probeSsl3({ host: H, port: srv.port, starttls: false, timeoutMs: 1000 })).toMatchObject({ result: 'client-cannot-offer', code: 'ERR_TLS_INVALID_PROTOCOL_METHOD' });
  });

  it('cross-check against openssl s_server: alert 70 when excluded, accepted at SECLEVEL=0, refused at OpenSSL defaults', async () => {
    const tls12 = await sServer(['-min_protocol', 'TLSv1.2']);
    expect(await probeTlsVersion({ host: H, port: tls12, starttls: false, version: 'TLSv1', timeoutMs: 3000 }))
      .toMatchObject({ result: 'refused-by-server', alert: 70, code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect(await probeTlsVersion({ host: H, port: tls12, starttls: false, version: 'TLSv1.2', timeoutMs: 3000 })).toMatchObject({ result: 'accepted' });
    const legacy = await sServer(['-min_protocol', 'TLSv1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
    expect(await probeTlsVersion({ host: H, port: legacy, starttls: false, version: 'TLSv1', timeoutMs: 3000 })).toMatchObject({ result: 'accepted', protocol: 'TLSv1' });
    // OpenSSL 3 defaults (security level >= 1) cannot sign a TLS 1.0 handshake: the server itself refuses (alert 80 here).
    const dflt = await sServer([]);
    const d = await probeTlsVersion({ host: H, port: dflt, starttls: false, version: 'TLSv1', timeoutMs: 3000 });
    expect(d.result).toBe('refused-by-server');
    expect([70, 80]).toContain(d.alert);
  });

  it('over STARTTLS: refused 1.0 with alert 70, accepted 1.2; a non-TLS port or a hang-up is an error, not a refusal', async () => {
    const sub = await submissionServer({ minVersion: 'TLSv1.2' });
    const refused = await probeTlsVersion({ host: H, port: sub.port, starttls: true, version: 'TLSv1', timeoutMs: 3000 });
    expect(refused).toMatchObject({ result: 'refused-by-server', alert: 70 });
    expect(sub.tlsErrors).toContain('ERR_SSL_UNSUPPORTED_PROTOCOL');
    expect(await probeTlsVersion({ host: H, port: sub.port, starttls: true, version: 'TLSv1.2', timeoutMs: 3000 })).toMatchObject({ result: 'accepted', protocol: 'TLSv1.2' });
    expect(await probeTlsVersion({ host: H, port: sub.port, starttls: false, version: 'TLSv1.2', timeoutMs: 3000 })).toMatchObject({ result: 'error' });
    const hangup = await listen(net.createServer((c) => c.once('data', () => c.destroy())));
    const h = await probeTlsVersion({ host: H, port: hangup, starttls: false, version: 'TLSv1', timeoutMs: 3000 });
    expect(h.result).toBe('error');
    expect(h.detail).toMatch(/ECONNRESET|closed the connection/);
  });
});
