import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { explainSilentPort } from '../../src/verify/evidence.js';
import { runCheck } from '../../src/verify/runner.js';
import type { VerifyContext } from '../../src/verify/types.js';

const labSays = [
  'listen yes',
  'unit postfix@- active',
  'unit postfix@postfix-deux active',
  'unit dovecot active',
  'log Dec  1 20:01:02 mail postfix/submission/smtpd[812]: fatal: no SASL authentication mechanisms',
  'log Dec  1 20:01:03 mail postfix/master[301]: warning: /usr/lib/postfix/sbin/smtpd: bad command startup -- throttling',
].join('\n');

function ctx(ports: Record<number, number> = {}, stdout = labSays): VerifyContext {
  return {
    platform: 'debian12',
    ssh: async () => {
      throw new Error('no ssh in unit tests');
    },
    exec: async () => ({ code: 0, stdout, stderr: '' }),
    endpoint: (g) => ({ host: '127.0.0.1', port: ports[g] ?? g }),
    credentials: { user: 'learner', password: 'pw' },
    token: () => 'tok',
  };
}

describe("verify explains a port with no banner from the lab's own evidence", () => {
  it('names the unit states and the throttling and fatal lines', async () => {
    const ev = await explainSilentPort(ctx(), 587);
    expect(ev?.throttled).toBe(true);
    expect(ev?.message).toContain('something listens on 587 inside the lab; units: postfix@- active, postfix@postfix-deux active, dovecot active');
    expect(ev?.message).toContain("Postfix's master(8) is throttling");
    expect(ev?.message).toContain('fatal: no SASL authentication mechanisms');
  });

  it("a failing smtp check on a silent port carries the evidence and a hint about throttling, not the check's guess", async () => {
    // A port that accepts and says nothing, as a throttled smtpd behind master(8) does.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const r = await runCheck(
        {
          id: 'submission-banner',
          section: '4',
          title: 't',
          kind: 'smtp',
          target: 'submission',
          hint: 'Check the TLS settings.',
          spec: { port: 587, timeout: 1, dialogue: [] },
        } as never,
        ctx({ 587: port }),
      );
      expect(r.status).toBe('fail');
      expect(r.message).toContain("the lab's own evidence");
      expect(r.message).toContain('bad command startup -- throttling');
      expect(r.hint).toMatch(/throttling the service behind this port/);
    } finally {
      silent.close();
    }
  });
});
