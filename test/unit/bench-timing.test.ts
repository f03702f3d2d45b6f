import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { timed, untime } from '../../bench/timing-host.js';

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
