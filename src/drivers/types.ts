/** Drivers make lab hosts and are the only code that does I/O against them. */
import type { DriverName, Lab, PortForward } from '../lab/lab-file.js';
import type { SshTarget } from '../ssh/target.js';
import type { LabState } from '../lab/state.js';

export type LabRunState = 'running' | 'stopped' | 'absent' | 'leftover' | 'unknown';

export interface LabStatus {
  name: string;
  driver: DriverName;
  platform: string;
  state: LabRunState;
  ssh?: SshTarget;
  ports: PortForward[];
  detail?: string;
}

export interface UpResult {
  targets: SshTarget[];
  /** True when a new lab host was created: its journal and pinned host keys start afresh. */
  created: boolean;
}

export interface DriverContext {
  lab: Lab;
  state: LabState;
  /** Progress lines for the user ("booting lab ...", "base image: 40%"). */
  progress(message: string): void;
  signal?: AbortSignal;
}

export type SnapshotAction = 'save' | 'restore' | 'list' | 'delete';

export interface Driver {
  readonly name: DriverName;
  /** Make sure the lab host exists and runs; return how to reach it. */
  up(ctx: DriverContext): Promise<UpResult>;
  halt(ctx: DriverContext): Promise<void>;
  /** Stop and remove everything the lab made. */
  down(ctx: DriverContext): Promise<void>;
  status(ctx: DriverContext): Promise<LabStatus>;
  /** Snapshots of the lab's disk (optional per driver); returns the snapshots there are afterwards. */
  snapshot?(ctx: DriverContext, action: SnapshotAction, name?: string): Promise<string[]>;
  /** Save the disk as `save`, then restore `restore`, stopping and booting the lab once (optional: else a save, then a restore). */
  saveAndRestore?(ctx: DriverContext, save: string, restore: string): Promise<string[]>;
}
