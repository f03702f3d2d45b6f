/**
 * postscreen: from an address outside mynetworks (this machine, through the forwarded port), the greeting comes as
 * "220-", a pause of postscreen_greet_wait, then "220 "; talking early is logged as PREGREET. A client that passed
 * is cached (PASS OLD) and greeted at once, so the check first forgets this client in postscreen's cache.
 */
import { sh } from '../../host.js';
import { probePostscreenGreeting, probePregreet } from '../probes/index.js';
import { fail, pass, type CheckKind } from '../types.js';

export interface PostscreenSpec { port: number; log: string }

function seconds(v: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(v.trim());
  if (!m) return 6;
  return Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as Record<string, number>)[m[2] ?? '']!;
}

export const postscreen: CheckKind<PostscreenSpec> = {
  name: 'postscreen',
  via: 'network',
  fields: { port: { type: 'integer', minimum: 1, maximum: 65535 }, log: { type: 'string', pattern: '^/' } },
  required: ['port', 'log'],
  async run(_target, s, ctx) {
    const host = await ctx.ssh();
    // The address the lab sees this machine as: the SSH connection's client address (same source as the probes).
    const client = (await host.exec('echo ${SSH_CLIENT%% *}')).stdout.trim();
    const info = await ctx.exec(`postconf -x -h postscreen_greet_wait postscreen_cache_map; stat -c %s ${sh(s.log)} 2>/dev/null || echo 0`);
    const [waitRaw = '6s', cacheMap = '', size = '0'] = info.stdout.trim().split('\n');
    const greetWaitMs = seconds(waitRaw) * 1000;
    // postscreen holds its cache locked while it runs: the deletion waits for the lock, which a reload releases
    // (the old postscreen exits; the next connection starts a new one, after the deletion).
    if (client && cacheMap) {
      await ctx.exec(`timeout 20 postmap -d ${sh(client)} ${sh(cacheMap)} >/dev/null 2>&1 & p=$!; sleep 0.2; postfix reload >/dev/null 2>&1; wait $p; true`);
    }
    const ep = ctx.endpoint(s.port);
    const probe = { host: ep.host, port: ep.port, timeoutMs: greetWaitMs + 8000, greetWaitMs };
    const [greeting, pre] = await Promise.all([probePostscreenGreeting(probe), probePregreet(probe)]);
    if (!greeting.multiline) {
      return fail(`the greeting came at once ("${greeting.banner.split('\n')[0]}"): postscreen did not screen ${client || 'this client'}`);
    }
    if (greeting.pauseMs < greetWaitMs - 1000) return fail(`the greeting paused ${greeting.pauseMs} ms, less than postscreen_greet_wait ${waitRaw}`);
    if (!pre.pregreeted) return fail(`could not talk before the greeting: ${pre.detail}`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = await ctx.exec(`tail -c +${Number(size) + 1} ${sh(s.log)} | grep -E -m1 'PREGREET [0-9]+ after'`);
      if (r.code === 0) return pass(`220- then ${greeting.pauseMs} ms pause (greet_wait ${waitRaw}); ${r.stdout.trim().replace(/^.*postscreen\[\d+\]: /, '')}`);
      if (Date.now() > deadline) return fail(`the early EHLO was not logged as PREGREET in ${s.log}`);
      await new Promise((res) => setTimeout(res, 250));
    }
  },
};
