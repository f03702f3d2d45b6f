/**
 * What a probe is: one question asked of a lab host, written once. A probe is a function (host, args) -> typed answer,
 * and carries the exact command it runs (`probe.command(args)`), so a step's dry-run description, a lesson's text and
 * the check itself show and run the same string. Probes only read; they never change the host.
 */
import type { ExecOptions, ExecResult, Host } from '../host.js';

/** The part of a Host a probe needs (the step and check pipelines hand in their own, with their sudo/log rules). */
export type Asker = Pick<Host, 'exec'>;

export interface Probe<A, T> {
  (host: Asker, args: A): Promise<T>;
  /** The shell command this probe runs for these arguments. */
  command(args: A): string;
  /** Whether it needs root (it runs through sudo when the pipeline uses sudo). */
  readonly sudo: boolean;
  /** Reads the answer from the command's result (for a kind that runs the command inside a larger one). */
  parse(r: ExecResult, args: A): T;
}

export function defineProbe<A, T>(d: { sudo: boolean; command(args: A): string; parse(r: ExecResult, args: A): T }): Probe<A, T> {
  const p = async (host: Asker, args: A): Promise<T> => {
    const opts: ExecOptions = { sudo: d.sudo };
    return d.parse(await host.exec(d.command(args), opts), args);
  };
  return Object.assign(p, { command: d.command, sudo: d.sudo, parse: d.parse });
}
