/**
 * postscreen: from an address outside mynetworks (this machine, through the forwarded port), the greeting comes as
 * "220-", a pause of postscreen_greet_wait, then "220 "; talking early is logged as PREGREET. A client that passed
 * is cached (PASS OLD) and greeted at once, so the check first forgets this client in postscreen's cache.
 */
import { sh } from '../../host.js';
import { fileSizes } from '../../probes/file.js';
import { pollUntil } from '../../probes/poll.js';
import { postconfValue } from '../../probes/postconf.js';
import { probePostscreenGreeting, probePregreet } from '../probes/index.js';
import { asker, fail, pass, type CheckKind } from '../types.js';

export interface PostscreenSpec {
  port: number;
  log: string;
}

function seconds(v: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(v.trim());
  if (!m) return 6;
  return Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as Record<string, number>)[m[2] ?? '']!;
}

export const postscreen: CheckKind<PostscreenSpec> = {
  name: 'postscreen',
  fields: { port: { type: 'integer', minimum: 1, maximum: 65535 }, log: { type: 'string', pattern: '^/' } },
  required: ['port', 'log'],
  // postscreen_greet_wait (6 s by default) and the PREGREET log line after it
  seconds: () => 7,
  async run(_target, s, ctx) {
    const host = await ctx.ssh();
    // The address the lab sees this machine as: the SSH connection's client address (same source as the probes).
    const client = (await host.exec('echo ${SSH_CLIENT%% *}')).stdout.trim();
    const lab = asker(ctx);
    const value = async (param: string) => {
      const r = await postconfValue(lab, { param, expand: true });
      return r.ok ? r.value.trim() : '';
    };
    const [waitRaw = '6s', cacheMap, [size = 0]] = await Promise.all([
      value('postscreen_greet_wait').then((v) => v || '6s'),
      value('postscreen_cache_map'),
      fileSizes(lab, [s.log]),
    ]);
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
    const logged = await pollUntil(
      async () => {
        const r = await ctx.exec(`tail -c +${size + 1} ${sh(s.log)} | grep -E -m1 'PREGREET [0-9]+ after'`);
        return r.code === 0 && r.stdout.trim();
      },
      { timeoutMs: 5000, intervalMs: 250 },
    );
    if (!logged.ok) return fail(`the early EHLO was not logged as PREGREET in ${s.log}`);
    return pass(`220- then ${greeting.pauseMs} ms pause (greet_wait ${waitRaw}); ${logged.value.replace(/^.*postscreen\[\d+\]: /, '')}`);
  },
};
