import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/table.js';

const root = join(import.meta.dirname, '../..');
const home = mkdtempSync(join(tmpdir(), 'plab-cli-'));
const env = { ...process.env, POSTFIX_LAB_HOME: home, POSTFIX_LAB_ROLES: join(root, 'test/fixtures/roles'), NO_COLOR: '1' };

function cli(command: string, ...args: string[]) {
  const r = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), command, ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('command line', () => {
  it('prints the plan with every command for a dry run and touches no host', () => {
    const r = cli('lab:up', '--dry-run', '--platform', 'el7');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/plan for lab postfix-lab on el7, driver vagrant \(driver: auto, and/);
    expect(r.out).toMatch(/apply: yum -y install postfix cronie-noanacron/);
  });

  it('exits 2 with the position and a hint, and no stack trace, on a bad lab file', () => {
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'name: x\ndriver: kvm\nplatform: debian12\n');
    const r = cli('lab:up', '--lab', bad, '--dry-run');
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: ${bad}:2:9: "kvm" is not allowed for driver\nhint: Allowed values: "auto", "container", "vagrant", "ssh".\n`);
  });

  it('exits 2 on an unknown flag and says where the flags are listed', () => {
    const r = cli('lab:up', '--frm', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown option '--frm'[\s\S]*hint: `npm run lab:up -- --help` lists the flags/);
    expect(r.err).not.toMatch(/at .*\.ts:\d+/);
  });

  it('exits 2 on an unknown step, listing the steps', () => {
    const r = cli('lab:up', '--dry-run', '--from', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/error: --from nope: no such step in the plan for debian12\nhint: Steps: pkgs, conf, two-a\./);
  });

  it('exits 2 when a named lab does not exist', () => {
    const s = cli('lab:status', '--name', 'nolab');
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/no lab named nolab/);
  });

  it('runs one section: the dry run shows only its steps, and --section cannot be mixed with --only', () => {
    const r = cli('lab:up', '--dry-run', '--section', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/== 2\./);
    expect(r.out).not.toMatch(/== 1\./);
    expect(r.out).toMatch(/\n\d+ of \d+ steps; nothing was run/);
    const bad = cli('lab:up', '--dry-run', '--section', '2', '--only', 'two-a');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^error: --section, --only and --from\/--until choose steps in different ways/);
    expect(cli('lab:up', '--dry-run', '--section', '7').err).toMatch(/--section 7: not a section/);
  });

  it('prints a lesson, and asks which section when none is given', () => {
    const r = cli('lesson', '2', '--platform', 'el7');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# 2\. .* — el7\n/);
    const none = cli('lesson');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/which section\? give one of 1, 2, 3, 4/);
  });

  it('lab:status --json lists no labs on a fresh machine', () => {
    const r = cli('lab:status', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ labs: [] });
  });

  it('has one table entry behind every npm script that runs a command, and refuses an unknown command with exit 2', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    const routed = Object.entries(scripts).filter(([, v]) => v.startsWith('sh scripts/run.sh '));
    expect(routed.length).toBeGreaterThan(10);
    for (const [name, v] of routed) {
      expect(v).toBe(`sh scripts/run.sh ${name}`);
      expect(commands[name], name).toBeDefined();
    }
    const r = cli('lab:upp');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^error: no command named lab:upp\nhint: Commands/);
  });
});
