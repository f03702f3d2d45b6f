/** The developers' commands: the test suites (with the system packages they need) and the benchmarks. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../schemas.js';
import type { Opts } from './table.js';

const bin = (tool: string) => join(repoRoot, 'node_modules', '.bin', tool);

/** Runs a program with this terminal; its exit code (or 1 when a signal ended it). */
function step(program: string, args: string[], note?: string): number {
  if (note) process.stderr.write(`postfix-lab: ${note}\n`);
  const r = spawnSync(program, args, { cwd: repoRoot, stdio: 'inherit' });
  return r.status ?? 1;
}
const systemDeps = (purpose: 'test' | 'vm' | 'bench') => step('sh', [join(repoRoot, 'scripts', 'system-deps.sh'), purpose]);

export async function test(_o: Opts, args: string[]): Promise<number> {
  return (
    systemDeps('test') ||
    step(bin('biome'), ['check', '.'], 'format and lint (biome check)') ||
    step(bin('tsc'), ['--noEmit', '-p', '.'], 'typecheck (tsc --noEmit)') ||
    step(bin('vitest'), ['run', ...args])
  );
}

export async function testVm(_o: Opts, args: string[]): Promise<number> {
  return systemDeps('vm') || step(bin('vitest'), ['run', '-c', 'vitest.vm.config.ts', ...args]);
}

export async function bench(_o: Opts, args: string[]): Promise<number> {
  const deps = args[0] === 'ssh-steps' ? systemDeps('bench') : 0;
  if (deps) return deps;
  const { runBench } = await import('../../bench/index.js');
  return runBench(args);
}

export async function schemas(): Promise<number> {
  const { writeSchemas } = await import('../schema-gen.js');
  for (const f of writeSchemas()) process.stdout.write(`wrote ${f}\n`);
  return 0;
}
