/** service: a systemd unit enabled/disabled and started/stopped; restarted/reloaded always act (use them as handlers). */
import { sh } from '../host.js';
import { serviceState, STARTS_AT_BOOT } from '../probes/service.js';
import { asker, defineKind, run } from './types.js';

export interface ServiceParams {
  name: string;
  enabled?: boolean;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
}

function actions(p: ServiceParams, enabled?: string, active?: string): string[] {
  const out: string[] = [];
  const isEnabled = STARTS_AT_BOOT.includes(enabled ?? '');
  if (p.enabled === true && !isEnabled) out.push(`systemctl enable ${sh(p.name)}`);
  if (p.enabled === false && enabled === 'enabled') out.push(`systemctl disable ${sh(p.name)}`);
  if (p.state === 'started' && active !== 'active') out.push(`systemctl start ${sh(p.name)}`);
  if (p.state === 'stopped' && active === 'active') out.push(`systemctl stop ${sh(p.name)}`);
  if (p.state === 'restarted') out.push(`systemctl restart ${sh(p.name)}`);
  if (p.state === 'reloaded') out.push(`systemctl reload-or-restart ${sh(p.name)}`);
  return out;
}

const current = (p: ServiceParams, ctx: Parameters<typeof run>[0]) => serviceState(asker(ctx), p.name);

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
  describe(p) {
    return { check: [serviceState.command(p.name)], apply: actions(p, undefined, undefined).length ? actions(p, p.enabled ? 'disabled' : 'enabled', p.state === 'started' ? 'inactive' : 'active') : [] };
  },
  async check(p, ctx) {
    const now = await current(p, ctx);
    // restarted/reloaded are requests, not states: after applying them the unit must be active.
    const request = p.state === 'restarted' || p.state === 'reloaded';
    const todo = actions({ ...p, state: request && ctx.phase === 'recheck' ? 'started' : p.state }, now.enabled, now.active);
    return todo.length ? { ok: false, detail: `${p.name}: enabled=${now.enabled || '?'} active=${now.active || '?'}` } : { ok: true };
  },
  async apply(p, ctx) {
    const now = await current(p, ctx);
    for (const cmd of actions(p, now.enabled, now.active)) await run(ctx, cmd);
  },
});
