/** service: a systemd unit enabled/disabled and started/stopped; restarted/reloaded always act (use them as handlers). */
import { sh } from '../../host.js';
import { asker, defineKind, type KindContext } from './types.js';
import { serviceState, STARTS_AT_BOOT } from '../../probes/service.js';
import { perform, type RunCommand } from './commands.js';

export interface ServiceParams {
  name: string;
  enabled?: boolean;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
}

/** Every command the step may run, each with the unit state in which it is needed. */
function actions(p: ServiceParams): { cmd: RunCommand; needed(enabled: string, active: string): boolean }[] {
  const u = sh(p.name);
  const out: { cmd: RunCommand; needed(enabled: string, active: string): boolean }[] = [];
  if (p.enabled === true) out.push({ cmd: { run: `systemctl enable ${u}` }, needed: (e) => !STARTS_AT_BOOT.includes(e) });
  if (p.enabled === false) out.push({ cmd: { run: `systemctl disable ${u}` }, needed: (e) => e === 'enabled' });
  if (p.state === 'started') out.push({ cmd: { run: `systemctl start ${u}` }, needed: (_, a) => a !== 'active' });
  if (p.state === 'stopped') out.push({ cmd: { run: `systemctl stop ${u}` }, needed: (_, a) => a === 'active' });
  if (p.state === 'restarted') out.push({ cmd: { run: `systemctl restart ${u}` }, needed: () => true });
  if (p.state === 'reloaded') out.push({ cmd: { run: `systemctl reload-or-restart ${u}` }, needed: () => true });
  return out;
}

const todo = (p: ServiceParams, now: { enabled: string; active: string }) =>
  actions(p)
    .filter((a) => a.needed(now.enabled, now.active))
    .map((a) => a.cmd);
const current = (p: ServiceParams, ctx: KindContext) => serviceState(asker(ctx), p.name);

export const service = defineKind<ServiceParams>({
  name: 'service',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[A-Za-z0-9@._-]+$' },
      enabled: { type: 'boolean' },
      state: { enum: ['started', 'stopped', 'restarted', 'reloaded'] },
    },
  },
  lint: (p) => (p.enabled === undefined && p.state === undefined ? 'a service step needs "enabled" or "state"' : undefined),
  commands: (p) => ({ check: [{ run: serviceState.command(p.name), sudo: false }], apply: actions(p).map((a) => a.cmd) }),
  async check(p, ctx) {
    const now = await current(p, ctx);
    // restarted/reloaded are requests, not states: after applying them the unit must be active.
    const request = p.state === 'restarted' || p.state === 'reloaded';
    const left = todo({ ...p, state: request && ctx.phase === 'recheck' ? 'started' : p.state }, now);
    return left.length ? { ok: false, detail: `${p.name}: enabled=${now.enabled || '?'} active=${now.active || '?'}` } : { ok: true };
  },
  async apply(p, ctx) {
    const now = await current(p, ctx);
    for (const cmd of todo(p, now)) await perform(ctx, cmd);
  },
});
