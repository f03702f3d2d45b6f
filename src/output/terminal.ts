/** Human output: a live line per step on a terminal (rewritten when the step ends), plain lines otherwise. */
import type { EngineEvent, StepStatus } from './events.js';

const COLORS: Record<StepStatus, string> = { ok: '32', changed: '33', skipped: '36', failed: '31', differs: '35' };

export interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

export function terminalReporter(out: Out = process.stdout, opts: { color?: boolean; diffs?: boolean } = {}) {
  const tty = !!out.isTTY;
  const color = opts.color ?? (tty && !process.env.NO_COLOR);
  const paint = (status: StepStatus, s: string) => (color ? `\x1b[${COLORS[status]}m${s}\x1b[0m` : s);
  let live = false;
  let timer: NodeJS.Timeout | undefined;
  let current = '';
  let started = 0;
  const clear = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (live) out.write('\r\x1b[2K');
    live = false;
  };
  return (e: EngineEvent): void => {
    switch (e.event) {
      case 'info':
        clear();
        out.write(`${e.message}\n`);
        break;
      case 'run':
        out.write(
          `lab ${e.lab} (${e.platform}): ${e.steps} steps${e.check ? ', check mode (nothing is changed)' : ''}${e.resuming ? `, resuming${e.from ? ` at ${e.from}` : ''} (finished steps are skipped)` : ''}\n`,
        );
        break;
      case 'role':
        clear();
        out.write(`\n== ${e.section}. ${e.title}${e.title_ja ? ` (${e.title_ja})` : ''}\n`);
        break;
      case 'step-start':
        if (!tty) break;
        current = `  ..       ${e.section.padEnd(6)} ${e.title}`;
        started = Date.now();
        out.write(current);
        live = true;
        timer = setInterval(() => out.write(`\r\x1b[2K${current} ${((Date.now() - started) / 1000).toFixed(0)}s`), 1000);
        timer.unref();
        break;
      case 'step': {
        clear();
        const time = e.status === 'skipped' ? '' : ` (${(e.durationMs / 1000).toFixed(1)}s)`;
        const tag = `${e.handler ? 'handler ' : ''}`;
        out.write(`  ${paint(e.status, e.status.padEnd(8))} ${e.section.padEnd(6)} ${tag}${e.title}${time}\n`);
        const shows = e.status === 'changed' || e.status === 'differs';
        if (shows && e.detail) out.write(`           ${e.detail}\n`);
        if (shows && e.diff && opts.diffs !== false)
          out.write(
            e.diff
              .split('\n')
              .map((l) => `           ${l}`)
              .join('\n') + '\n',
          );
        if (e.status === 'skipped' && e.detail) out.write(`           ${e.detail}\n`);
        if (e.status === 'failed') {
          out.write(`           ${e.detail ?? ''}\n`);
          if (e.hint) out.write(`           hint: ${e.hint.replace(/\n/g, `\n${' '.repeat(17)}`)}\n`);
        }
        break;
      }
      case 'reconnect':
        clear();
        out.write(`  reconnecting to ${e.host} (attempt ${e.attempt}): ${e.message}\n`);
        break;
      case 'recap': {
        clear();
        if (e.differs !== undefined) {
          out.write(`\nrecap (check mode): ok=${e.ok} differs=${e.differs} in ${(e.durationMs / 1000).toFixed(1)}s\n`);
          out.write(
            e.differs ? `${e.differs} step(s) would change the lab; \`npm run lab:up\` makes them.\n` : 'nothing would change: the lab matches the runbook.\n',
          );
          break;
        }
        out.write(`\nrecap: ok=${e.ok} changed=${e.changed} skipped=${e.skipped} failed=${e.failed} in ${(e.durationMs / 1000).toFixed(1)}s\n`);
        if (e.failed === 0 && e.changed === 0) out.write('nothing changed: the lab already matches the runbook.\n');
        break;
      }
    }
  };
}
