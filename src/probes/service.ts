/** Is a systemd unit enabled at boot, is it active: `systemctl is-enabled` / `is-active`, one round trip. */
import { sh } from '../host.js';
import { defineProbe } from './probe.js';

export interface ServiceState {
  /** What `systemctl is-enabled` printed: enabled, disabled, static, masked, ... ('' when the unit does not exist). */
  enabled: string;
  /** What `systemctl is-active` printed: active, inactive, failed, activating, ... */
  active: string;
}

/** States of is-enabled in which the unit starts at boot (or is pulled in by another that does). */
export const STARTS_AT_BOOT = ['enabled', 'static', 'alias', 'indirect', 'generated'];

export const serviceState = defineProbe<string, ServiceState>({
  sudo: false,
  command: (unit) => `echo "enabled=$(systemctl is-enabled ${sh(unit)} 2>/dev/null)"; echo "active=$(systemctl is-active ${sh(unit)} 2>/dev/null)"`,
  parse: (r) => ({ enabled: /enabled=(\S*)/.exec(r.stdout)?.[1] ?? '', active: /active=(\S*)/.exec(r.stdout)?.[1] ?? '' }),
});
