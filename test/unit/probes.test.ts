/**
 * The network probes against real servers on 127.0.0.1 started here: a scripted Postfix-like submission server
 * (STARTTLS, AUTH, relay rules), a postscreen look-alike (220- pause 220) and plain tls servers with different minimum
 * versions behind a byte-recording relay, so a server alert can be told from a client-side refusal on the wire.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  USER,
  PASS,
  b64,
  H,
  servers,
  listen,
  submissionServer,
  postscreenServer,
  relay,
  tlsServer,
  sServer,
  expectNoSecret,
  useFakeServers,
} from '../helpers/fake-mail-servers.js';

useFakeServers();
import { ProbeError } from '../../src/verify/probes/common.js';
import { probePostscreenGreeting, probePregreet } from '../../src/verify/probes/postscreen.js';
import { SmtpSession } from '../../src/verify/probes/smtp.js';
import { probeSsl3, probeTlsVersion } from '../../src/verify/probes/tls-version.js';

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
    for (const [pass, code] of [
      [PASS, 235],
      ['nope-nope', 535],
    ] as const) {
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
    await expect(probePostscreenGreeting({ host: H, port: ps.port, timeoutMs: 300 })).rejects.toThrow(
      `no banner within 0.3 s from ${H}:${ps.port} (incomplete: got "220-fake.postscreen ESMTP")`,
    );
    await expect(probePostscreenGreeting({ host: H, port: ps.port, timeoutMs: 2000, greetWaitMs: 6000 })).rejects.toThrow(/must exceed postscreen_greet_wait/);
  });

  it('pregreets after the first 220- line; the server sees it and rejects at RCPT', async () => {
    const ps = await postscreenServer('screen', 600);
    const r = await probePregreet({ host: H, port: ps.port, timeoutMs: 3000, rcptTo: 'postmaster@fake.lab.test' });
    expect(ps.log.at(-1)?.pregreet).toBe('EHLO pregreet.invalid\r\n');
    expect(r).toMatchObject({
      pregreeted: true,
      multiline: true,
      bannerRest: { code: 220 },
      ehloReply: { code: 250 },
      rcptReply: { code: 550, text: '5.5.1 Protocol error' },
      closedByServer: false,
      timedOut: false,
    });
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
      expect(await probeTlsVersion({ host: H, port: srv.port, starttls: false, version, timeoutMs: 3000 })).toMatchObject({
        result: 'accepted',
        protocol: version,
      });
    }
  });

  it('a server allowing TLS 1.0 is accepted at TLS 1.0; at the default security level the client refuses by itself', async () => {
    const srv = await tlsServer({ minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      expect(await probeTlsVersion({ host: H, port: srv.port, starttls: false, version, timeoutMs: 3000 })).toMatchObject({
        result: 'accepted',
        protocol: version,
      });
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
    expect(await probeSsl3({ host: H, port: srv.port, starttls: false, timeoutMs: 1000 })).toMatchObject({
      result: 'client-cannot-offer',
      code: 'ERR_TLS_INVALID_PROTOCOL_METHOD',
    });
  });

  it('cross-check against openssl s_server: alert 70 when excluded, accepted at SECLEVEL=0, refused at OpenSSL defaults', async () => {
    const tls12 = await sServer(['-min_protocol', 'TLSv1.2']);
    expect(await probeTlsVersion({ host: H, port: tls12, starttls: false, version: 'TLSv1', timeoutMs: 3000 })).toMatchObject({
      result: 'refused-by-server',
      alert: 70,
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    expect(await probeTlsVersion({ host: H, port: tls12, starttls: false, version: 'TLSv1.2', timeoutMs: 3000 })).toMatchObject({ result: 'accepted' });
    const legacy = await sServer(['-min_protocol', 'TLSv1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
    expect(await probeTlsVersion({ host: H, port: legacy, starttls: false, version: 'TLSv1', timeoutMs: 3000 })).toMatchObject({
      result: 'accepted',
      protocol: 'TLSv1',
    });
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
    expect(await probeTlsVersion({ host: H, port: sub.port, starttls: true, version: 'TLSv1.2', timeoutMs: 3000 })).toMatchObject({
      result: 'accepted',
      protocol: 'TLSv1.2',
    });
    expect(await probeTlsVersion({ host: H, port: sub.port, starttls: false, version: 'TLSv1.2', timeoutMs: 3000 })).toMatchObject({ result: 'error' });
    const hangup = await listen(net.createServer((c) => c.once('data', () => c.destroy())));
    const h = await probeTlsVersion({ host: H, port: hangup, starttls: false, version: 'TLSv1', timeoutMs: 3000 });
    expect(h.result).toBe('error');
    expect(h.detail).toMatch(/ECONNRESET|closed the connection/);
  });
});
