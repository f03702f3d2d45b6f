/** Checks read over the lab's SSH connection: postconf, postmulti, file, service, command, package. */
import { sh } from '../../host.js';
import { fail, pass, type CheckKind } from '../types.js';
import { textExpectFields, textProblem, type TextExpect } from './match.js';

export const postconf: CheckKind<TextExpect & { instance?: string; expand?: boolean; param?: string }> = {
  name: 'postconf',
  via: 'ssh',
  fields: { ...textExpectFields, instance: { type: 'string' }, expand: { type: 'boolean' }, param: { type: 'string' } },
  async run(target, s, ctx) {
    const param = s.param ?? target;
    const pc = s.instance ? `postmulti -i ${sh(s.instance)} -x postconf` : 'postconf';
    const r = await ctx.exec(`${pc} ${s.expand ? '-x ' : ''}-h ${sh(param)}`);
    if (r.code !== 0) return fail(`postconf could not read ${param}${s.instance ? ` of ${s.instance}` : ''}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
    const problem = textProblem(`${param}${s.instance ? ` (${s.instance})` : ''}`, r.stdout, s);
    return problem ? fail(problem) : pass(`${param} = ${r.stdout.trim()}`);
  },
};

export const postmulti: CheckKind<{ enabled?: boolean; running?: boolean }> = {
  name: 'postmulti',
  via: 'ssh',
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
  via: 'ssh',
  fields: { ...textExpectFields, exists: { type: 'boolean' }, mode: { type: 'string', pattern: '^0?[0-7]{3,4}$' }, path: { type: 'string', pattern: '^/' } },
  async run(name, s, ctx) {
    const target = s.path ?? name;
    const st = await ctx.exec(`stat -c %a ${sh(target)}`);
    const exists = st.code === 0;
    if (s.exists === false) return exists ? fail(`${target} exists`) : pass(`${target} does not exist`);
    if (!exists) return fail(`${target} does not exist`);
    if (s.mode && Number.parseInt(s.mode, 8) !== Number.parseInt(st.stdout.trim(), 8)) return fail(`${target} has mode ${st.stdout.trim()}, expected ${s.mode}`);
    if (s.equals === undefined && !s.matches && !s.contains && !s.lacks) return pass(`${target} exists`);
    const r = await ctx.exec(`cat ${sh(target)}`);
    const problem = textProblem(target, r.stdout, s);
    return problem ? fail(problem) : pass(`${target} is as expected`);
  },
};

export const service: CheckKind<{ active?: boolean; enabled?: boolean; unit?: string }> = {
  name: 'service',
  via: 'ssh',
  fields: { active: { type: 'boolean' }, enabled: { type: 'boolean' }, unit: { type: 'string' } },
  async run(target, s, ctx) {
    const unit = s.unit ?? target;
    const r = await ctx.exec(`echo "$(systemctl is-active ${sh(unit)} 2>/dev/null) $(systemctl is-enabled ${sh(unit)} 2>/dev/null)"`);
    const [active, enabled] = r.stdout.trim().split(' ');
    if (s.active !== undefined && (active === 'active') !== s.active) return fail(`${unit} is ${active || 'unknown'}`);
    if (s.enabled !== undefined && (enabled === 'enabled') !== s.enabled) return fail(`${unit} is ${enabled || 'not installed'} at boot`);
    return pass(`${unit} is ${active}, ${enabled}`);
  },
};

export const command: CheckKind<TextExpect & { run: string; exit?: number; stderr?: TextExpect }> = {
  name: 'command',
  via: 'ssh',
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
  via: 'ssh',
  fields: { installed: { type: 'boolean' }, version: { type: 'string', description: 'A regular expression for the installed version.' } },
  async run(target, s, ctx) {
    const q = ctx.platform === 'el7' ? `rpm -q --qf '%{VERSION}-%{RELEASE}' ${sh(target)}` : `dpkg-query -W -f='\${Status} \${Version}' ${sh(target)}`;
    const r = await ctx.exec(q);
    const installed = r.code === 0 && (ctx.platform === 'el7' || r.stdout.startsWith('install ok installed'));
    const version = ctx.platform === 'el7' ? r.stdout.trim() : r.stdout.trim().split(' ').pop() ?? '';
    if ((s.installed ?? true) !== installed) return fail(`${target} is ${installed ? `installed (${version})` : 'not installed'}`);
    if (installed && s.version && !new RegExp(s.version).test(version)) return fail(`${target} ${version} does not match /${s.version}/`);
    return pass(installed ? `${target} ${version}` : `${target} is not installed`);
  },
};
