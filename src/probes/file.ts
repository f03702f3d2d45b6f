/** A file's mode, owner, group and size (`stat`), and its content. */
import { sh, type Host } from '../host.js';
import { defineProbe } from './probe.js';

export interface FileStat {
  mode: string;
  owner: string;
  group: string;
}

/** `stat -c '%a %U %G'`: undefined when the path does not exist. */
export const fileStat = defineProbe<string, FileStat | undefined>({
  sudo: true,
  command: (path) => `stat -c '%a %U %G' ${sh(path)}`,
  parse(r) {
    if (r.code !== 0) return undefined;
    const [mode = '', owner = '', group = ''] = r.stdout.trim().split(' ');
    return { mode, owner, group };
  },
});

/** Sizes in bytes, 0 for a file that does not exist (where a log check starts reading new lines). */
export const fileSizes = defineProbe<string[], number[]>({
  sudo: true,
  command: (paths) => paths.map((f) => `stat -c %s ${sh(f)} 2>/dev/null || echo 0`).join('; '),
  parse: (r, paths) => {
    const n = r.stdout
      .trim()
      .split('\n')
      .map((x) => Number(x) || 0);
    return paths.map((_, i) => n[i] ?? 0);
  },
});

/** The file as text, null when it does not exist. Read through the Host's file transfer (binary safe), not a shell. */
export async function fileText(host: Pick<Host, 'get'>, path: string, sudo = true): Promise<string | null> {
  const buf = await host.get(path, { sudo });
  return buf === null ? null : buf.toString('utf8');
}
/** What a person types to see the same. */
fileText.command = (path: string) => `cat ${sh(path)}`;
