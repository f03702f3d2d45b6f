/**
 * tls: a protocol version the server must accept or refuse. A refusal counts only when it is the server's alert 70
 * (protocol_version); what this client cannot offer (SSLv3), or a refusal for another reason (e.g. alert 80 from
 * OpenSSL's security level), is inconclusive on the wire and falls back to reading the setting over SSH.
 */
import { postconfValue } from '../../probes/postconf.js';
import { probeSsl3, probeTlsVersion, type TlsVersion } from '../probes/index.js';
import { asker, fail, inconclusive, pass, type CheckKind, type Outcome } from '../types.js';

export interface TlsSpec {
  port: number;
  starttls?: boolean;
  version: TlsVersion | 'SSLv3';
  expect: 'accepted' | 'refused';
  fallback?: { param: string; instance?: string; matches: string };
}

async function readSetting(s: TlsSpec, ctx: Parameters<CheckKind['run']>[2], why: string): Promise<Outcome> {
  if (!s.fallback) return inconclusive(`${why}; no setting to fall back on`);
  const r = await postconfValue(asker(ctx), { instance: s.fallback.instance, param: s.fallback.param });
  const value = r.ok ? r.value.trim() : '';
  const ok = new RegExp(s.fallback.matches).test(value);
  const msg = `${why}; read the setting instead: ${s.fallback.param} = ${value}`;
  return ok ? pass(msg) : fail(`${msg}, which does not match /${s.fallback.matches}/`);
}

export const tls: CheckKind<TlsSpec> = {
  name: 'tls',
  fields: {
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    starttls: { type: 'boolean' },
    version: { enum: ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] },
    expect: { enum: ['accepted', 'refused'] },
    fallback: {
      type: 'object',
      additionalProperties: false,
      required: ['param', 'matches'],
      properties: { param: { type: 'string' }, instance: { type: 'string' }, matches: { type: 'string' } },
    },
  },
  required: ['port', 'version', 'expect'],
  seconds: () => 0.3,
  async run(_target, s, ctx) {
    const ep = ctx.endpoint(s.port);
    const base = { host: ep.host, port: ep.port, starttls: !!s.starttls, timeoutMs: 10_000 };
    const o = s.version === 'SSLv3' ? await probeSsl3(base) : await probeTlsVersion({ ...base, version: s.version });
    const what = `${s.version} on ${s.port}${s.starttls ? ' (STARTTLS)' : ''}`;
    if (o.result === 'accepted') {
      return s.expect === 'accepted'
        ? pass(`${what} accepted (${o.protocol ?? ''} ${o.cipher ?? ''})`.trim())
        : fail(`${what} was accepted: the server must refuse it`);
    }
    if (o.result === 'refused-by-server') {
      if (s.expect === 'accepted') return fail(`${what} refused by the server (alert ${o.alert ?? '?'}): ${o.detail}`);
      if (o.alert === 70) return pass(`${what} refused by the server with alert 70 (protocol_version)`);
      return readSetting(s, ctx, `${what} refused with alert ${o.alert ?? '?'}, which is not the protocol_version alert`);
    }
    if (o.result === 'client-cannot-offer') return readSetting(s, ctx, `this client cannot offer ${s.version}: inconclusive on the wire`);
    return fail(`${what}: ${o.detail}`);
  },
};
