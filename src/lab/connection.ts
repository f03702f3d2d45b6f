/**
 * A lab host's connection over a reboot: waiting for the boot to finish, opening the connection again after the
 * driver stopped and booted the lab (a checkpoint), and a Host the engine can keep while the connection under it
 * is replaced.
 */
import type { Host } from '../host.js';
import type { Emitter } from '../output/events.js';

/**
 * SSH answers before systemd has started every unit: a step that checks a service right after boot would see it
 * "inactive" and start it itself. Wait for the boot to finish (any driver; a no-op on a running host).
 */
export async function waitForBoot(host: Host, events: Emitter): Promise<void> {
  const t0 = Date.now();
  const r = await host.exec('command -v systemctl >/dev/null || exit 0; systemctl is-system-running --wait', { timeoutMs: 300_000 });
  const state = r.stdout.trim();
  if (Date.now() - t0 > 1000) events.emit({ event: 'info', message: `${host.name} finished booting (${state || 'no systemd'})` });
  if (state === 'degraded') events.emit({ event: 'info', message: `${host.name}: some units failed at boot (systemctl --failed on the host lists them)` });
}

/** Whether the connection still reaches the host (after a snapshot: a lab saved as it ran was never stopped). */
export async function answers(host: Host): Promise<boolean> {
  return host
    .exec('true', { timeoutMs: 5000 })
    .then((r) => r.code === 0)
    .catch(() => false);
}

/** Close the old connection (it died with the reboot), open a new one, and wait for the boot to finish. */
export async function reopen(old: Host, open: () => Promise<Host>, events: Emitter): Promise<Host> {
  await old.close().catch(() => undefined);
  const host = await open();
  await waitForBoot(host, events);
  return host;
}

/** A Host that forwards to whichever connection is current (`.host`, replaced after a checkpoint's reboot). */
export function swappableHost(first: Host): Host & { host: Host } {
  const p = { host: first } as Host & { host: Host };
  return new Proxy(p, {
    get(t, k) {
      if (k === 'host') return t.host;
      const v = (t.host as unknown as Record<string | symbol, unknown>)[k];
      return typeof v === 'function' ? v.bind(t.host) : v;
    },
    set(t, k, v) {
      if (k !== 'host') return false;
      t.host = v;
      return true;
    },
  });
}
