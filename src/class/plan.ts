/**
 * The class's plan, pure (no I/O): flag values checked, the labs' names, and the port plan. Learner i (1-based) of a
 * class gets the host ports basePort + (i - 1) x stride + k, k the service's place in [ssh, the lab file's ports in
 * their order]: learner 01 from the base port up, learner 02 `stride` ports higher, and so on.
 */
import { isIP } from 'node:net';
import { InputError } from '../errors.js';
import type { PortForward } from '../lab/lab-file.js';

/** What a lab's guest ports are called in the roster (others: port<N>). */
export const SERVICES: Record<number, string> = { 22: 'ssh', 25: 'smtp', 587: 'submission', 465: 'smtps', 10025: 'deux' };
export const serviceName = (guest: number) => SERVICES[guest] ?? `port${guest}`;

export const MAX_LEARNERS = 99;
export const DEFAULT_BASE_PORT = 30000;
export const DEFAULT_STRIDE = 10;

export interface LearnerPlan {
  learner: string;
  lab: string;
  /** The lab's forwarded ports, ssh first: { service, guest, host }. */
  forwards: (PortForward & { service: string })[];
}

export function checkLearners(given: unknown): number {
  const n = typeof given === 'number' ? given : Number(given);
  if (given === undefined || given === '' || !Number.isInteger(n) || n < 1 || n > MAX_LEARNERS)
    throw new InputError(
      `--learners: ${JSON.stringify(given ?? '')} is not a number of learners`,
      `Give a whole number from 1 to ${MAX_LEARNERS}, e.g. npm run class:up -- --learners 10`,
    );
  return n;
}

export function checkPort(given: unknown, from: string): number {
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1024 || n > 65535)
    throw new InputError(`${from}: ${JSON.stringify(given)} is not a port number from 1024 to 65535`, `Example: ${from} ${DEFAULT_BASE_PORT}`);
  return n;
}

export function checkListen(given: unknown): string {
  if (typeof given === 'string' && isIP(given)) return given;
  throw new InputError(
    `--listen: ${JSON.stringify(given ?? '')} is not an IP address`,
    'Give the address of this machine the learners reach it on (e.g. --listen 192.0.2.10), or 0.0.0.0 for every address; the default is 127.0.0.1.',
  );
}

export const learnerId = (i: number) => String(i).padStart(2, '0');
export const learnerLab = (cls: string, i: number) => `${cls}-${learnerId(i)}`;
export const baseLab = (cls: string) => `${cls}-base`;

/** Every learner's ports; an InputError when they do not fit below 65536 or the stride is too small. */
export function portPlan(o: { cls: string; learners: number; basePort: number; stride?: number; ports: PortForward[] }): LearnerPlan[] {
  const stride = o.stride ?? DEFAULT_STRIDE;
  const guests = [22, ...o.ports.map((p) => p.guest).filter((g) => g !== 22)];
  if (guests.length > stride)
    throw new InputError(
      `the lab forwards ${guests.length} ports with ssh, more than the class's ${stride} ports per learner`,
      'Forward fewer ports in the lab file.',
    );
  const top = o.basePort + (o.learners - 1) * stride + guests.length - 1;
  if (top > 65535)
    throw new InputError(
      `--base-port ${o.basePort}: ${o.learners} learners need ports up to ${top}, above 65535`,
      `Use a lower base port, at most ${65535 - (top - o.basePort)}.`,
    );
  return Array.from({ length: o.learners }, (_, k) => {
    const i = k + 1;
    const first = o.basePort + k * stride;
    return { learner: learnerId(i), lab: learnerLab(o.cls, i), forwards: guests.map((guest, j) => ({ service: serviceName(guest), guest, host: first + j })) };
  });
}

/** The address a learner types: the listen address, or this machine's name when it listens on every address. */
export const reachAt = (listen: string, hostname: string) => (listen === '0.0.0.0' || listen === '::' ? hostname : listen);
