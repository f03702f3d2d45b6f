/**
 * The one list of commands a step kind runs. A kind builds it once from its parameters; its check and apply run
 * entries of it, and its dry-run description and the lines a learner would type are rendered from it, so the three
 * cannot drift apart.
 */
import { sh } from '../../host.js';
import { run, type KindContext } from './types.js';

/** A command on the host; `stdinShown` says what goes to its stdin, in words (never a secret). */
/** `learner: ''`: nothing a learner types (the engine's own housekeeping). */
export interface RunCommand {
  run: string;
  sudo?: boolean;
  stdinShown?: string;
  learner?: string;
  /**
   * A check whose asking can change the lab (it connects to a service, which may die of a dependency an earlier
   * step has yet to mend, and get throttled by its supervisor): run in its step's turn only, never asked ahead.
   */
  inTurn?: boolean;
}
/** A file read whole (through the Host's file transfer); `learner`: what a person would type to see the same. */
export interface ReadCommand {
  read: string;
  learner?: string;
}
/** A file written whole; content undefined when it is computed at apply time from what the file holds (line, master). */
export interface PutCommand {
  put: string;
  content?: string;
  mode?: string;
  owner?: string;
  group?: string;
  shown: string;
  learner?: string;
}
export type Command = RunCommand | ReadCommand | PutCommand;
export interface Commands {
  check: Command[];
  apply: Command[];
}

/**
 * Sets just-edited main.cf files' mtime 3 s back. Postfix's config reader (dict_load_file_xt() in src/util/dict.c,
 * 2.10 and 3.7 alike) rereads main.cf after a 300 ms nap for as long as its mtime is no older than one second
 * before the read began, so every Postfix command in the ~2 s after an edit sleeps. Housekeeping, nothing a learner
 * types: a person reaches the next command later than that anyway. `-c`: a missing file is not created.
 */
export function settle(paths: string[]): RunCommand {
  return { run: `touch -c -d '3 seconds ago' ${paths.map(sh).join(' ')}`, learner: '' };
}

/** The dry-run line of a command. */
export function describeCommand(c: Command): string {
  if ('run' in c) return c.stdinShown ? `${c.run}  (stdin: ${c.stdinShown})` : c.run;
  if ('read' in c) return `read ${c.read}`;
  return c.shown;
}

/** A here-document delimiter that no line of the content equals. */
function delimiter(content: string): string {
  const lines = new Set(content.split('\n'));
  let d = 'EOF';
  while (lines.has(d)) d += '_';
  return d;
}

/** The shell lines a person would type on the lab host for a command (as a user with sudo). */
export function learnerLines(c: Command): string[] {
  if ('run' in c) return c.learner === '' ? [] : [c.learner ?? (c.sudo === false || c.run.startsWith('sudo ') ? c.run : `sudo ${c.run}`)];
  if ('read' in c) return [c.learner ?? `sudo cat ${sh(c.read)}`];
  if (c.content === undefined) return [c.learner ?? `sudoedit ${sh(c.put)}  # ${c.shown}`];
  const d = delimiter(c.content);
  const out = [`sudo tee ${sh(c.put)} >/dev/null <<'${d}'`, ...c.content.replace(/\n$/, '').split('\n'), d];
  if (c.mode) out.push(`sudo chmod ${c.mode} ${sh(c.put)}`);
  if (c.owner || c.group) out.push(`sudo chown ${c.owner ?? ''}${c.group ? `:${c.group}` : ''} ${sh(c.put)}`);
  return out;
}

/** Runs one entry of a kind's list (stdin and content supplied at run time where the list only names them). */
export async function perform(
  ctx: KindContext,
  c: RunCommand | PutCommand,
  at: { stdin?: string; content?: string | Buffer; allowFail?: boolean } = {},
): Promise<void> {
  if ('run' in c) {
    await run(ctx, c.run, { stdin: at.stdin, sudo: c.sudo, allowFail: at.allowFail });
    return;
  }
  const content = at.content ?? c.content;
  if (content === undefined) throw new Error(`no content for ${c.put}`);
  await ctx.host.put(c.put, content, {
    sudo: ctx.sudo,
    mode: c.mode ? Number.parseInt(c.mode, 8) : undefined,
    owner: c.owner,
    group: c.group,
    job: ctx.job?.(),
  });
}
