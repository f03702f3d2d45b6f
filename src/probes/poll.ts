/**
 * Waiting for something, once: try, and until the deadline passes, sleep and try again. Every "wait until it answers"
 * loop of the project (log lines, postscreen's PREGREET, a delivered message, the package proxy, sshd on a booting
 * lab) goes through here, so a deadline, an abort signal and an early stop behave the same everywhere.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const STOP = Symbol('stop polling');

/** What an attempt returns to end the wait early, without success (e.g. the process it waits for has exited). */
export interface Stop {
  [STOP]: true;
  why: string;
}
export const stop = (why: string): Stop => ({ [STOP]: true, why });
const isStop = (v: unknown): v is Stop => typeof v === 'object' && v !== null && STOP in v;

export interface PollOptions {
  timeoutMs: number;
  /** Pause between attempts. */
  intervalMs: number;
  /** Double the pause after each attempt, up to this (default: a fixed pause). */
  maxIntervalMs?: number;
  signal?: AbortSignal;
}

export type PollResult<T> = { ok: true; value: T; attempts: number } | { ok: false; why: 'timeout' | 'aborted' | string; attempts: number };

/**
 * Calls `attempt` until it returns a value other than undefined/false (ok), returns stop(why) (not ok, that why), the
 * signal aborts ('aborted') or the deadline passes ('timeout'). The first attempt always runs; an attempt that
 * throws ends the wait with that error.
 */
export async function pollUntil<T>(
  attempt: (n: number) => Promise<T | undefined | false | Stop> | T | undefined | false | Stop,
  o: PollOptions,
): Promise<PollResult<Exclude<T, false>>> {
  const end = Date.now() + o.timeoutMs;
  let pause = o.intervalMs;
  for (let n = 1; ; n++) {
    if (o.signal?.aborted) return { ok: false, why: 'aborted', attempts: n - 1 };
    const v = await attempt(n);
    if (isStop(v)) return { ok: false, why: v.why, attempts: n };
    if (v !== undefined && v !== false) return { ok: true, value: v as Exclude<T, false>, attempts: n };
    if (Date.now() >= end) return { ok: false, why: 'timeout', attempts: n };
    if (o.signal?.aborted) return { ok: false, why: 'aborted', attempts: n };
    await sleep(Math.min(pause, Math.max(0, end - Date.now())) || 1);
    if (o.maxIntervalMs) pause = Math.min(pause * 2, o.maxIntervalMs);
  }
}
