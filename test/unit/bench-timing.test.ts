import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type OpRecord, rowsOf, type StepEnd, timed, untime } from '../../bench/timing-host.js';

const bash = (script: string, input = '') => spawnSync('bash', ['-c', script], { input, encoding: 'utf8' });

describe('bench timing wrapper', () => {
  it('runs the command unchanged (exit code, output, stdin, its own exit and traps) and reports its time on the host', () => {
    const r = bash(timed('read -r x; echo "got $x"; echo oops >&2; trap "echo bye" EXIT; sleep 0.2; exit 3'), 'hello\n');
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('got hello\nbye\n');
    const { stderr, remoteMs } = untime(r.stderr);
    expect(stderr).toBe('oops\n');
    expect(remoteMs).toBeGreaterThanOrEqual(200);
    expect(remoteMs).toBeLessThan(5000);
  });

  it('leaves stderr alone when there is no timing line', () => {
    expect(untime('just an error\n')).toEqual({ stderr: 'just an error\n' });
    expect(execFileSync('bash', ['-c', timed('true')], { encoding: 'utf8' })).toBe('');
  });
});

describe('bench step rows', () => {
  const end = (id: string, durationMs: number): StepEnd => ({
    event: 'step',
    id,
    role: 'r',
    section: '1',
    title: id,
    kind: 'service',
    status: 'changed',
    durationMs,
  });
  const op = (bucket: string, remoteMs: number): OpRecord => ({ bucket, op: 'exec', label: 'x', sudo: true, wallMs: remoteMs + 10, remoteMs });

  it('gives each run of a repeated handler only its own host operations', () => {
    const steps = [
      { end: end('reload-postfix', 100), bucket: 'reload-postfix#0' },
      { end: end('restart', 300), bucket: 'restart#1' },
      { end: end('reload-postfix', 200), bucket: 'reload-postfix#2' },
    ];
    const ops = [op('reload-postfix#0', 50), op('restart#1', 250), op('reload-postfix#2', 150), op('reload-postfix#2', 20)];
    const rows = rowsOf(steps, ops);
    expect(rows.map((r) => [r.id, r.execs, r.remoteMs, r.execMs])).toEqual([
      ['reload-postfix', 1, 50, 60],
      ['restart', 1, 250, 260],
      ['reload-postfix', 2, 170, 190],
    ]);
  });

  it('leaves skipped steps out', () => {
    expect(rowsOf([{ end: { ...end('a', 0), status: 'skipped' }, bucket: 'a#0' }], [])).toEqual([]);
  });
});
