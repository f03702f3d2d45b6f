/** Checks read over the lab's SSH connection: postconf, postmulti, file, service, command, package. */
import { sh } from '../../host.js';
import { fileStat, fileText } from '../../probes/file.js';
import { packages } from '../../probes/package.js';
import { postconfValue } from '../../probes/postconf.js';
import { serviceState } from '../../probes/service.js';
import { asker, fail, pass, type CheckKind } from '../types.js';
import { textExpectFields, textProblem, type TextExpect } from './match.js';

export const postconf: CheckKind<TextExpect & { instance?: string; expand?: boolean; param?: string }> = {
  name: 'postconf',
  fields: { ...textExpectFields, instance: { type: 'string' }, expand: { type: 'boolean' }, param: { type: 'string' } },
  async run(target, s, ctx) {
    const param = s.param ?? target;
    const r = await postconfValue(asker(ctx), { instance: s.instance, param, expand: s.expand });
    if (!r.ok) return fail(`postconf could not read ${param}${s.instance ? ` of ${s.instance}` : ''}: ${r.error}`);
    const problem = textProblem(`${param}${s.instance ? ` (${s.instance})` : ''}`, r.value, s);
    return problem ? fail(problem) : pass(`${param} = ${r.value.trim()}`);
  },
};

export const postmulti: CheckKind<{ enabled?: boolean; running?: boolean }> = {
  name: 'postmulti',
  fields: { enabled: { type: 'boolean' }, running: { type: 'boolean' } },
  async run(target, s, ctx) {
    const r = await ctx.exec('postmulti -l');
    const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === target);
    if (!line) return fail(`postmulti -l does not list ${target}`);
    // postmulti -l: name, group, enabled (y/n), config_directory
    const enabled = line.trim().split(/\s+/)[2] === 'y';
    if (s.enabled !== undefined && enabled !== s.enabled) return fail(`${target} is ${enabled ? 'enabled' : 'disabled'}: ${line.trim()}`);
    if (s.running !== undefined) {
      const st = await ctx.exec(`postmulti -i ${sh(target)} -p status`);
      const running = st.code === 0;
      if (running !== s.running) return fail(`${target} is ${running ? 'running' : 'not running'}`);
    }
    return pass(line.trim());
  },
};

export const file: CheckKind<TextExpect & { exists?: boolean; mode?: string; path?: string }> = {
  name: 'file',
  fields: { ...textExpectFields, exists: { type: 'boolean' }, mode: { type: 'string', pattern: '^0?[0-7]{3,4}$' }, path: { type: 'string', pattern: '^/' } },
  async run(name, s, ctx) {
    const target = s.path ?? name;
    const st = await fileStat(asker(ctx), target);
    if (s.exists === false) return st ? fail(`${target} exists`) : pass(`${target} does not exist`);
    if (!st) return fail(`${target} does not exist`);
    if (s.mode && Number.parseInt(s.mode, 8) !== Number.parseInt(st.mode, 8)) return fail(`${target} has mode ${st.mode}, expected ${s.mode}`);
    if (s.equals === undefined && !s.matches && !s.contains && !s.lacks) return pass(`${target} exists`);
    const text = (await fileText(asker(ctx), target)) ?? '';
    const problem = textProblem(target, text, s);
    return problem ? fail(problem) : pass(`${target} is as expected`);
  },
};

export const service: CheckKind<{ active?: boolean; enabled?: boolean; unit?: string }> = {
  name: 'service',
  fields: { active: { type: 'boolean' }, enabled: { type: 'boolean' }, unit: { type: 'string' } },
  async run(target, s, ctx) {
    const unit = s.unit ?? target;
    const { active, enabled } = await serviceState(asker(ctx), unit);
    if (s.active !== undefined && (active === 'active') !== s.active) return fail(`${unit} is ${active || 'unknown'}`);
    if (s.enabled !== undefined && (enabled === 'enabled') !== s.enabled) return fail(`${unit} is ${enabled || 'not installed'} at boot`);
    return pass(`${unit} is ${active}, ${enabled}`);
  },
};

export const command: CheckKind<TextExpect & { run: string; exit?: number; stderr?: TextExpect }> = {
  name: 'command',
  fields: { ...textExpectFields, run: { type: 'string' }, exit: { type: 'integer' } },
  required: ['run'],
  async run(_target, s, ctx) {
    const r = await ctx.exec(s.run);
    const want = s.exit ?? 0;
    const out = `${r.stdout}${r.stderr}`;
    if (r.code !== want) return fail(`\`${s.run}\` exited ${r.code}, expected ${want}: ${out.trim().split('\n').slice(-3).join(' | ')}`);
    const problem = textProblem(`output of \`${s.run}\``, out, s);
    return problem ? fail(problem) : pass(`\`${s.run}\` exited ${r.code}`);
  },
};

export const pkg: CheckKind<{ installed?: boolean; version?: string }> = {
  name: 'package',
  fields: { installed: { type: 'boolean' }, version: { type: 'string', description: 'A regular expression for the installed version.' } },
  async run(target, s, ctx) {
    const { installed, version = '' } = (await packages(asker(ctx), { names: [target], platform: ctx.platform })).get(target)!;
    if ((s.installed ?? true) !== installed) return fail(`${target} is ${installed ? `installed (${version})` : 'not installed'}`);
    if (installed && s.version && !new RegExp(s.version).test(version)) return fail(`${target} ${version} does not match /${s.version}/`);
    return pass(installed ? `${target} ${version}` : `${target} is not installed`);
  },
};
