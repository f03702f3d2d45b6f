/**
 * ready: what a role built answers, from inside the lab, within a bound: each TCP listener gives its banner (TLS
 * on connect first where `tls`), each unix socket exists. It runs after the role's handlers (a restart a handler
 * makes is part of what it checks). A listener whose unit is active but that answers nothing (Postfix's master(8)
 * throttling an smtpd that kept dying while a dependency was away, a socket deleted under a running Dovecot) is
 * fixed by restarting its unit; the step then reports `changed` with the reason. Converged means working.
 */
import { sh } from '../../host.js';
import { defineKind, run, type KindContext } from './types.js';

export interface Listener {
  /** A TCP port on 127.0.0.1 inside the lab, or... */
  port?: number;
  /** ...a unix socket path. */
  socket?: string;
  /** The first line the port must answer with (a regular expression), e.g. "^220 ". */
  banner?: string;
  /** TLS on connect (smtps): the banner comes after the handshake. */
  tls?: boolean;
  /** The systemd unit that serves it (restarted when it does not answer). */
  unit: string;
}

export interface ReadyParams {
  listeners: Listener[];
  /** Seconds each listener has to answer (default 5). */
  within?: number;
}

const restart = (unit: string) => `systemctl restart ${sh(unit)}`;
const what = (l: Listener) => (l.port !== undefined ? `port ${l.port}` : `socket ${l.socket}`);

/** One shell line per listener, run in parallel: prints "N ok|no <first line or reason>". */
function probe(l: Listener, i: number, within: number): string {
  if (l.socket !== undefined) return `{ if [ -S ${sh(l.socket)} ]; then echo "${i} ok socket"; else echo "${i} no no such socket"; fi; } &`;
  // TLS: openssl runs beside the shell (coproc), which reads the first line and ends it. In a pipe into `head -n 1`
  // it went on until the bound: -quiet ignores stdin's EOF, and the pipe waited for it (5 s of ready-04, every run).
  const read = l.tls
    ? `coproc openssl s_client -connect 127.0.0.1:${l.port} -quiet </dev/null 2>/dev/null; ` +
      `IFS= read -r line <&"\${COPROC[0]}" && printf '%s\\n' "$line"; kill "$COPROC_PID" 2>/dev/null; true`
    : `exec 3<>/dev/tcp/127.0.0.1/${l.port} && IFS= read -r line <&3 && printf '%s\\n' "$line"`;
  return `{ line=$(timeout ${within} bash -c ${sh(read)} 2>/dev/null | tr -d '\\r'); if [ -n "$line" ]; then echo "${i} ok $line"; else echo "${i} no no banner within ${within} s"; fi; } &`;
}

function probeAll(p: ReadyParams): string {
  const units = [...new Set(p.listeners.map((l) => l.unit))];
  return [
    ...p.listeners.map((l, i) => probe(l, i, p.within ?? 5)),
    'wait',
    ...units.map((u) => `echo "unit ${u} $(systemctl is-active ${sh(u)} 2>/dev/null)"`),
  ].join('\n');
}

interface Finding {
  listener: Listener;
  ok: boolean;
  answered: boolean;
  got: string;
}

async function look(p: ReadyParams, ctx: KindContext): Promise<{ findings: Finding[]; units: Map<string, string> }> {
  const res = await run(ctx, probeAll(p), { allowFail: true });
  const findings = p.listeners.map((listener, i): Finding => {
    const m = new RegExp(`^${i} (ok|no) (.*)$`, 'm').exec(res.stdout);
    const answered = m?.[1] === 'ok';
    const got = m?.[2] ?? 'no answer';
    const ok = answered && (!listener.banner || new RegExp(listener.banner).test(got));
    return { listener, ok, answered, got };
  });
  const units = new Map([...res.stdout.matchAll(/^unit (\S+) (\S*)$/gm)].map((m) => [m[1]!, m[2] ?? '']));
  return { findings, units };
}

export const ready = defineKind<ReadyParams>({
  name: 'ready',
  afterHandlers: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['listeners'],
    properties: {
      listeners: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['unit'],
          properties: {
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            socket: { type: 'string', pattern: '^/' },
            banner: { type: 'string', minLength: 1 },
            tls: { type: 'boolean' },
            unit: { type: 'string', pattern: '^[A-Za-z0-9@._-]+$' },
          },
        },
      },
      within: { type: 'integer', minimum: 1, maximum: 120 },
    },
  },
  lint: (p) =>
    p.listeners
      .map((l) => ((l.port === undefined) === (l.socket === undefined) ? 'a ready listener names either a port or a socket' : undefined))
      .find(Boolean),
  commands(p) {
    const units = [...new Set(p.listeners.map((l) => l.unit))];
    return {
      // A port's probe starts a server process: asked ahead of a step that mends its dependency (Dovecot's socket),
      // that process dies, and Postfix's master throttles the service for a minute after the mend (a CI run saw
      // 465 throttled through verify). A socket's test changes nothing and may be asked ahead.
      check: [{ run: probeAll(p), inTurn: p.listeners.some((l) => l.port !== undefined) }],
      apply: units.map((u) => ({ run: restart(u), learner: `sudo ${restart(u)}  # only a unit whose listener did not answer` })),
    };
  },
  async check(p, ctx) {
    const { findings, units } = await look(p, ctx);
    const bad = findings.filter((f) => !f.ok);
    if (!bad.length) return { ok: true };
    return {
      ok: false,
      detail:
        bad
          .map(
            (f) =>
              `${what(f.listener)}: ${f.answered ? `answered "${f.got}"` : f.got} ` + `while ${f.listener.unit} is ${units.get(f.listener.unit) || 'unknown'}`,
          )
          .join('; ') + `: restarting ${[...new Set(bad.map((f) => f.listener.unit))].join(', ')}`,
    };
  },
  async apply(p, ctx) {
    const { findings } = await look(p, ctx);
    const units = [...new Set(findings.filter((f) => !f.ok).map((f) => f.listener.unit))];
    for (const u of units) await run(ctx, restart(u));
    // Give what was restarted its bound to come up before the engine checks again (no fixed sleep: poll).
    const t0 = Date.now();
    const bound = (p.within ?? 5) * 1000 * 2;
    while (Date.now() - t0 < bound) {
      if ((await look(p, ctx)).findings.every((f) => f.ok)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  },
});
