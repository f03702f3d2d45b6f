/** Checks against a fake lab: a verify context, check files in a scratch folder, verifyLab on a recording fake host. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/schemas.js';
import { type VerifyOptions, verifyLab } from '../../src/verify/index.js';
import type { VerifyContext } from '../../src/verify/types.js';
import type { FakeHost } from './fake-host.js';

export const vars = { hostname: 'mail.lab.example', hostname_deux: 'deux.lab.example', mail_user: 'learner', build_user: 'masuda' };

export function ctx(exec: VerifyContext['exec'] = async () => ({ code: 0, stdout: '', stderr: '' }), ports: Record<number, number> = {}): VerifyContext {
  return {
    platform: 'debian12',
    ssh: async () => {
      throw new Error('no ssh in unit tests');
    },
    exec,
    endpoint: (g) => ({ host: '127.0.0.1', port: ports[g] ?? g }),
    credentials: { user: 'learner', password: 'pw' },
    token: () => 'tok-1',
  };
}

export function checksDir(yaml: string, ...more: string[]): string {
  const d = mkdtempSync(join(tmpdir(), 'plab-checks-'));
  [yaml, ...more].forEach((y, k) => writeFileSync(join(d, `${k + 1}-x.yaml`), y));
  return d;
}

/** A lab that was brought up (its state folder: lab.json, credentials.json), verified against a fake host. */
export function verifyFake(host: FakeHost, checks: string, section?: number | string, more: Partial<VerifyOptions> = {}) {
  const stateRoot = mkdtempSync(join(tmpdir(), 'plab-state-'));
  const name = 'aln-verify';
  mkdirSync(join(stateRoot, name));
  const ssh = { name: 'mail', host: '198.18.0.2', port: 22, user: 'vagrant', identityFile: '/nonexistent', sudo: true };
  writeFileSync(
    join(stateRoot, name, 'lab.json'),
    JSON.stringify({ name, driver: 'container', platform: 'debian12', labFile: '', ports: [], ssh, credentialsFile: '' }),
  );
  writeFileSync(join(stateRoot, name, 'credentials.json'), JSON.stringify({ user: 'learner', password: 'pw' }));
  return verifyLab({
    labFile: join(repoRoot, 'labs', 'debian12-container.yaml'),
    name,
    section: section === undefined ? undefined : String(section),
    checksDir: checks,
    host,
    stateRoot,
    ...more,
  });
}
/** One check file: `kind: { key: { title, section, hint, ...fields } }` for each [kind, key, fields] (fields split at "; "). */
export function checkFile(section: number, checks: [string, string, string][]): string {
  const byKind = new Map<string, string[]>();
  for (const [kind, key, fields] of checks) {
    byKind.set(kind, [
      ...(byKind.get(kind) ?? []),
      `  "${key}":`,
      `    title: "${key}"`,
      `    section: "${section}"`,
      '    hint: h',
      ...fields.split('; ').map((f) => `    ${f}`),
    ]);
  }
  return [`section: ${section}`, `title: S${section}`, ...[...byKind].flatMap(([kind, lines]) => [`${kind}:`, ...lines])].join('\n') + '\n';
}
