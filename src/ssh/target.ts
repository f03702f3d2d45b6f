/** Where the SSH transport connects: what a driver hands over for each lab host. */
export interface SshTarget {
  /** Host name as the runbook sees it (e.g. "mail"). */
  name: string;
  host: string;
  port: number;
  user: string;
  identityFile: string;
  /** Run privileged steps through sudo. */
  sudo: boolean;
}
